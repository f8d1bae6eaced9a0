/**
 * Differential properties against mqtt-packet (the codec of MQTT.js) on valid packets, both directions, for
 * every packet type of both versions:
 * (a) mqtt-packet's parser reads `encode(p)` as exactly one packet that maps back to `p`;
 * (b) `decode` reads mqtt-packet's `generate(toMqttPacket(p))` as a packet equal to `p`;
 * (c) `encode(p)` and mqtt-packet's `generate` write the same bytes, given the properties in the same order
 *     and, where the spec allows a short and a long form, the same form.
 * The model mapping lives in mqtt-packet-interop.ts. Where mqtt-packet cannot represent or read a valid
 * packet, the generator is restricted below (each restriction is named, pinned by a test that shows the
 * mqtt-packet behaviour, and listed in docs/codec.md); the assertions themselves are never loosened.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import mqtt from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PACKET_TYPES_V4, PACKET_TYPES_V5, packetOf } from '../fuzz/arbitraries.js';
import { decode, encode, packetEquals } from './index.js';
import {
  canonicalUserProperties,
  fromMqttPacket,
  MQTT_PACKET_BOOLEAN_PROPERTIES,
  type MqttPacket,
  toMqttPacket,
} from './mqtt-packet-interop.js';
import { PROPERTY_DEFS } from './properties.js';
import type { Packet, PacketType, Properties, ProtocolVersion } from './types.js';

/** Fixed seed so CI is reproducible; fast-check prints seed and path of any counterexample. */
const seed = Number(process.env.MQTT_CONFORM_SEED ?? 20261128);
const numRuns = Number(process.env.MQTT_CONFORM_PROPERTY_RUNS ?? 1000);
const params = { seed, numRuns, verbose: 1 } as const;

// --- mqtt-packet, driven synchronously ---------------------------------------------------------------

interface ParseOutcome {
  packets: MqttPacket[];
  errors: string[];
  left: number;
}

function mqttParse(bytes: Buffer, v: ProtocolVersion): ParseOutcome {
  const parser = mqtt.parser({ protocolVersion: v });
  const packets: MqttPacket[] = [];
  const errors: string[] = [];
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', (e: Error) => errors.push(e.message));
  const left = parser.parse(bytes);
  return { packets, errors, left };
}

function mqttGenerate(p: Packet, v: ProtocolVersion): Buffer {
  return mqtt.generate(toMqttPacket(p, v), { protocolVersion: v });
}

// --- generator restrictions (documented in docs/codec.md, "Differential tests against mqtt-packet") ----

function mapProperties(p: Packet, f: (props: Properties) => Properties): Packet {
  const out = { ...p } as Packet & { properties?: Properties };
  if (out.properties !== undefined) out.properties = f(out.properties);
  if (out.type === 'connect' && out.will?.properties !== undefined) {
    out.will = { ...out.will, properties: f(out.will.properties) };
  }
  return out;
}

function allProperties(p: Packet): Properties[] {
  const list: Properties[] = [];
  if ('properties' in p && p.properties !== undefined) list.push(p.properties);
  if (p.type === 'connect' && p.will?.properties !== undefined) list.push(p.will.properties);
  return list;
}

/**
 * R1 (both directions, a map): user properties in the order mqtt-packet's object model can carry — grouped
 * by name, names in JavaScript own-key order. Values of one name keep their relative order.
 */
function groupUserProperties(p: Packet): Packet {
  return mapProperties(p, (props) =>
    props.userProperties === undefined
      ? props
      : { ...props, userProperties: canonicalUserProperties(props.userProperties) },
  );
}

/**
 * R2 (direction a, a filter): no user property name that repeats with an empty first value. mqtt-packet's
 * parser tests the value already stored for a name by truthiness, so an empty string is overwritten by the
 * next value of the same name instead of starting an array (see the pinned test below).
 */
