import { FAILURE_CODE, NoneOf, Presence } from '../../client/match.js';
import type { EncodeOverrides, Packet, PacketType, ProtocolVersion } from '../../codec/index.js';
import { type Prop, S, type Schema } from '../schema.js';

/** 5.0 properties by name (section 2.2.2.2), as written in YAML. */
export const propertiesSchema: Schema = S.object(
  {
    payloadFormatIndicator: S.int(0, 255),
    messageExpiryInterval: S.int(0, 0xffffffff),
    contentType: S.string,
    responseTopic: S.string,
    correlationData: S.bytes,
    subscriptionIdentifier: S.array(S.int(0, 268435455)),
    sessionExpiryInterval: S.int(0, 0xffffffff),
    assignedClientIdentifier: S.string,
    serverKeepAlive: S.int(0, 65535),
    authenticationMethod: S.string,
    authenticationData: S.bytes,
    requestProblemInformation: S.int(0, 255),
    willDelayInterval: S.int(0, 0xffffffff),
    requestResponseInformation: S.int(0, 255),
    responseInformation: S.string,
    serverReference: S.string,
    reasonString: S.string,
    receiveMaximum: S.int(0, 65535),
    topicAliasMaximum: S.int(0, 65535),
    topicAlias: S.int(0, 65535),
    maximumQoS: S.int(0, 255),
    retainAvailable: S.int(0, 255),
    userProperties: S.array(S.array(S.string, 2)),
    maximumPacketSize: S.int(0, 0xffffffff),
    wildcardSubscriptionAvailable: S.int(0, 255),
    subscriptionIdentifiersAvailable: S.int(0, 255),
    sharedSubscriptionAvailable: S.int(0, 255),
  },
  'a map of 5.0 property names (section 2.2.2.2)',
);

/** Property names of `propertiesSchema`. */
export const PROPERTY_NAMES = Object.keys((propertiesSchema as { props: Record<string, unknown> }).props);

/**
 * Expectation-only fields: `absent: [names]` requires those properties to be missing from the packet,
 * `present: [names]` requires them with any value (e.g. an Assigned Client Identifier, whose value the case
 * cannot know).
 */
export const presenceFields: Record<string, Schema> = {
  absent: S.array(S.enum(...PROPERTY_NAMES), 1),
  present: S.array(S.enum(...PROPERTY_NAMES), 1),
};

/** Moves `absent` / `present` of an expected packet into its `properties` as Presence markers. */
export function applyPresence<T extends Record<string, unknown>>(fields: T): T {
  const { absent, present, ...rest } = fields as Record<string, unknown>;
  if (absent === undefined && present === undefined) return fields;
  const props: Record<string, unknown> = { ...((rest.properties as Record<string, unknown>) ?? {}) };
  for (const n of (absent as string[] | undefined) ?? []) props[n] = new Presence(false);
  for (const n of (present as string[] | undefined) ?? []) props[n] = new Presence(true);
  return { ...rest, properties: props } as unknown as T;
}

const intOrHex: Schema = {
  t: 'union',
  describe: 'an integer or a string of hex bytes',
  of: [
    { when: isNum, schema: S.int(0) },
    { when: () => true, schema: S.hex },
  ],
};

function isNum(n: unknown): boolean {
  return typeof (n as { value?: unknown } | null)?.value === 'number';
}

/** Deliberate encoding deviations (src/codec/overrides.ts); byte fields are hex strings. */
export const overridesSchema: Schema = S.object(
  {
    packetType: S.int(0, 15),
    flags: S.int(0, 15),
    remainingLength: intOrHex,
    fieldBytes: { t: 'record', values: S.hex, describe: 'a map of field name to hex bytes' },
    lengthPrefix: { t: 'record', values: S.int(0, 65535), describe: 'a map of field name to length' },
    omit: S.array(S.string),
    connectFlags: S.int(0, 255),
    connackFlags: S.int(0, 255),
    subscriptionOptions: {
      t: 'record',
      keys: /^\d+$/,
      values: S.int(0, 255),
      describe: 'a map of subscription index to options byte',
    },
    properties: S.hex,
    willProperties: S.hex,
    extraProperties: S.hex,
    propertyLength: intOrHex,
    trailing: S.hex,
    truncate: S.int(0),
    form: S.enum('short', 'long'),
  },
  'a map of encode overrides (see docs/scenarios.md)',
);

