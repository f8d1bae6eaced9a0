/**
 * fast-check arbitraries for valid MQTT packets in the codec's canonical form (see src/codec/types.ts), per
 * packet type and protocol version. The codec's properties and the malformed-packet fuzzer build on these.
 */
import fc from 'fast-check';
import { PROPERTY_DEFS, type PropertyDef, type PropertyScope } from '../codec/properties.js';
import { V5_REASON_CODES } from '../codec/reason-codes.js';
import type {
  Packet,
  PacketType,
  Properties,
  ProtocolVersion,
  QoS,
  Subscription,
  Will,
} from '../codec/types.js';

export interface ArbitraryOptions {
  /** Longest generated string, in code points. */
  maxStringLength?: number;
  /** Longest generated payload, in bytes. */
  maxPayload?: number;
  /** Generate strings from ASCII only (useful for readable counterexamples). */
  asciiOnly?: boolean;
}

const qosArb: fc.Arbitrary<QoS> = fc.constantFrom<QoS>(0, 1, 2);
const packetIdArb = fc.integer({ min: 1, max: 0xffff });

/** A UTF-8 string the spec allows: any code point but U+0000 (no lone surrogates). */
export function mqttString(opts: ArbitraryOptions = {}, minLength = 0): fc.Arbitrary<string> {
  return fc
    .string({
      unit: opts.asciiOnly ? 'binary-ascii' : 'binary',
      minLength,
      maxLength: opts.maxStringLength ?? 24,
    })
    .map((s) => s.replaceAll('\u0000', '_'));
}