function noRepeatedNameWithEmptyFirstValue(p: Packet): boolean {
  return allProperties(p).every((props) => {
    const first = new Map<string, string>();
    for (const [name, value] of props.userProperties ?? []) {
      if (first.get(name) === '') return false;
      if (!first.has(name)) first.set(name, value);
    }
    return true;
  });
}

/**
 * R3 (direction a, a filter): no AUTH in its short form (reason code 0, no properties, remaining length 0,
 * allowed by 5.0 section 3.15.2.1). mqtt-packet's parser always reads a reason code and rejects it.
 */
function notShortAuth(p: Packet): boolean {
  return !(
    p.type === 'auth' &&
    p.reasonCode === 0 &&
    allProperties(p).every((x) => Object.keys(x).length === 0)
  );
}

/**
 * R4 (directions b and c, a filter): no CONNECT with an empty client id and Clean Session/Start 0.
 * mqtt-packet's generate refuses it ("clientId must be given if cleanSession set to 0"). 5.0 allows it; in
 * 3.1.1 a client must not send it (MQTT-3.1.3-7) and a server must answer it with return code 0x02
 * (MQTT-3.1.3-8), which is exactly what a conformance suite sends, so our codec writes it.
 */
function notEmptyClientIdWithoutClean(p: Packet): boolean {
  return !(p.type === 'connect' && p.clientId === '' && !p.clean);
}

/**
 * R5 (directions b and c, a filter): no 5.0 CONNECT with a password but no user name. mqtt-packet's generate
 * refuses it ("Username is required to use password"); 5.0 allows it (section 3.1.2.9).
 */
function notPasswordWithoutUsername(p: Packet): boolean {
  return !(p.type === 'connect' && p.password !== undefined && p.username === undefined);
}

/**
 * Not restrictions but additions to the shared arbitraries, which (a) almost always set some property (an
 * empty block comes up about 3 times in 1,000) and (b) never give a 5.0 PUBLISH an empty topic name. Here
 * half the 5.0 cases have their property blocks emptied, which exercises the short forms (acknowledgements,
 * DISCONNECT, AUTH) and the empty-block paths of both codecs; and a 5.0 PUBLISH carrying a topic alias
 * has an empty topic name half the time (valid, section 3.3.2.3.4).
 */
function packets(type: PacketType, v: ProtocolVersion): fc.Arbitrary<Packet> {
  const base = packetOf(type, v);
  if (v === 4) return base;
  const withAliasOnly = fc
    .tuple(base, fc.boolean())
    .map(([p, drop]) =>
      drop && p.type === 'publish' && p.properties?.topicAlias !== undefined ? { ...p, topic: '' } : p,
    );
  return fc.oneof(
    withAliasOnly,
    base.map((p) => mapProperties(p, () => ({}))),
  );
}

/**
 * Direction (b) only, also an addition: mqtt-packet writes properties in the key order of the object it is
 * given, so the keys are shuffled to make it write them in any order (ours always writes ascending ids). The
 * decoder must read any order.
 */
function shuffledProperties(arb: fc.Arbitrary<Packet>): fc.Arbitrary<Packet> {
  return fc
    .tuple(arb, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }))
    .map(([p, order]) =>
      mapProperties(p, (props) => {
        const keys = Object.keys(props);
        const ranked = keys.map((k, i) => [k, order[i] ?? 0] as const).sort((a, b) => a[1] - b[1]);
        const out: Record<string, unknown> = {};
        for (const [k] of ranked) out[k] = (props as Record<string, unknown>)[k];
        return out as Properties;
      }),
    );
}

function forParser(type: PacketType, v: ProtocolVersion): fc.Arbitrary<Packet> {
  return packets(type, v)
    .map(groupUserProperties)
    .filter((p) => noRepeatedNameWithEmptyFirstValue(p) && notShortAuth(p));
}

function forGenerate(type: PacketType, v: ProtocolVersion): fc.Arbitrary<Packet> {
  return shuffledProperties(packets(type, v))
    .map(groupUserProperties)
    .filter((p) => notEmptyClientIdWithoutClean(p) && notPasswordWithoutUsername(p));
}

