import { describe, expect, it } from 'vitest';
import type { Packet } from '../codec/index.js';
import {
  describeEvent,
  describeMatch,
  describePacket,
  formatBytes,
  matchPacket,
  NoneOf,
  Presence,
} from './match.js';
import type { PacketMatch } from './types.js';

const publish: Packet = {
  type: 'publish',
  topic: 'a/b',
  payload: Buffer.from('hello'),
  qos: 1,
  retain: false,
  dup: false,
  packetId: 7,
  properties: { userProperties: [['k', 'v']], subscriptionIdentifier: [3] },
};

const subscribe: Packet = {
  type: 'subscribe',
  packetId: 2,
  subscriptions: [
    { topic: 'x/#', qos: 1 },
    { topic: 'y', qos: 0 },
  ],
};

describe('matchPacket', () => {
  const cases: Array<[string, PacketMatch, Packet, string[]]> = [
    ['type only', { type: 'publish' }, publish, []],
    ['wrong type', { type: 'puback' }, publish, ['type: expected puback, got publish']],
    ['scalar fields', { type: 'publish', qos: 1, packetId: 7, retain: false }, publish, []],
    ['scalar mismatch', { type: 'publish', qos: 2 }, publish, ['qos: expected 2, got 1']],
    ['none of: another id', { type: 'publish', packetId: new NoneOf([1, 2]) }, publish, []],
    [
      'none of: a listed id',
      { type: 'publish', packetId: new NoneOf([7]) },
      publish,
      ['packetId: expected none of [7], got 7'],
    ],
    [
      'failure: any reason code of 0x80 or above',
      { type: 'suback', reasonCodes: [0, 'failure' as unknown as number] },
      { type: 'suback', packetId: 1, reasonCodes: [0, 0x97] },
      [],
    ],
    [
      'failure: a granted QoS is not one',
      { type: 'suback', reasonCodes: [0, 'failure' as unknown as number] },
      { type: 'suback', packetId: 1, reasonCodes: [0, 1] },
      [
        'reasonCodes[1]: expected a SUBACK failure code (0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2), got 1',
      ],
    ],
    [
      'failure: a code of 0x80 or above that the packet may not carry is not one',
      { type: 'suback', reasonCodes: [0, 'failure' as unknown as number] },
      { type: 'suback', packetId: 1, reasonCodes: [0, 0x82] },
      [
        'reasonCodes[1]: expected a SUBACK failure code (0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2), got 130',
      ],
    ],
    [
      'failure: a single reason code',
      { type: 'pubrec', reasonCode: 'failure' as unknown as number },
      { type: 'pubrec', packetId: 1, reasonCode: 0x92 },
      ['reasonCode: expected a PUBREC failure code (0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99), got 146'],
    ],
    ['string vs Buffer by UTF-8', { type: 'publish', payload: 'hello' }, publish, []],
    [
      'string vs Buffer mismatch',
      { type: 'publish', payload: 'hellO' },
      publish,
      ['payload: expected "hellO", got "hello"'],
    ],
    ['Buffer vs Buffer', { type: 'publish', payload: Buffer.from('hello') }, publish, []],
    [
      'Uint8Array vs Buffer',
      { type: 'publish', payload: new Uint8Array([0x68, 0x65, 0x6c, 0x6c, 0x6f]) },
      publish,
      [],
    ],
    [
      'Buffer mismatch',
      { type: 'publish', payload: Buffer.from([0, 1]) },
      publish,
      ['payload: expected <0001>, got "hello"'],
    ],
    ['nested partial object', { type: 'publish', properties: { subscriptionIdentifier: [3] } }, publish, []],
    ['empty nested object', { type: 'publish', properties: {} }, publish, []],
    [
      'nested mismatch',
      { type: 'publish', properties: { reasonString: 'x' } },
      publish,
      ['properties.reasonString: expected "x", got undefined'],
    ],
    ['array of tuples', { type: 'publish', properties: { userProperties: [['k', 'v']] } }, publish, []],
    [
      'array element mismatch',
      { type: 'publish', properties: { userProperties: [['k', 'w']] } },
      publish,
      ['properties.userProperties[0][1]: expected "w", got "v"'],
    ],
    [
      'array partial elements',
      { type: 'subscribe', subscriptions: [{ topic: 'x/#' }, { qos: 0 }] },
      subscribe,
      [],
    ],
    [
      'array length',
      { type: 'subscribe', subscriptions: [{ topic: 'x/#' }] },
      subscribe,
      [
        'subscriptions: expected 1 element(s) [{topic: "x/#"}], got 2 [{topic: "x/#", qos: 1}, {topic: "y", qos: 0}]',
      ],
    ],
    ['undefined means absent', { type: 'subscribe', properties: undefined }, subscribe, []],
    [
      'undefined but present',
      { type: 'publish', packetId: undefined },
      publish,
      ['packetId: expected absent, got 7'],
    ],
    [
      'object vs missing',
      { type: 'subscribe', properties: {} },
      subscribe,
      ['properties: expected an object {}, got undefined'],
    ],
  ];
  it.each(cases)('%s', (_name, match, packet, mismatches) => {
    const r = matchPacket(match, packet);
    expect(r.ok ? [] : r.mismatches).toEqual(mismatches);
    expect(r.ok).toBe(mismatches.length === 0);
  });
});