/** A topic name: at least one character, no wildcard. */
export function topicName(opts: ArbitraryOptions = {}): fc.Arbitrary<string> {
  return mqttString(opts, 1).map((s) => s.replace(/[+#]/g, '_'));
}

/** A syntactically valid topic filter built from levels, `+` and a trailing `#`. */
export function topicFilter(opts: ArbitraryOptions = {}): fc.Arbitrary<string> {
  const level = fc.oneof(
    {
      weight: 4,
      arbitrary: mqttString({ ...opts, maxStringLength: 8 }).map((s) => s.replace(/[+#/]/g, '_')),
    },
    { weight: 1, arbitrary: fc.constant('+') },
  );
  return fc
    .tuple(fc.array(level, { minLength: 1, maxLength: 5 }), fc.boolean())
    .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
    .filter((f) => f.length > 0);
}

function propertyValue(def: PropertyDef, opts: ArbitraryOptions): fc.Arbitrary<unknown> {
  switch (def.kind) {
    case 'byte':
      return def.valid ? fc.constantFrom(0, 1) : fc.integer({ min: 0, max: 0xff });
    case 'u16':
      return fc.integer({ min: def.valid ? 1 : 0, max: 0xffff });
    case 'u32':
      return fc.integer({ min: def.valid ? 1 : 0, max: 0xffffffff });
    case 'varint':
      return fc.integer({ min: 1, max: 268_435_455 });
    case 'utf8':
      return mqttString(opts);
    case 'binary':
      return fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b));
    case 'pair':
      return fc.tuple(mqttString(opts), mqttString(opts));
  }
}

/** Properties allowed in `scope`, each present or not, repeatable ones as non-empty arrays. */
export function properties(scope: PropertyScope, opts: ArbitraryOptions = {}): fc.Arbitrary<Properties> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const def of PROPERTY_DEFS) {
    if (!def.scopes.includes(scope)) continue;
    const value = propertyValue(def, opts);
    if (def.kind === 'pair') record[def.name] = fc.array(value, { minLength: 1, maxLength: 3 });
    else if (def.name === 'subscriptionIdentifier') {
      record[def.name] = fc.array(value, { minLength: 1, maxLength: scope === 'publish' ? 3 : 1 });
    } else record[def.name] = value;
  }
  return fc.record(record, { requiredKeys: [] }) as fc.Arbitrary<Properties>;
}

function reasonCode(type: PacketType): fc.Arbitrary<number> {
  const set = V5_REASON_CODES[type];
  return set ? fc.constantFrom(...set) : fc.constant(0);
}

function withProps<T extends object>(
  v: ProtocolVersion,
  scope: PropertyScope,
  base: fc.Arbitrary<T>,
  opts: ArbitraryOptions,
): fc.Arbitrary<T> {
  if (v !== 5) return base;
  return fc.tuple(base, properties(scope, opts)).map(([p, properties]) => ({ ...p, properties }));
}

function will(v: ProtocolVersion, opts: ArbitraryOptions): fc.Arbitrary<Will> {
  return withProps(
    v,
    'will',
    fc.record({
      topic: topicName(opts),
      payload: fc.uint8Array({ maxLength: opts.maxPayload ?? 64 }).map((b) => Buffer.from(b)),
      qos: qosArb,
      retain: fc.boolean(),
    }),
    opts,
  );
}

/** A valid packet of the given type and protocol version, in canonical form. */
export function packetOf(
  type: PacketType,
  v: ProtocolVersion,
  opts: ArbitraryOptions = {},
): fc.Arbitrary<Packet> {
  const payload = fc.uint8Array({ maxLength: opts.maxPayload ?? 64 }).map((b) => Buffer.from(b));
  switch (type) {
    case 'connect':
      return withProps(
        v,
        'connect',
        fc
          .record(
            {
              clean: fc.boolean(),
              keepAlive: fc.integer({ min: 0, max: 0xffff }),
              clientId: mqttString(opts),
              will: will(v, opts),
              username: mqttString(opts),
              password: payload,
            },
            { requiredKeys: ['clean', 'keepAlive', 'clientId'] },
          )
          .map((p) => {
            // 3.1.1: a password needs a user name [MQTT-3.1.2-22].
            if (v === 4 && p.password !== undefined && p.username === undefined) delete p.password;
            return { type: 'connect' as const, protocolName: 'MQTT', protocolVersion: v, ...p };
          }),
        opts,
      );
    case 'connack':
      return withProps(
        v,
        'connack',
        fc.record({
          type: fc.constant('connack' as const),
          sessionPresent: fc.boolean(),
          reasonCode: v === 5 ? reasonCode('connack') : fc.integer({ min: 0, max: 5 }),
        }),
        opts,
      );
    case 'publish':
      return withProps(
        v,
        'publish',
        fc
          .record({
            topic: topicName(opts),
            payload,
            qos: qosArb,
            retain: fc.boolean(),
            dup: fc.boolean(),
            packetId: packetIdArb,
          })
          .map(({ packetId, dup, ...p }) =>
            p.qos === 0
              ? { type: 'publish' as const, ...p, dup: false }
              : { type: 'publish' as const, ...p, dup, packetId },
          ),
        opts,
      );
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      if (v === 4) return fc.record({ type: fc.constant(type), packetId: packetIdArb });
      return withProps(
        v,
        type,
        fc.record({ type: fc.constant(type), packetId: packetIdArb, reasonCode: reasonCode(type) }),
        opts,
      );
    case 'subscribe': {
      const sub: fc.Arbitrary<Subscription> =
        v === 5
          ? fc.record({
              topic: topicFilter(opts),
              qos: qosArb,
              noLocal: fc.boolean(),
              retainAsPublished: fc.boolean(),
              retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
            })
          : fc.record({ topic: topicFilter(opts), qos: qosArb });
      return withProps(
        v,
        'subscribe',
        fc.record({
          type: fc.constant('subscribe' as const),
          packetId: packetIdArb,
          subscriptions: fc.array(sub, { minLength: 1, maxLength: 4 }),
        }),
        opts,
      );
    }
    case 'suback':
      return withProps(
        v,
        'suback',
        fc.record({
          type: fc.constant('suback' as const),
          packetId: packetIdArb,
          reasonCodes: fc.array(v === 5 ? reasonCode('suback') : fc.constantFrom(0, 1, 2, 0x80), {
            minLength: 1,
            maxLength: 4,
          }),
        }),
        opts,
      );
    case 'unsubscribe':
      return withProps(
        v,
        'unsubscribe',
        fc.record({
          type: fc.constant('unsubscribe' as const),
          packetId: packetIdArb,
          topics: fc.array(topicFilter(opts), { minLength: 1, maxLength: 4 }),
        }),
        opts,
      );
    case 'unsuback':
      if (v === 4) return fc.record({ type: fc.constant('unsuback' as const), packetId: packetIdArb });
      return withProps(
        v,
        'unsuback',
        fc.record({
          type: fc.constant('unsuback' as const),
          packetId: packetIdArb,
          reasonCodes: fc.array(reasonCode('unsuback'), { minLength: 1, maxLength: 4 }),
        }),
        opts,
      );
    case 'pingreq':
    case 'pingresp':
      return fc.constant({ type });
    case 'disconnect':
      if (v === 4) return fc.constant({ type: 'disconnect' as const });
      return withProps(
        v,
        'disconnect',
        fc.record({ type: fc.constant('disconnect' as const), reasonCode: reasonCode('disconnect') }),
        opts,
      );
    case 'auth':
      return withProps(
        5,
        'auth',
        fc.record({ type: fc.constant('auth' as const), reasonCode: reasonCode('auth') }),
        opts,
      ) as fc.Arbitrary<Packet>;
  }
}

export const PACKET_TYPES_V4: readonly PacketType[] = [
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
];
export const PACKET_TYPES_V5: readonly PacketType[] = [...PACKET_TYPES_V4, 'auth'];

/** Any valid packet of the given version. */
export function anyPacket(v: ProtocolVersion, opts: ArbitraryOptions = {}): fc.Arbitrary<Packet> {
  const types = v === 5 ? PACKET_TYPES_V5 : PACKET_TYPES_V4;
  return fc.oneof(...types.map((t) => packetOf(t, v, opts)));
}

/** A protocol version and a valid packet of it. */
export function versionedPacket(
  opts: ArbitraryOptions = {},
): fc.Arbitrary<{ v: ProtocolVersion; packet: Packet }> {
  return fc
    .constantFrom<ProtocolVersion>(4, 5)
    .chain((v) => anyPacket(v, opts).map((packet) => ({ v, packet })));
}

const COLLIDING_LEVELS = ['a', 'b', '', '$x', 'sport'] as const;

/**
 * Topic names from a five-level alphabet (empty levels, a `$` level, `sport` for the `sport/#` rule), so that
 * generated names and filters match each other often: for properties of matching and retained lookup.
 */
export function collidingTopicName(): fc.Arbitrary<string> {
  return fc
    .array(fc.constantFrom(...COLLIDING_LEVELS), { minLength: 1, maxLength: 4 })
    .map((l) => l.join('/'));
}

/** Topic filters over the same alphabet as `collidingTopicName`, with `+` levels and an optional trailing `#`. */
export function collidingTopicFilter(): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(fc.constantFrom(...COLLIDING_LEVELS, '+'), { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'));
}
