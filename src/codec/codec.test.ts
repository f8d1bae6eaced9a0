import { describe, expect, it } from 'vitest';
import type { DecodeErrorCode } from './errors.js';
import {
  decode,
  type EncodeOverrides,
  encode,
  type Packet,
  type ProtocolVersion,
  StreamDecoder,
} from './index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const txt = (s: string) => Buffer.from(s, 'utf8');

/** Table row: a packet, its protocol version and its exact bytes (hand-derived from the spec layouts). */
type RoundTrip = [name: string, v: ProtocolVersion, packet: Packet, bytes: string];

const ROUND_TRIPS: RoundTrip[] = [
  // --- MQTT 3.1.1 -------------------------------------------------------------------------------------
  [
    'CONNECT minimal',
    4,
    { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 60, clientId: 'c1' },
    '10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 63 31',
  ],
  [
    'CONNECT will, user name, password',
    4,
    {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 10,
      clientId: 'c',
      will: { topic: 'w', payload: txt('x'), qos: 1, retain: true },
      username: 'u',
      password: txt('p'),
    },
    '10 19 00 04 4d 51 54 54 04 ee 00 0a 00 01 63 00 01 77 00 01 78 00 01 75 00 01 70',
  ],
  [
    'CONNECT empty client id, no clean session',
    4,
    { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepAlive: 0, clientId: '' },
    '10 0c 00 04 4d 51 54 54 04 00 00 00 00 00',
  ],
  ['CONNACK session present', 4, { type: 'connack', sessionPresent: true, reasonCode: 0 }, '20 02 01 00'],
  ['CONNACK refused 5', 4, { type: 'connack', sessionPresent: false, reasonCode: 5 }, '20 02 00 05'],
  [
    'PUBLISH QoS 0',
    4,
    { type: 'publish', topic: 'a', payload: txt('hi'), qos: 0, retain: false, dup: false },
    '30 05 00 01 61 68 69',
  ],
  [
    'PUBLISH QoS 1 retain dup',
    4,
    { type: 'publish', topic: 'a', payload: txt('hi'), qos: 1, retain: true, dup: true, packetId: 10 },
    '3b 07 00 01 61 00 0a 68 69',
  ],
  [
    'PUBLISH QoS 2 empty payload',
    4,
    {
      type: 'publish',
      topic: 'a/b',
      payload: Buffer.alloc(0),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 0xffff,
    },
    '34 07 00 03 61 2f 62 ff ff',
  ],
  [
    'PUBLISH UTF-8 topic',
    4,
    { type: 'publish', topic: 'é/😀', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false },
    '30 09 00 07 c3 a9 2f f0 9f 98 80',
  ],
  ['PUBACK', 4, { type: 'puback', packetId: 10 }, '40 02 00 0a'],
  ['PUBREC', 4, { type: 'pubrec', packetId: 10 }, '50 02 00 0a'],
  ['PUBREL', 4, { type: 'pubrel', packetId: 10 }, '62 02 00 0a'],
  ['PUBCOMP', 4, { type: 'pubcomp', packetId: 10 }, '70 02 00 0a'],
  [
    'SUBSCRIBE two filters',
    4,
    {
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topic: 'a/#', qos: 1 },
        { topic: '+', qos: 2 },
      ],
    },
    '82 0c 00 01 00 03 61 2f 23 01 00 01 2b 02',
  ],
  ['SUBACK', 4, { type: 'suback', packetId: 1, reasonCodes: [1, 2, 0x80] }, '90 05 00 01 01 02 80'],
  ['UNSUBSCRIBE', 4, { type: 'unsubscribe', packetId: 2, topics: ['a'] }, 'a2 05 00 02 00 01 61'],
  ['UNSUBACK', 4, { type: 'unsuback', packetId: 2 }, 'b0 02 00 02'],
  ['PINGREQ', 4, { type: 'pingreq' }, 'c0 00'],
  ['PINGRESP', 4, { type: 'pingresp' }, 'd0 00'],
  ['DISCONNECT', 4, { type: 'disconnect' }, 'e0 00'],
  [
    'PUBLISH with a 2-byte remaining length',
    4,
    { type: 'publish', topic: 'a', payload: Buffer.alloc(200, 0x41), qos: 0, retain: false, dup: false },
    `30 cb 01 00 01 61 ${'41'.repeat(200)}`,
  ],
  // --- MQTT 5.0 ---------------------------------------------------------------------------------------
  [
    'CONNECT minimal',
    5,
    {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 60,
      clientId: 'c1',
      properties: {},
    },
    '10 0f 00 04 4d 51 54 54 05 02 00 3c 00 00 02 63 31',
  ],
  [
    'CONNECT session expiry, receive maximum',
    5,
    {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 60,
      clientId: 'c1',
      properties: { sessionExpiryInterval: 10, receiveMaximum: 20 },
    },
    '10 17 00 04 4d 51 54 54 05 02 00 3c 08 11 00 00 00 0a 21 00 14 00 02 63 31',
  ],
  [
    'CONNECT will with will delay, password without user name',
    5,
    {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: false,
      keepAlive: 0,
      clientId: 'c',
      properties: {},
      will: { topic: 'w', payload: txt('x'), qos: 2, retain: false, properties: { willDelayInterval: 5 } },
      password: txt('p'),
    },
    '10 1d 00 04 4d 51 54 54 05 54 00 00 00 00 01 63 05 18 00 00 00 05 00 01 77 00 01 78 00 01 70',
  ],
  ['CONNACK', 5, { type: 'connack', sessionPresent: false, reasonCode: 0, properties: {} }, '20 03 00 00 00'],
  [
    'CONNACK assigned client identifier',
    5,
    { type: 'connack', sessionPresent: false, reasonCode: 0, properties: { assignedClientIdentifier: 'x' } },
    '20 07 00 00 04 12 00 01 78',
  ],
  [
    'CONNACK refused 0x84',
    5,
    { type: 'connack', sessionPresent: false, reasonCode: 0x84, properties: {} },
    '20 03 00 84 00',
  ],
  [
    'PUBLISH topic alias and user property',
    5,
    {
      type: 'publish',
      topic: 'a',
      payload: txt('hi'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 10,
      properties: { topicAlias: 1, userProperties: [['k', 'v']] },
    },
    '32 12 00 01 61 00 0a 0a 23 00 01 26 00 01 6b 00 01 76 68 69',
  ],
  [
    'PUBLISH empty topic with topic alias',
    5,
    {
      type: 'publish',
      topic: '',
      payload: Buffer.alloc(0),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 3 },
    },
    '30 06 00 00 03 23 00 03',
  ],
  [
    'PUBLISH several subscription identifiers, user properties kept in order',
    5,
    {
      type: 'publish',
      topic: 't',
      payload: Buffer.alloc(0),
      qos: 0,
      retain: false,
      dup: false,
      properties: {
        subscriptionIdentifier: [1, 200],
        userProperties: [
          ['b', '1'],
          ['a', '2'],
          ['b', '3'],
        ],
      },
    },
    '30 1e 00 01 74 1a 0b 01 0b c8 01 26 00 01 62 00 01 31 26 00 01 61 00 01 32 26 00 01 62 00 01 33',
  ],
  ['PUBACK short form', 5, { type: 'puback', packetId: 10, reasonCode: 0, properties: {} }, '40 02 00 0a'],
  [
    'PUBACK reason code only',
    5,
    { type: 'puback', packetId: 10, reasonCode: 0x10, properties: {} },
    '40 03 00 0a 10',
  ],
  [
    'PUBACK reason string',
    5,
    { type: 'puback', packetId: 10, reasonCode: 0x10, properties: { reasonString: 'no' } },
    '40 09 00 0a 10 05 1f 00 02 6e 6f',
  ],
  ['PUBREC', 5, { type: 'pubrec', packetId: 10, reasonCode: 0x80, properties: {} }, '50 03 00 0a 80'],
  [
    'PUBREL packet id not found',
    5,
    { type: 'pubrel', packetId: 10, reasonCode: 0x92, properties: {} },
    '62 03 00 0a 92',
  ],
  ['PUBCOMP', 5, { type: 'pubcomp', packetId: 10, reasonCode: 0, properties: {} }, '70 02 00 0a'],
  [
    'SUBSCRIBE options and subscription identifier',
    5,
    {
      type: 'subscribe',
      packetId: 1,
      properties: { subscriptionIdentifier: [5] },
      subscriptions: [{ topic: 'a', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
    },
    '82 09 00 01 02 0b 05 00 01 61 2d',
  ],
  [
    'SUBACK',
    5,
    { type: 'suback', packetId: 1, reasonCodes: [0, 0x8f], properties: {} },
    '90 05 00 01 00 00 8f',
  ],
  [
    'UNSUBSCRIBE',
    5,
    { type: 'unsubscribe', packetId: 2, topics: ['a'], properties: {} },
    'a2 06 00 02 00 00 01 61',
  ],
  [
    'UNSUBACK',
    5,
    { type: 'unsuback', packetId: 2, reasonCodes: [0, 0x11], properties: {} },
    'b0 05 00 02 00 00 11',
  ],
  ['PINGREQ', 5, { type: 'pingreq' }, 'c0 00'],
  ['PINGRESP', 5, { type: 'pingresp' }, 'd0 00'],
  ['DISCONNECT short form', 5, { type: 'disconnect', reasonCode: 0, properties: {} }, 'e0 00'],
  ['DISCONNECT with will message', 5, { type: 'disconnect', reasonCode: 4, properties: {} }, 'e0 01 04'],
  [
    'DISCONNECT session expiry',
    5,
    { type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } },
    'e0 07 00 05 11 00 00 00 3c',
  ],
  ['AUTH short form', 5, { type: 'auth', reasonCode: 0, properties: {} }, 'f0 00'],
  [
    'AUTH continue with method',
    5,
    { type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM' } },
    'f0 0a 18 08 15 00 05 53 43 52 41 4d',
  ],
];

describe('round trip: encode gives the exact bytes, decode gives the packet', () => {
  it.each(ROUND_TRIPS)('%s (v%i)', (_name, v, packet, bytes) => {
    expect(encode(packet, { protocolVersion: v }).toString('hex')).toBe(hex(bytes).toString('hex'));
    const r = decode(hex(bytes), { protocolVersion: v });
    expect(r).toEqual({ ok: true, packet });
  });

  it('covers every packet type of both versions', () => {
    const types = (v: number) => new Set(ROUND_TRIPS.filter((r) => r[1] === v).map((r) => r[2].type));
    expect(types(4).size).toBe(14);
    expect(types(5).size).toBe(15);
  });
});

/** Table row: bytes that must be rejected, with the stable error code and the statement violated. */
type DecodeFailureRow = [
  name: string,
  v: ProtocolVersion,
  bytes: string,
  code: DecodeErrorCode,
  statement: string | undefined,
];

const CONNECT_HEAD = '00 04 4d 51 54 54';

const DECODE_ERRORS: DecodeFailureRow[] = [
  ['packet type 0', 4, '00 00', 'RESERVED_PACKET_TYPE', undefined],
  ['AUTH in 3.1.1', 4, 'f0 00', 'RESERVED_PACKET_TYPE', undefined],
  ['PUBREL flags 0', 4, '60 02 00 01', 'RESERVED_FLAGS', 'MQTT-3.6.1-1'],
  ['SUBSCRIBE flags 0', 4, '80 06 00 01 00 01 61 00', 'RESERVED_FLAGS', 'MQTT-3.8.1-1'],
  ['UNSUBSCRIBE flags 0', 5, 'a0 06 00 01 00 00 01 61', 'RESERVED_FLAGS', 'MQTT-3.10.1-1'],
  ['DISCONNECT flags 1', 4, 'e1 00', 'RESERVED_FLAGS', 'MQTT-3.14.1-1'],
  ['AUTH flags 1', 5, 'f1 00', 'RESERVED_FLAGS', 'MQTT-3.15.1-1'],
  ['CONNACK flags 1 (3.1.1)', 4, '21 02 00 00', 'RESERVED_FLAGS', 'MQTT-2.2.2-2'],
  ['PINGREQ flags 8 (5.0)', 5, 'c8 00', 'RESERVED_FLAGS', 'MQTT-2.1.3-1'],
  ['remaining length over 4 bytes', 4, '30 ff ff ff ff 01', 'MALFORMED_VARINT', undefined],
  ['remaining length cut short', 4, '30 ff', 'TRUNCATED', undefined],
  ['remaining length not minimal (5.0)', 5, '30 80 00', 'NON_MINIMAL_VARINT', 'MQTT-1.5.5-1'],
  ['string length prefix overruns', 4, '30 04 00 05 61 62', 'TRUNCATED', undefined],
  ['fewer bytes than the remaining length', 4, '30 05 00 01 61', 'TRUNCATED', undefined],
  ['bytes after the packet', 4, 'c0 00 00', 'TRAILING_BYTES', undefined],
  ['PINGREQ with a body', 4, 'c0 01 00', 'TRAILING_BYTES', undefined],
  ['PUBACK with an extra byte (3.1.1)', 4, '40 03 00 01 00', 'TRAILING_BYTES', undefined],
  ['overlong UTF-8 (3.1.1)', 4, '30 04 00 02 c0 80', 'INVALID_UTF8', 'MQTT-1.5.3-1'],
  ['overlong UTF-8 (5.0)', 5, '30 05 00 02 c0 80 00', 'INVALID_UTF8', 'MQTT-1.5.4-1'],
  ['UTF-16 surrogate encoded in UTF-8', 4, '30 05 00 03 ed a0 80', 'INVALID_UTF8', 'MQTT-1.5.3-1'],
  ['U+0000 in topic (3.1.1)', 4, '30 04 00 02 61 00', 'NULL_CHARACTER', 'MQTT-1.5.3-2'],
  [
    'U+0000 in client id (5.0)',
    5,
    `10 0f ${CONNECT_HEAD} 05 02 00 3c 00 00 02 63 00`,
    'NULL_CHARACTER',
    'MQTT-1.5.4-2',
  ],
  ['PUBLISH QoS 3', 4, '36 05 00 01 61 00 01', 'INVALID_QOS', 'MQTT-3.3.1-4'],
  ['PUBLISH DUP at QoS 0', 4, '38 03 00 01 61', 'DUP_AT_QOS0', 'MQTT-3.3.1-2'],
  ['PUBLISH topic with #', 4, '30 03 00 01 23', 'TOPIC_NAME_WILDCARD', 'MQTT-3.3.2-2'],
  ['PUBLISH topic with +', 5, '30 06 00 03 61 2f 2b 00', 'TOPIC_NAME_WILDCARD', 'MQTT-3.3.2-2'],
  ['PUBLISH empty topic (3.1.1)', 4, '30 02 00 00', 'EMPTY_TOPIC', 'MQTT-4.7.3-1'],
  ['PUBLISH empty topic without alias (5.0)', 5, '30 03 00 00 00', 'EMPTY_TOPIC', undefined],
  ['PUBACK packet id 0', 4, '40 02 00 00', 'PACKET_ID_ZERO', 'MQTT-2.3.1-1'],
  ['PUBLISH QoS 1 packet id 0', 4, '32 05 00 01 61 00 00', 'PACKET_ID_ZERO', 'MQTT-2.3.1-1'],
  [
    'CONNECT protocol name MQTX',
    4,
    '10 0e 00 04 4d 51 54 58 04 02 00 3c 00 02 63 31',
    'INVALID_PROTOCOL_NAME',
    'MQTT-3.1.2-1',
  ],
  [
    'CONNECT protocol level 6',
    4,
    `10 0e ${CONNECT_HEAD} 06 02 00 3c 00 02 63 31`,
    'UNSUPPORTED_PROTOCOL_VERSION',
    'MQTT-3.1.2-2',
  ],
  [
    'CONNECT reserved flag',
    4,
    `10 0e ${CONNECT_HEAD} 04 03 00 3c 00 02 63 31`,
    'CONNECT_RESERVED_FLAG',
    'MQTT-3.1.2-3',
  ],
  [
    'CONNECT Will QoS without Will flag (3.1.1)',
    4,
    `10 0e ${CONNECT_HEAD} 04 0a 00 3c 00 02 63 31`,
    'INVALID_WILL_FLAGS',
    'MQTT-3.1.2-13',
  ],
  [
    'CONNECT Will QoS without Will flag (5.0)',
    5,
    `10 0f ${CONNECT_HEAD} 05 0a 00 3c 00 00 02 63 31`,
    'INVALID_WILL_FLAGS',
    'MQTT-3.1.2-11',
  ],
  [
    'CONNECT Will QoS 3',
    4,
    `10 0e ${CONNECT_HEAD} 04 1e 00 3c 00 02 63 31`,
    'INVALID_WILL_FLAGS',
    'MQTT-3.1.2-14',
  ],
  [
    'CONNECT Will Retain without Will flag (3.1.1)',
    4,
    `10 0e ${CONNECT_HEAD} 04 22 00 3c 00 02 63 31`,
    'INVALID_WILL_FLAGS',
    'MQTT-3.1.2-15',
  ],
  [
    'CONNECT Will Retain without Will flag (5.0)',
    5,
    `10 0f ${CONNECT_HEAD} 05 22 00 3c 00 00 02 63 31`,
    'INVALID_WILL_FLAGS',
    'MQTT-3.1.2-13',
  ],
  [
    'CONNECT password without user name (3.1.1)',
    4,
    `10 11 ${CONNECT_HEAD} 04 42 00 3c 00 02 63 31 00 01 70`,
    'PASSWORD_WITHOUT_USERNAME',
    'MQTT-3.1.2-22',
  ],
  [
    'CONNECT flags say user name, none follows',
    4,
    `10 0e ${CONNECT_HEAD} 04 82 00 3c 00 02 63 31`,
    'TRUNCATED',
    undefined,
  ],
  ['SUBSCRIBE without filters (3.1.1)', 4, '82 02 00 01', 'EMPTY_SUBSCRIBE', 'MQTT-3.8.3-3'],
  ['SUBSCRIBE without filters (5.0)', 5, '82 03 00 01 00', 'EMPTY_SUBSCRIBE', 'MQTT-3.8.3-2'],
  ['UNSUBSCRIBE without filters', 4, 'a2 02 00 01', 'EMPTY_UNSUBSCRIBE', 'MQTT-3.10.3-2'],
  ['SUBSCRIBE empty filter', 4, '82 05 00 01 00 00 00', 'EMPTY_TOPIC', 'MQTT-4.7.3-1'],
  ['SUBSCRIBE requested QoS 3', 4, '82 06 00 01 00 01 61 03', 'INVALID_SUBSCRIPTION_OPTIONS', 'MQTT-3.8.3-4'],
  [
    'SUBSCRIBE reserved bits (3.1.1)',
    4,
    '82 06 00 01 00 01 61 04',
    'INVALID_SUBSCRIPTION_OPTIONS',
    'MQTT-3.8.3-4',
  ],
  [
    'SUBSCRIBE reserved bits (5.0)',
    5,
    '82 07 00 01 00 00 01 61 40',
    'INVALID_SUBSCRIPTION_OPTIONS',
    'MQTT-3.8.3-5',
  ],
  ['SUBSCRIBE retain handling 3', 5, '82 07 00 01 00 00 01 61 30', 'INVALID_SUBSCRIPTION_OPTIONS', undefined],
  ['duplicate property', 5, '30 0a 00 01 61 06 23 00 01 23 00 02', 'DUPLICATE_PROPERTY', undefined],
  [
    'property not allowed on PUBLISH',
    5,
    '30 09 00 01 61 05 11 00 00 00 01',
    'PROPERTY_NOT_ALLOWED',
    undefined,
  ],
  ['unknown property', 5, '30 06 00 01 61 02 7f 00', 'UNKNOWN_PROPERTY', undefined],
  ['topic alias 0', 5, '30 07 00 01 61 03 23 00 00', 'INVALID_PROPERTY_VALUE', undefined],
  [
    'two subscription identifiers on SUBSCRIBE',
    5,
    '82 0b 00 01 04 0b 01 0b 02 00 01 61 00',
    'DUPLICATE_PROPERTY',
    undefined,
  ],
  ['property length overruns', 5, '30 05 00 01 61 05 11', 'TRUNCATED', undefined],
  ['CONNACK reason code 0x01 (5.0)', 5, '20 03 00 01 00', 'INVALID_REASON_CODE', 'MQTT-3.2.2-8'],
  ['CONNACK return code 6 (3.1.1)', 4, '20 02 00 06', 'INVALID_REASON_CODE', undefined],
  ['SUBACK return code 3 (3.1.1)', 4, '90 03 00 01 03', 'INVALID_REASON_CODE', 'MQTT-3.9.3-2'],
  ['CONNACK reserved flags (5.0)', 5, '20 03 02 00 00', 'CONNACK_RESERVED_FLAGS', 'MQTT-3.2.2-1'],
  ['CONNACK with an extra byte (3.1.1)', 4, '20 03 00 00 00', 'TRAILING_BYTES', undefined],
  ['PUBACK property not allowed (5.0)', 5, '40 06 00 01 00 02 23 00', 'PROPERTY_NOT_ALLOWED', undefined],
  ['PUBREC reason code 0x01 (5.0)', 5, '50 03 00 01 01', 'INVALID_REASON_CODE', undefined],
  ['PUBREL reason code 0x10 (5.0)', 5, '62 03 00 01 10', 'INVALID_REASON_CODE', undefined],
  ['PUBCOMP flags 1', 4, '71 02 00 01', 'RESERVED_FLAGS', 'MQTT-2.2.2-2'],
  ['PUBCOMP packet id 0', 4, '70 02 00 00', 'PACKET_ID_ZERO', 'MQTT-2.3.1-1'],
  ['SUBACK reason code 0x03 (5.0)', 5, '90 04 00 01 00 03', 'INVALID_REASON_CODE', 'MQTT-3.9.3-2'],
  ['UNSUBSCRIBE empty filter (5.0)', 5, 'a2 05 00 01 00 00 00', 'EMPTY_TOPIC', 'MQTT-4.7.3-1'],
  ['UNSUBACK with an extra byte (3.1.1)', 4, 'b0 03 00 01 00', 'TRAILING_BYTES', undefined],
  ['UNSUBACK reason code 0x01 (5.0)', 5, 'b0 04 00 01 00 01', 'INVALID_REASON_CODE', undefined],
  ['PINGRESP with a body', 5, 'd0 01 00', 'TRAILING_BYTES', undefined],
  ['DISCONNECT with a body (3.1.1)', 4, 'e0 01 00', 'TRAILING_BYTES', undefined],
  ['DISCONNECT reason code 0x01 (5.0)', 5, 'e0 01 01', 'INVALID_REASON_CODE', undefined],
  ['DISCONNECT property not allowed (5.0)', 5, 'e0 04 00 02 23 00', 'PROPERTY_NOT_ALLOWED', undefined],
  ['AUTH reason code 0x01', 5, 'f0 01 01', 'INVALID_REASON_CODE', undefined],
  ['AUTH property length overruns', 5, 'f0 02 18 05', 'TRUNCATED', undefined],
];

describe('decode errors: stable code and statement', () => {
  it.each(DECODE_ERRORS)('%s (v%i)', (_name, v, bytes, code, statement) => {
    const r = decode(hex(bytes), { protocolVersion: v });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    expect(r.error.statement).toBe(statement);
    expect(r.error.message.length).toBeGreaterThan(0);
  });

  it('covers every packet type of both versions', () => {
    const types = (v: number) =>
      new Set(DECODE_ERRORS.filter((r) => r[1] === v).map((r) => hex(r[2])[0]! >> 4));
    for (let t = 1; t <= 14; t++) expect(types(4).has(t) || types(5).has(t)).toBe(true);
    expect(types(5).has(15)).toBe(true);
  });

  it('rejects a packet above the maximum packet size', () => {
    const r = decode(hex('30 05 00 01 61 68 69'), { maxPacketSize: 6 });
    expect(r.ok || r.error.code).toBe('PACKET_TOO_LARGE');
    expect(decode(hex('30 05 00 01 61 68 69'), { maxPacketSize: 7 }).ok).toBe(true);
  });
});

const PUB: Packet = {
  type: 'publish',
  topic: 'a',
  payload: txt('hi'),
  qos: 1,
  retain: false,
  dup: false,
  packetId: 1,
};

/** Table row: a packet written wrong on purpose, the exact bytes, and how the strict decoder judges them. */
type OverrideRow = [
  name: string,
  v: ProtocolVersion,
  packet: Packet,
  ov: EncodeOverrides,
  bytes: string,
  code?: DecodeErrorCode,
];

const OVERRIDES: OverrideRow[] = [
  ['flags', 4, { type: 'pubrel', packetId: 10 }, { flags: 0 }, '60 02 00 0a', 'RESERVED_FLAGS'],
  ['packet type', 4, { type: 'pingreq' }, { packetType: 0 }, '00 00', 'RESERVED_PACKET_TYPE'],
  [
    '5-byte remaining length',
    4,
    PUB,
    { remainingLength: 268_435_456 },
    '32 80 80 80 80 01 00 01 61 00 01 68 69',
    'MALFORMED_VARINT',
  ],
  ['remaining length too long', 4, PUB, { remainingLength: 9 }, '32 09 00 01 61 00 01 68 69', 'TRUNCATED'],
  [
    'raw remaining length',
    4,
    { type: 'pingreq' },
    { remainingLength: hex('80 00') },
    'c0 80 00',
    'NON_MINIMAL_VARINT',
  ],
  [
    'field bytes',
    4,
    PUB,
    { fieldBytes: { topic: hex('c0 80') } },
    '32 08 00 02 c0 80 00 01 68 69',
    'INVALID_UTF8',
  ],
  ['length prefix', 4, PUB, { lengthPrefix: { topic: 0xffff } }, '32 07 ff ff 61 00 01 68 69', 'TRUNCATED'],
  [
    'omit packet id',
    4,
    { ...PUB, payload: Buffer.alloc(0) },
    { omit: ['packetId'] },
    '32 03 00 01 61',
    'TRUNCATED',
  ],
  [
    'connect flags',
    4,
    { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 60, clientId: 'c1' },
    { connectFlags: 0x03 },
    `10 0e ${CONNECT_HEAD} 04 03 00 3c 00 02 63 31`,
    'CONNECT_RESERVED_FLAG',
  ],
  [
    'subscription options',
    4,
    { type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'a', qos: 0 }] },
    { subscriptionOptions: { 0: 3 } },
    '82 06 00 01 00 01 61 03',
    'INVALID_SUBSCRIPTION_OPTIONS',
  ],
  [
    'extra property (duplicate alias)',
    5,
    { ...PUB, qos: 0, packetId: undefined, properties: { topicAlias: 1 } } as Packet,
    { extraProperties: hex('23 00 02') },
    '30 0c 00 01 61 06 23 00 01 23 00 02 68 69',
    'DUPLICATE_PROPERTY',
  ],
  [
    'raw properties',
    5,
    { type: 'puback', packetId: 1, reasonCode: 0, properties: {} },
    { properties: hex('11 00 00 00 01') },
    '40 09 00 01 00 05 11 00 00 00 01',
    'PROPERTY_NOT_ALLOWED',
  ],
  [
    'property length',
    5,
    { type: 'disconnect', reasonCode: 0, properties: {} },
    { propertyLength: 9 },
    'e0 02 00 09',
    'TRUNCATED',
  ],
  ['trailing bytes', 4, { type: 'pingreq' }, { trailing: hex('00') }, 'c0 01 00', 'TRAILING_BYTES'],
  ['truncate', 4, PUB, { truncate: 1 }, '32 06 00 01 61 00 01 68'],
  [
    'long form',
    5,
    { type: 'puback', packetId: 10, reasonCode: 0, properties: {} },
    { form: 'long' },
    '40 04 00 0a 00 00',
  ],
];

