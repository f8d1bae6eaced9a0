import { decode, encode, type Packet } from '../../../src/codec/index.js';
import type { FaultConn, FaultDef } from './types.js';

/** The body of a raw CONNECT (first byte 0x10), or undefined for anything else. */
function connectBody(raw: Buffer): Buffer | undefined {
  if (raw[0] !== 0x10) return undefined;
  let i = 1;
  while (i < raw.length && i < 5 && (raw[i]! & 0x80) !== 0) i++;
  return raw.subarray(i + 1);
}

/** A raw CONNECT with `body`, its remaining length re-encoded. */
function withBody(body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x10, ...len]), body]);
}

/** Offset of the Connect Flags byte in a CONNECT body (after the protocol name and level). */
function flagsOffset(body: Buffer): number {
  return 2 + body.readUInt16BE(0) + 1;
}

/**
 * In place of an accepting CONNACK: nothing, or the refusal `refuseWith` (a 3.1.1 return code), and the client's
 * side closed soon after. Packets the client pipelined after its CONNECT are already on their way to the broker.
 */
function fakeRefusal(conn: FaultConn, refuseWith: number | undefined): Packet | null {
  setTimeout(() => conn.client.end(), 100);
  return refuseWith === undefined ? null : { type: 'connack', sessionPresent: false, reasonCode: refuseWith };
}