describe('descriptions', () => {
  it('describes packets compactly, payload as text when printable', () => {
    expect(describePacket(publish)).toBe(
      'PUBLISH {topic: "a/b", payload: "hello", qos: 1, retain: false, dup: false, packetId: 7, ' +
        'properties: {userProperties: [["k", "v"]], subscriptionIdentifier: [3]}}',
    );
    expect(describePacket({ type: 'pingreq' })).toBe('PINGREQ');
    expect(describePacket({ type: 'puback', packetId: 1, reasonCode: 0, properties: {} })).toBe(
      'PUBACK {packetId: 1, reasonCode: 0}',
    );
  });

  it('shows binary payloads as hex and truncates long ones', () => {
    expect(formatBytes(Buffer.from([0, 0xff]))).toBe('<00ff>');
    expect(formatBytes(Buffer.alloc(100, 0x61))).toBe(`"${'a'.repeat(64)}…" (100 bytes)`);
    expect(formatBytes(Buffer.alloc(100, 0))).toBe(`<${'00'.repeat(64)}… 100 bytes>`);
    expect(formatBytes(Buffer.from('line\nnext'))).toBe('"line\\nnext"');
  });

  it('describes matches and events', () => {
    expect(describeMatch({ type: 'suback', reasonCodes: [1] })).toBe('SUBACK {reasonCodes: [1]}');
    expect(
      describeMatch(function isConnack() {
        return true;
      }),
    ).toBe('event matching isConnack');
    expect(describeEvent({ kind: 'closed', at: 1, reason: 'reset', detail: 'ECONNRESET' })).toBe(
      'connection closed (reset: ECONNRESET)',
    );
    expect(
      describeEvent({
        kind: 'malformed',
        at: 1,
        raw: Buffer.alloc(0),
        error: { code: 'INVALID_QOS', message: 'QoS 3', statement: 'MQTT-3.3.1-4' },
      }),
    ).toBe('malformed bytes INVALID_QOS [MQTT-3.3.1-4]: QoS 3');
  });

  it('Presence markers require a property to be absent or present with any value', () => {
    const absent = { type: 'publish', properties: { contentType: new Presence(false) } } as PacketMatch;
    const present = { type: 'publish', properties: { userProperties: new Presence(true) } } as PacketMatch;
    expect(matchPacket(absent, publish)).toEqual({ ok: true });
    expect(matchPacket(present, publish)).toEqual({ ok: true });
    const noUser = { type: 'publish', properties: { userProperties: new Presence(false) } } as PacketMatch;
    expect(matchPacket(noUser, publish)).toEqual({
      ok: false,
      mismatches: ['properties.userProperties: expected absent, got [["k", "v"]]'],
    });
    const needType = { type: 'publish', properties: { contentType: new Presence(true) } } as PacketMatch;
    expect(matchPacket(needType, publish)).toEqual({
      ok: false,
      mismatches: ['properties.contentType: expected present, got absent'],
    });
    expect(describeMatch(needType)).toBe('PUBLISH {properties: {contentType: present}}');
  });
});