describe('encode overrides write exactly the invalid packet asked for', () => {
  it.each(OVERRIDES)('%s', (_name, v, packet, overrides, bytes, code) => {
    const out = encode(packet, { protocolVersion: v, overrides });
    expect(out.toString('hex')).toBe(hex(bytes).toString('hex'));
    const r = decode(out, { protocolVersion: v });
    if (code === undefined) expect(r.ok).toBe(true);
    else expect(r.ok ? 'decoded' : r.error.code).toBe(code);
  });
});

describe('stream decoder', () => {
  it('frames packets split one byte at a time and adopts the CONNECT version', () => {
    const connect = encode({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: 'x',
      properties: {},
    });
    const pub = encode({ ...PUB, properties: {} } as Packet, { protocolVersion: 5 });
    const d = new StreamDecoder({ protocolVersion: 4 });
    const types: string[] = [];
    for (const b of Buffer.concat([connect, pub])) {
      for (const ev of d.push(Buffer.from([b]))) types.push(ev.ok ? ev.packet.type : ev.error.code);
    }
    expect(types).toEqual(['connect', 'publish']);
    expect(d.protocolVersion).toBe(5);
  });

  it('rejects a 256 MB announcement without buffering it', () => {
    const d = new StreamDecoder({ protocolVersion: 4, maxPacketSize: 1024 });
    const evs = d.push(hex('30 ff ff ff 7f 00 01'));
    expect(evs).toHaveLength(1);
    expect(evs[0]!.ok ? 'ok' : evs[0]!.error.code).toBe('PACKET_TOO_LARGE');
    expect(d.buffered).toBe(0);
    expect(d.push(hex('c0 00'))).toEqual([]);
  });

  it('rejects a remaining length of more than 4 bytes as soon as the fifth byte arrives', () => {
    const d = new StreamDecoder({ protocolVersion: 5 });
    expect(d.push(hex('30 ff ff ff'))).toEqual([]);
    const evs = d.push(hex('ff 01'));
    expect(evs.map((e) => (e.ok ? e.packet.type : e.error.code))).toEqual(['MALFORMED_VARINT']);
  });

  it('is dead after the first malformed packet', () => {
    const d = new StreamDecoder({ protocolVersion: 4 });
    const evs = d.push(hex('c0 00 36 05 00 01 61 00 01 c0 00'));
    expect(evs.map((e) => (e.ok ? e.packet.type : e.error.code))).toEqual(['pingreq', 'INVALID_QOS']);
    expect(d.failed).toBe(true);
  });
});