export function toOverrides(v: Record<string, unknown>): EncodeOverrides {
  const out = { ...v } as EncodeOverrides & Record<string, unknown>;
  if (v.subscriptionOptions) {
    out.subscriptionOptions = Object.fromEntries(
      Object.entries(v.subscriptionOptions as Record<string, number>).map(([k, x]) => [Number(k), x]),
    );
  }
  return out;
}

/** Fields allowed per packet type in `send: { packet }` and in expectations. */
export const PACKET_FIELDS: Record<PacketType, readonly string[]> = {
  connect: [
    'protocolName',
    'protocolVersion',
    'clean',
    'keepAlive',
    'clientId',
    'will',
    'username',
    'password',
    'properties',
  ],
  connack: ['sessionPresent', 'reasonCode', 'properties'],
  publish: ['topic', 'payload', 'qos', 'retain', 'dup', 'packetId', 'properties'],
  puback: ['packetId', 'reasonCode', 'properties'],
  pubrec: ['packetId', 'reasonCode', 'properties'],
  pubrel: ['packetId', 'reasonCode', 'properties'],
  pubcomp: ['packetId', 'reasonCode', 'properties'],
  subscribe: ['packetId', 'subscriptions', 'properties'],
  suback: ['packetId', 'reasonCodes', 'properties'],
  unsubscribe: ['packetId', 'topics', 'properties'],
  unsuback: ['packetId', 'reasonCodes', 'properties'],
  pingreq: [],
  pingresp: [],
  disconnect: ['reasonCode', 'properties'],
  auth: ['reasonCode', 'properties'],
};

export const PACKET_TYPES = Object.keys(PACKET_FIELDS) as PacketType[];

/** A reason code, or `failure` (expect only): a 5.0 failure code of the packet type (src/client/match.ts). */
const reasonCodeSchema: Schema = {
  t: 'union',
  describe: `a reason code (0-255) or "${FAILURE_CODE}" (a failure code of the packet type)`,
  of: [
    {
      when: (n) => (n as { value?: unknown } | null)?.value === FAILURE_CODE,
      schema: S.enum(FAILURE_CODE),
    },
    { when: () => true, schema: S.int(0, 255) },
  ],
};

const fieldSchemas: Record<string, Schema> = {
  protocolName: S.string,
  protocolVersion: S.int(0, 255),
  clean: S.bool,
  keepAlive: S.int(0, 65535),
  clientId: S.string,
  will: S.object({
    topic: S.string,
    payload: S.bytes,
    qos: S.int(0, 3),
    retain: S.bool,
    properties: propertiesSchema,
  }),
  username: S.string,
  password: S.bytes,
  properties: propertiesSchema,
  sessionPresent: S.bool,
  reasonCode: reasonCodeSchema,
  topic: S.string,
  payload: S.bytes,
  qos: S.int(0, 3),
  retain: S.bool,
  dup: S.bool,
  // `last`: the packet identifier of the last packet this client received that carried one. `unused` (expect
  // only): any identifier but those of the QoS 1/2 PUBLISH packets this client received and has not completed.
  packetId: {
    t: 'union',
    describe: 'a packet identifier (0-65535), "last" or "unused"',
    of: [
      {
        when: (n) => ['last', 'unused'].includes((n as { value?: unknown } | null)?.value as string),
        schema: S.enum('last', 'unused'),
      },
      { when: () => true, schema: S.int(0, 65535) },
    ],
  },
  subscriptions: S.array(
    S.object({
      topic: S.req(S.string),
      qos: S.int(0, 3),
      noLocal: S.bool,
      retainAsPublished: S.bool,
      retainHandling: S.int(0, 3),
    }),
  ),
  reasonCodes: S.array(reasonCodeSchema),
  topics: S.array(S.string),
};

/** Schema of the fields of one packet type (without `type`). */
export function packetFieldsSchema(type: PacketType, extra: Record<string, Schema | Prop> = {}): Schema {
  const props: Record<string, Schema | Prop> = { ...extra };
  for (const f of PACKET_FIELDS[type]) props[f] = fieldSchemas[f]!;
  return S.object(props, `${type.toUpperCase()} fields: ${PACKET_FIELDS[type].join(', ') || '(none)'}`);
}