function forIdentical(type: PacketType, v: ProtocolVersion): fc.Arbitrary<Packet> {
  return packets(type, v)
    .map(groupUserProperties)
    .filter((p) => notEmptyClientIdWithoutClean(p) && notPasswordWithoutUsername(p));
}

/**
 * Where the spec lets a 5.0 acknowledgement, DISCONNECT or AUTH without properties drop the property length
 * (and, with reason code 0, the reason code), the two codecs choose differently: ours writes the shortest
 * form; mqtt-packet writes the long form (reason code and property length 0) for DISCONNECT and AUTH always,
 * and for acknowledgements whenever the reason code is not 0. Our `form: 'long'` override writes that form.
 */
function mqttPacketWritesLongForm(p: Packet, v: ProtocolVersion): boolean {
  if (v !== 5 || allProperties(p).some((x) => Object.keys(x).length > 0)) return false;
  switch (p.type) {
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return (p.reasonCode ?? 0) !== 0;
    case 'disconnect':
    case 'auth':
      return true;
    default:
      return false;
  }
}

// --- the properties -------------------------------------------------------------------------------------

/** [packet type, version name for the test title, protocol version]. */
const cases: Array<[PacketType, string, ProtocolVersion]> = [
  ...PACKET_TYPES_V4.map((t): [PacketType, string, ProtocolVersion] => [t, '3.1.1', 4]),
  ...PACKET_TYPES_V5.map((t): [PacketType, string, ProtocolVersion] => [t, '5.0', 5]),
];