/** Faults for the connect cases: each breaks exactly one rule (say which in `describe`). */
export const CONNECT_FAULTS = {
  'accept-wrong-protocol-name': {
    describe: 'a CONNECT whose protocol name is not "MQTT" reaches the broker as "MQTT" (and is accepted)',
    upMalformed: (raw) => {
      const body = connectBody(raw);
      if (!body || body.length < 2) return undefined;
      const nameLen = body.readUInt16BE(0);
      if (body.subarray(2, 2 + nameLen).toString('latin1') === 'MQTT') return undefined;
      return withBody(Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), body.subarray(2 + nameLen)]));
    },
  },
  'process-after-refusal': {
    describe:
      'a CONNECT with the reserved flag set or protocol level 9 is closed without CONNACK, yet what the client sent after it is processed',
    upMalformed: (raw, conn) => {
      const body = connectBody(raw);
      if (!body || body.length < 8) return undefined;
      const at = flagsOffset(body);
      const level = body[at - 1];
      if ((body[at]! & 0x01) === 0 && level !== 9) return undefined;
      // A malformed CONNECT is closed without CONNACK; a 3.1.1 server refuses an unknown level with 0x01.
      conn.state.set('fakeRefusal', level === 9 ? 'level' : 'flag');
      const fixed = Buffer.from(body);
      fixed[at] = fixed[at]! & 0xfe;
      if (level === 9) fixed[at - 1] = 4;
      return withBody(fixed);
    },
    down: (p, conn) => {
      const how = conn.state.get('fakeRefusal');
      if (p.type !== 'connack' || how === undefined) return 'raw';
      conn.state.delete('fakeRefusal');
      return fakeRefusal(conn, how === 'level' ? 0x01 : undefined);
    },
  },
  'will-kept-after-publish': {
    describe:
      'the will of a client id is remembered and added to its later CONNECTs without one (never removed after it was published)',
    up: (p, conn) => {
      if (p.type !== 'connect' || p.clientId === '') return 'raw';
      const wills = (conn.shared.get('wills') as Map<string, Packet> | undefined) ?? new Map();
      conn.shared.set('wills', wills);
      if (p.will) {
        wills.set(p.clientId, p);
        return 'raw';
      }
      const earlier = wills.get(p.clientId);
      return earlier?.type === 'connect' && earlier.will ? { ...p, will: earlier.will } : 'raw';
    },
  },
  'retained-dies-with-session': {
    describe:
      'when a client ends its session with DISCONNECT, the retained messages it published are cleared (as if part of its session)',
    up: (p, conn) => {
      if (p.type === 'publish' && p.retain) {
        const topics = (conn.state.get('retained') as Set<string> | undefined) ?? new Set<string>();
        conn.state.set('retained', topics);
        topics.add(p.topic);
      } else if (p.type === 'disconnect') {
        for (const topic of (conn.state.get('retained') as Set<string> | undefined) ?? []) {
          conn.toBroker({
            type: 'publish',
            topic,
            payload: Buffer.alloc(0),
            qos: 0,
            retain: true,
            dup: false,
            ...(conn.version === 5 ? { properties: {} } : {}),
          });
        }
      }
      return 'raw';
    },
  },
  'will-retain-forced': {
    describe: 'Will Retain set on every will (a will sent with Will Retain 0 is stored as retained)',
    up: (p) => (p.type === 'connect' && p.will ? { ...p, will: { ...p.will, retain: true } } : 'raw'),
  },
  'will-qos-0': {
    describe: 'every will is published at QoS 0, whatever its Will QoS',
    up: (p) => (p.type === 'connect' && p.will ? { ...p, will: { ...p.will, qos: 0 } } : 'raw'),
  },
  'clean-ignored': {
    describe: 'Clean Session / Clean Start 1 reaches the broker as 0 (a previous session is resumed)',
    up: (p) => (p.type === 'connect' && p.clean ? { ...p, clean: false } : 'raw'),
  },
  'connack-after-next': {
    describe:
      'the CONNACK is held back and sent after the next packet to the client (or alone after 300 ms if none comes)',
    down: (p, conn) => {
      if (p.type === 'connack') {
        conn.state.set('heldConnack', p);
        setTimeout(() => {
          if (conn.state.get('heldConnack') !== p) return;
          conn.state.delete('heldConnack');
          conn.toClient(p);
        }, 300);
        return null;
      }
      const held = conn.state.get('heldConnack') as Packet | undefined;
      if (!held) return 'raw';
      conn.state.delete('heldConnack');
      return [p, held];
    },
  },
  'empty-client-id-shared': {
    describe: 'a CONNECT with an empty client identifier reaches the broker with one fixed identifier',
    up: (p) => (p.type === 'connect' && p.clientId === '' ? { ...p, clientId: 'mqttconformempty' } : 'raw'),
  },
  'client-id-truncated': {
    describe:
      'a Clean 0 CONNECT reaches the broker with the client identifier cut to 12 characters (different ids share a session)',
    up: (p) =>
      p.type === 'connect' && !p.clean && p.clientId.length > 12
        ? { ...p, clientId: p.clientId.slice(0, 12) }
        : 'raw',
  },
  'connack-reserved-flag': {
    describe:
      'CONNACK with a reserved bit of its acknowledge flags set (0x02), to CONNECTs with keep-alive 43 (not to the runner probe)',
    up: (p, conn) => {
      if (p.type === 'connect' && p.keepAlive === 43) conn.state.set('badConnack', true);
      return 'raw';
    },
    down: (p, conn) => {
      if (p.type !== 'connack' || !conn.state.get('badConnack')) return 'raw';
      const flags = (p.sessionPresent ? 1 : 0) | 0x02;
      conn.client.write(encode(p, { protocolVersion: conn.version, overrides: { connackFlags: flags } }));
      return null;
    },
  },
  'refuse-long-client-id-stay-open': {
    describe:
      'a CONNECT with a client identifier longer than 23 characters is refused (0x02 / 0x85) and the connection stays open',
    up: (p, conn) => {
      if (p.type !== 'connect' || p.clientId.length <= 23) return 'raw';
      conn.toClient({
        type: 'connack',
        sessionPresent: false,
        reasonCode: conn.version === 5 ? 0x85 : 0x02,
        properties: {},
      });
      return null;
    },
  },
  'bad-client-id-refused-with-connack': {
    describe:
      'a 3.1.1 CONNECT whose client identifier is ill-formed UTF-8 or contains U+0000 is answered with CONNACK 0x02 before the close, where MQTT-3.1.4-1 requires closing without CONNACK',
    upMalformed: (raw, conn) => {
      if (raw[0] !== 0x10) return undefined;
      const r = decode(raw, { protocolVersion: 4 });
      if (r.ok || r.error.packetType !== 'connect') return undefined;
      if (r.error.code !== 'INVALID_UTF8' && r.error.code !== 'NULL_CHARACTER') return undefined;
      if (!r.error.message.startsWith('client identifier')) return undefined;
      const body = connectBody(raw);
      if (body === undefined || body[flagsOffset(body) - 1] !== 4) return undefined;
      // The broker behind closes without CONNACK; the proxy sends a refusal first, then closes too.
      conn.client.write(
        encode({ type: 'connack', sessionPresent: false, reasonCode: 0x02 }, { protocolVersion: 4 }),
      );
      conn.client.end();
      return undefined;
    },
  },
  'refuse-will-connect': {
    describe: 'a valid CONNECT that carries a will is refused (0x02 / 0x85) and closed',
    up: (p) => (p.type === 'connect' && p.will ? 'refuse-id' : 'raw'),
  },
} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area) that makes it fail. */
export const CONNECT_CASE_FAULTS: Record<string, string> = {
  '3.1.2/will-published-on-protocol-violation': 'no-will',
  '3.1.2/will-removed-after-publish': 'will-kept-after-publish',
  '3.1.2/will-not-retained': 'will-retain-forced',
  '3.1.2/will-qos-honoured': 'will-qos-0',
  '3.1.2/offline-qos1-qos2-queued': 'lose-session',
  '3.1.2/clean-discards-session': 'clean-ignored',
  '3.1.2/retained-outlives-session': 'retained-dies-with-session',
  '3.1.3/empty-client-id-gets-unique-id': 'empty-client-id-shared',
  '3.1.3/client-id-keys-session': 'client-id-truncated',
  '3.1.4/connack-accepts-valid-connect': 'refuse-will-connect',
  '3.1.4/nothing-processed-after-refused-connect': 'process-after-refusal',
  '3.2.0/connack-first': 'connack-after-next',
  '3.2.2/session-present-zero-without-state': 'session-present-flip',
  '4.1.0/session-state-spans-connections': 'lose-session',
  '3.1.0/first-packet-not-connect': 'never-close',
  '3.1.2/wrong-protocol-name': 'accept-wrong-protocol-name',
  '3.1.2/will-qos-3': 'never-close',
  '3.1.2/will-qos-without-will-flag': 'never-close',
  '3.1.2/will-retain-without-will-flag': 'never-close',
  '3.1.2/user-name-flag-without-user-name': 'never-close',
  '3.1.2/password-without-user-name': 'never-close',
  '3.1.2/will-published-on-keep-alive-expiry': 'no-will',
  '3.2.2/refusal-session-present-zero': 'session-present-flip',
  '3.1.4/nothing-processed-after-refusing-connack': 'process-after-refusal',
  '3.2.2/connack-well-formed': 'connack-reserved-flag',
  '3.2.2/empty-session-stored': 'lose-session',
  '3.1.3/rejected-client-id-closed': 'refuse-long-client-id-stay-open',
};