/** `{ type: publish, topic: ... }`: a packet by fields, its type first. */
export const typedPacketSchema: Schema = {
  t: 'union',
  describe: `a map with "type" (${PACKET_TYPES.join(', ')}) and that packet's fields`,
  of: PACKET_TYPES.map((type) => ({
    when: (n: unknown) => typeOf(n) === type,
    schema: packetFieldsSchema(type, { type: S.req(S.enum(type)) }),
  })),
};

function typeOf(node: unknown): unknown {
  const items = (node as { items?: Array<{ key?: { value?: unknown }; value?: { value?: unknown } }> }).items;
  if (!Array.isArray(items)) return undefined;
  return items.find((p) => p.key?.value === 'type')?.value?.value;
}

/**
 * Completes a partial packet with the defaults a valid encoder needs (QoS 0, empty payload, 5.0
 * properties `{}`), so `send` steps only write the fields they care about.
 */
export function completePacket(
  p: Record<string, unknown> & { type: PacketType },
  v: ProtocolVersion,
): Packet {
  const v5 = v === 5;
  const props = v5 ? { properties: {} } : {};
  switch (p.type) {
    case 'connect':
      return {
        protocolName: 'MQTT',
        protocolVersion: v,
        clean: true,
        keepAlive: 60,
        clientId: '',
        ...props,
        ...p,
        ...(p.will
          ? {
              will: {
                qos: 0,
                retain: false,
                payload: Buffer.alloc(0),
                ...(v5 ? { properties: {} } : {}),
                ...(p.will as object),
              },
            }
          : {}),
      } as Packet;
    case 'connack':
      return { sessionPresent: false, reasonCode: 0, ...props, ...p } as Packet;
    case 'publish': {
      const qos = (p.qos as number | undefined) ?? 0;
      return {
        payload: Buffer.alloc(0),
        qos,
        retain: false,
        dup: false,
        ...(qos > 0 ? { packetId: 1 } : {}),
        ...props,
        ...p,
      } as Packet;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { packetId: 1, ...(v5 ? { reasonCode: 0, properties: {} } : {}), ...p } as Packet;
    case 'subscribe':
      return {
        packetId: 1,
        subscriptions: [],
        ...props,
        ...p,
        ...(p.subscriptions
          ? {
              subscriptions: (p.subscriptions as Array<Record<string, unknown>>).map((s) => ({
                qos: 0,
                ...(v5 ? { noLocal: false, retainAsPublished: false, retainHandling: 0 } : {}),
                ...s,
              })),
            }
          : {}),
      } as Packet;
    case 'suback':
      return { packetId: 1, reasonCodes: [], ...props, ...p } as Packet;
    case 'unsubscribe':
      return { packetId: 1, topics: [], ...props, ...p } as Packet;
    case 'unsuback':
      return { packetId: 1, ...(v5 ? { reasonCodes: [], properties: {} } : {}), ...p } as Packet;
    case 'disconnect':
      return { ...(v5 ? { reasonCode: 0, properties: {} } : {}), ...p } as Packet;
    case 'auth':
      return { reasonCode: 0, properties: {}, ...p } as Packet;
    default:
      return p as unknown as Packet;
  }
}

export function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/**
 * Replaces `packetId: unused` in an expectation with a match that accepts any identifier but those the client
 * still holds unacknowledged (`unacked`), and `packetId: last` as resolveLast does.
 */
export function resolveIds<T>(fields: T, lastPacketId: number | undefined, unacked: Iterable<number>): T {
  if (fields && typeof fields === 'object' && (fields as { packetId?: unknown }).packetId === 'unused') {
    return { ...fields, packetId: new NoneOf([...unacked]) };
  }
  return resolveLast(fields, lastPacketId);
}

/** Replaces `packetId: last` with the client's last received packet identifier. */
export function resolveLast<T>(fields: T, lastPacketId: number | undefined): T {
  if (fields && typeof fields === 'object' && (fields as { packetId?: unknown }).packetId === 'last') {
    return { ...fields, packetId: lastPacketId ?? 0 };
  }
  return fields;
}