/** Asserts with `packetEquals`; on a mismatch, `toEqual` shows the diff (and the test fails either way). */
function expectPacket(actual: Packet, expected: Packet): void {
  if (packetEquals(actual, expected)) return;
  expect(actual).toEqual(expected);
  expect.fail(`packets differ: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
}

describe(`differential against mqtt-packet (seed ${seed}, ${numRuns} runs per case)`, () => {
  describe('(a) mqtt-packet parses encode(p) back to p', () => {
    it.each(cases)('%s %s', (type, _version, v) => {
      fc.assert(
        fc.property(forParser(type, v), (p) => {
          const bytes = encode(p, { protocolVersion: v });
          const out = mqttParse(bytes, v);
          expect(out.errors, `mqtt-packet errors on ${bytes.toString('hex')}`).toEqual([]);
          expect(out.packets.length).toBe(1);
          expect(out.left).toBe(0);
          expectPacket(fromMqttPacket(out.packets[0]!, v), p);
        }),
        params,
      );
    });
  });

  describe('(b) decode reads mqtt-packet generate(p) as p', () => {
    it.each(cases)('%s %s', (type, _version, v) => {
      fc.assert(
        fc.property(forGenerate(type, v), (p) => {
          const bytes = mqttGenerate(p, v);
          const r = decode(bytes, { protocolVersion: v });
          if (!r.ok) {
            throw new Error(`decode failed on ${bytes.toString('hex')}: ${r.error.code} ${r.error.message}`);
          }
          expectPacket(r.packet, p);
        }),
        params,
      );
    });
  });

  // The shared arbitraries keep payloads small (a few bytes), so remaining lengths are almost always one
  // byte long. These cases add large payloads: 2-, 3- and 4-byte remaining lengths, long binary fields.
  const sized = (n: number, salt: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + salt) & 0xff;
    return b;
  };
  const largePublish = fc
    .tuple(fc.constantFrom<ProtocolVersion>(4, 5), fc.integer({ min: 100, max: 300_000 }), fc.nat(255))
    .chain(([v, n, salt]) =>
      fc.tuple(
        fc.constant(v),
        forGenerate('publish', v)
          .filter(noRepeatedNameWithEmptyFirstValue)
          .map((p) => ({ ...p, payload: sized(n, salt) })),
      ),
    );
  const largeConnect = fc
    .tuple(fc.constantFrom<ProtocolVersion>(4, 5), fc.integer({ min: 0, max: 0xffff }), fc.nat(255))
    .chain(([v, n, salt]) =>
      fc.tuple(
        fc.constant(v),
        forGenerate('connect', v)
          .filter(noRepeatedNameWithEmptyFirstValue)
          .map((p): Packet => {
            if (p.type !== 'connect') return p;
            const out = { ...p, password: p.username === undefined ? undefined : sized(n, salt) };
            if (out.password === undefined) delete out.password;
            if (p.will !== undefined) out.will = { ...p.will, payload: sized(0xffff - n, salt) };
            return out;
          }),
      ),
    );

  it.each([
    ['PUBLISH up to 300 KB', largePublish],
    ['CONNECT with will payload and password up to 64 KiB', largeConnect],
  ] as const)('large fields both ways: %s', (_name, arb) => {
    fc.assert(
      fc.property(arb, ([v, p]) => {
        const ours = encode(p, { protocolVersion: v });
        const out = mqttParse(ours, v);
        expect(out.errors).toEqual([]);
        expect(out.packets.length).toBe(1);
        expect(packetEquals(fromMqttPacket(out.packets[0]!, v), p)).toBe(true);
        const r = decode(mqttGenerate(p, v), { protocolVersion: v });
        expect(r.ok && packetEquals(r.packet, p)).toBe(true);
      }),
      { ...params, numRuns: Math.max(1, Math.floor(numRuns / 4)) },
    );
  });

  it.each([2_097_152 - 16, 2_097_152 + 16, 5_000_000])(
    'a PUBLISH of about %i bytes (3- and 4-byte remaining lengths) both ways',
    (n) => {
      for (const v of [4, 5] as const) {
        const p: Packet = {
          type: 'publish',
          topic: 'a/b',
          payload: sized(n, 7),
          qos: 1,
          retain: false,
          dup: false,
          packetId: 9,
          ...(v === 5 ? { properties: { contentType: 'x' } } : {}),
        };
        const ours = encode(p, { protocolVersion: v });
        const out = mqttParse(ours, v);
        expect(out.errors).toEqual([]);
        expect(packetEquals(fromMqttPacket(out.packets[0]!, v), p)).toBe(true);
        const theirs = mqttGenerate(p, v);
        expect(Buffer.compare(theirs, ours)).toBe(0);
        const r = decode(theirs, { protocolVersion: v });
        expect(r.ok && packetEquals(r.packet, p)).toBe(true);
      }
    },
  );

  describe('(c) both write the same bytes for the same packet (properties in the same order)', () => {
    it.each(cases)('%s %s', (type, _version, v) => {
      fc.assert(
        fc.property(forIdentical(type, v), (p) => {
          const theirs = mqttGenerate(p, v);
          const ours = encode(p, {
            protocolVersion: v,
            ...(mqttPacketWritesLongForm(p, v) ? { overrides: { form: 'long' as const } } : {}),
          });
          expect(ours.toString('hex')).toBe(theirs.toString('hex'));
        }),
        params,
      );
    });
  });

  it('runs every packet type of both versions', () => {
    expect(cases.length).toBe(29);
  });
});

describe('mqtt-packet model assumptions the mapping relies on', () => {
  const require = createRequire(import.meta.url);
  const constants = require('mqtt-packet/constants') as {
    properties: Record<string, number>;
    propertiesTypes: Record<string, string>;
  };
  const kindToType: Record<string, string[]> = {
    byte: ['byte', 'int8'],
    u16: ['int16'],
    u32: ['int32'],
    varint: ['var'],
    utf8: ['string'],
    binary: ['binary'],
    pair: ['pair'],
  };

  it('names every 5.0 property as we do, with the same identifier and a matching data type', () => {
    expect(Object.keys(constants.properties).sort()).toEqual(PROPERTY_DEFS.map((d) => d.name).sort());
    for (const def of PROPERTY_DEFS) {
      expect(constants.properties[def.name], def.name).toBe(def.id);
      expect(kindToType[def.kind], def.name).toContain(constants.propertiesTypes[def.name]);
    }
  });

  it('treats exactly the byte properties the mapping converts as booleans', () => {
    const booleans = Object.entries(constants.propertiesTypes)
      .filter(([, t]) => t === 'byte')
      .map(([n]) => n)
      .sort();
    expect(booleans).toEqual([...MQTT_PACKET_BOOLEAN_PROPERTIES].sort());
  });

  // The pinned behaviours below justify the generator restrictions; if one starts failing, mqtt-packet has
  // changed and the matching restriction can go.
  it('R2: mqtt-packet loses a user property value when the first value of a repeated name is empty', () => {
    const p: Packet = {
      type: 'puback',
      packetId: 1,
      reasonCode: 0,
      properties: {
        userProperties: [
          ['k', ''],
          ['k', 'x'],
        ],
      },
    };
    const bytes = encode(p, { protocolVersion: 5 });
    expect(bytes.toString('hex')).toBe('40110001000d2600016b00002600016b000178');
    const out = mqttParse(bytes, 5);
    expect(out.errors).toEqual([]);
    expect((out.packets[0] as { properties?: unknown }).properties).toEqual({ userProperties: { k: 'x' } });
    // Our decoder keeps both.
    const r = decode(bytes, { protocolVersion: 5 });
    expect(r.ok && packetEquals(r.packet, p)).toBe(true);
  });

  it('R3: mqtt-packet rejects the short AUTH form (remaining length 0) that 5.0 allows', () => {
    const bytes = encode({ type: 'auth', reasonCode: 0, properties: {} }, { protocolVersion: 5 });
    expect(bytes.toString('hex')).toBe('f000');
    expect(mqttParse(bytes, 5).errors).toEqual(['Invalid auth reason code']);
    const r = decode(bytes, { protocolVersion: 5 });
    expect(r.ok && r.packet).toEqual({ type: 'auth', reasonCode: 0, properties: {} });
  });

  it('R4: mqtt-packet generate refuses an empty client id with Clean Session 0', () => {
    for (const v of [4, 5] as const) {
      const p: Packet = {
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: v,
        clean: false,
        keepAlive: 0,
        clientId: '',
      };
      expect(() => mqttGenerate(v === 5 ? { ...p, properties: {} } : p, v)).toThrow(/clientId must be given/);
    }
  });

  it('R5: mqtt-packet generate refuses a 5.0 password without a user name', () => {
    const p: Packet = {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: 'c',
      password: Buffer.from('pw'),
      properties: {},
    };
    expect(() => mqttGenerate(p, 5)).toThrow(/Username is required/);
  });

  it('R1: mqtt-packet regroups user properties by name, array-index-like names first', () => {
    const pairs: Array<[string, string]> = [
      ['b', '1'],
      ['a', '2'],
      ['b', '3'],
      ['7', '4'],
    ];
    const bytes = encode(
      { type: 'disconnect', reasonCode: 0, properties: { userProperties: pairs } },
      { protocolVersion: 5 },
    );
    const r = decode(
      mqtt.generate(
        toMqttPacket({ type: 'disconnect', reasonCode: 0, properties: { userProperties: pairs } }, 5),
        {
          protocolVersion: 5,
        },
      ),
      { protocolVersion: 5 },
    );
    expect(r.ok && r.packet.type === 'disconnect' && r.packet.properties?.userProperties).toEqual([
      ['7', '4'],
      ['b', '1'],
      ['b', '3'],
      ['a', '2'],
    ]);
    expect(canonicalUserProperties(pairs)).toEqual([
      ['7', '4'],
      ['b', '1'],
      ['b', '3'],
      ['a', '2'],
    ]);
    expect(mqttParse(bytes, 5).errors).toEqual([]);
  });
});
