import type { Packet, PublishPacket } from '../../../src/codec/index.js';
import { ack, type FaultConn, type FaultDef } from './types.js';

/** A per-connection (or shared) list kept in the connection's state map. */
function list<T>(store: Map<string, unknown>, key: string): T[] {
  let l = store.get(key) as T[] | undefined;
  if (!l) {
    l = [];
    store.set(key, l);
  }
  return l;
}

function set<T>(store: Map<string, unknown>, key: string): Set<T> {
  let s = store.get(key) as Set<T> | undefined;
  if (!s) {
    s = new Set<T>();
    store.set(key, s);
  }
  return s;
}

function map<K, V>(store: Map<string, unknown>, key: string): Map<K, V> {
  let m = store.get(key) as Map<K, V> | undefined;
  if (!m) {
    m = new Map<K, V>();
    store.set(key, m);
  }
  return m;
}

/** The one packet identifier 'reuse-packet-id' gives every outgoing QoS 1/2 message. */
const REUSED_ID = 65000;

/**
 * Holds back every other matching PUBLISH to the client and sends it after the next one, so consecutive
 * messages arrive swapped.
 */
function swapPairs(which: (p: PublishPacket) => boolean): FaultDef['down'] {
  return (p, conn) => {
    if (p.type !== 'publish' || !which(p)) return 'raw';
    const held = conn.state.get('held') as Packet | undefined;
    if (!held) {
      conn.state.set('held', p);
      return null;
    }
    conn.state.delete('held');
    return [p, held];
  };
}

/** The client identifier of the connection (from its CONNECT), to key state that outlives a connection. */
function clientIdOf(conn: FaultConn): string {
  return (conn.state.get('clientId') as string | undefined) ?? '';
}

/** Faults for the publish cases: each breaks exactly one rule (say which in `describe`). */
export const PUBLISH_FAULTS = {
  'reuse-packet-id': {
    describe:
      'every QoS 1/2 PUBLISH (and PUBREL) to a client carries the same packet id while others are unacknowledged; the client’s acknowledgements are mapped back in order',
    down: (p, conn) => {
      if (p.type === 'publish' && p.qos > 0 && p.packetId !== undefined) {
        list<number>(conn.state, 'published').push(p.packetId);
        return { ...p, packetId: REUSED_ID };
      }
      if (p.type === 'pubrel') {
        list<number>(conn.state, 'released').push(p.packetId);
        return { ...p, packetId: REUSED_ID };
      }
      return 'raw';
    },
    up: (p, conn) => {
      if ((p.type === 'puback' || p.type === 'pubrec') && p.packetId === REUSED_ID) {
        const real = list<number>(conn.state, 'published').shift();
        return real === undefined ? 'raw' : { ...p, packetId: real };
      }
      if (p.type === 'pubcomp' && p.packetId === REUSED_ID) {
        const real = list<number>(conn.state, 'released').shift();
        return real === undefined ? 'raw' : { ...p, packetId: real };
      }
      return 'raw';
    },
  },
  'packet-id-at-qos0': {
    describe: 'QoS 0 PUBLISH to clients carries a packet identifier (0x1234) before its payload',
    down: (p) =>
      p.type === 'publish' && p.qos === 0
        ? { ...p, payload: Buffer.concat([Buffer.from([0x12, 0x34]), p.payload]) }
        : 'raw',
  },
  'ack-qos0': {
    describe: 'a client’s QoS 0 PUBLISH is answered with a PUBACK',
    up: (p, conn) => {
      if (p.type === 'publish' && p.qos === 0) conn.toClient(ack('puback', conn.nextProxyId(), conn.version));
      return 'raw';
    },
  },
  'clear-dup': {
    describe: 'DUP 0 on every PUBLISH to clients, redeliveries included',
    down: (p) => (p.type === 'publish' && p.dup ? { ...p, dup: false } : 'raw'),
  },
  'propagate-dup': {
    describe: 'a client’s PUBLISH with DUP 1 is forwarded to subscribers with DUP 1',
    up: (p, conn) => {
      if (p.type === 'publish' && p.dup) set<string>(conn.shared, 'dupTopics').add(p.topic);
      return 'raw';
    },
    down: (p, conn) =>
      p.type === 'publish' && p.qos > 0 && set<string>(conn.shared, 'dupTopics').has(p.topic)
        ? { ...p, dup: true }
        : 'raw',
  },
  'retain-all': {
    describe:
      'every client PUBLISH reaches the broker with RETAIN 1 (RETAIN 0 messages replace the retained one)',
    up: (p) => (p.type === 'publish' && !p.retain ? { ...p, retain: true } : 'raw'),
  },
  'first-retained-only': {
    describe:
      'a client gets only the first retained message on its connection; further RETAIN 1 PUBLISH are dropped',
    down: (p, conn) => {
      if (p.type !== 'publish' || !p.retain) return 'raw';
      if (conn.state.get('retainedSent')) return null;
      conn.state.set('retainedSent', true);
      return 'raw';
    },
  },
  'no-redelivery': {
    describe: 'a PUBLISH the broker sends again (DUP 1) is dropped: unacknowledged messages are never resent',
    down: (p) => (p.type === 'publish' && p.dup ? null : 'raw'),
  },
  'no-pubrel-resend': {
    describe: 'a PUBREL the broker sends again to the same client (after a reconnect) is dropped',
    up: (p, conn) => {
      if (p.type === 'connect') conn.state.set('clientId', p.clientId);
      return 'raw';
    },
    down: (p, conn) => {
      if (p.type !== 'pubrel') return 'raw';
      const seen = set<string>(conn.shared, 'pubrels');
      const key = `${clientIdOf(conn)}/${p.packetId}`;
      if (seen.has(key)) return null;
      seen.add(key);
      return 'raw';
    },
  },
  'dedupe-by-id': {
    describe:
      'a client PUBLISH (QoS 1/2) reusing a packet id of an earlier, completed one is taken for a duplicate: acknowledged by the proxy, never delivered',
    up: (p, conn) => {
      if (p.type !== 'publish' || p.qos === 0 || p.packetId === undefined) return 'raw';
      const seen = set<number>(conn.state, 'ids');
      if (!seen.has(p.packetId)) {
        seen.add(p.packetId);
        return 'raw';
      }
      conn.toClient(ack(p.qos === 1 ? 'puback' : 'pubrec', p.packetId, conn.version));
      return null;
    },
  },
  'forward-qos2-duplicate': {
    describe:
      'a client’s QoS 2 PUBLISH sent again before PUBREL reaches the broker as a new message (delivered twice); the proxy completes that flow itself',
    up: (p, conn) => {
      const open = set<number>(conn.state, 'open');
      if (p.type === 'pubrel') open.delete(p.packetId);
      if (p.type !== 'publish' || p.qos !== 2 || p.packetId === undefined) return 'raw';
      if (!open.has(p.packetId)) {
        open.add(p.packetId);
        return 'raw';
      }
      const id = conn.nextProxyId();
      map<number, number>(conn.state, 'copies').set(id, p.packetId);
      return { ...p, packetId: id, dup: false };
    },
    down: (p, conn) => {
      const copies = map<number, number>(conn.state, 'copies');
      if (p.type === 'pubrec' && copies.has(p.packetId)) {
        conn.toBroker(ack('pubrel', p.packetId, conn.version));
        return { ...p, packetId: copies.get(p.packetId)! };
      }
      if (p.type === 'pubcomp' && copies.has(p.packetId)) {
        copies.delete(p.packetId);
        return null;
      }
      return 'raw';
    },
  },
  'early-pubrel': {
    describe: 'a QoS 2 PUBLISH to a client is followed at once by its PUBREL, before the client’s PUBREC',
    down: (p, conn) =>
      p.type === 'publish' && p.qos === 2 && !p.dup && p.packetId !== undefined
        ? [p, ack('pubrel', p.packetId, conn.version)]
        : 'raw',
  },
  'qos1-upgrade': {
    describe: 'QoS 1 PUBLISH to clients delivered as QoS 2 (above the lower of published and granted QoS)',
    down: (p) => (p.type === 'publish' && p.qos === 1 ? { ...p, qos: 2 } : 'raw'),
  },
  'reorder-publish': {
    describe: 'QoS 1/2 PUBLISH packets to a client are delivered with each pair swapped',
    down: swapPairs((p) => p.qos > 0),
  },
  'reorder-redelivery': {
    describe: 'QoS 1/2 PUBLISH packets sent again (DUP 1) are delivered with each pair swapped',
    down: swapPairs((p) => p.qos > 0 && p.dup),
  },
} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area), or faults, that make it fail. */
export const PUBLISH_CASE_FAULTS: Record<string, string | string[]> = {
  '2.3.1/publish-packet-id-zero': 'never-close',
  '2.3.1/subscribe-packet-id-zero': 'never-close',
  '2.3.1/unsubscribe-packet-id-zero': 'never-close',
  '2.3.1/server-ids-distinct-in-flight': 'reuse-packet-id',
  '2.3.1/server-id-held-until-pubcomp': 'reuse-packet-id',
  '3.3.1/retain-0-keeps-stored': 'retain-all',
  '3.3.1/retained-sent-for-each-matching-topic': 'first-retained-only',
  '3.3.1/dup-set-on-redelivery': 'clear-dup',
  '3.3.1/dup-not-propagated': 'propagate-dup',
  '3.3.4/response-by-qos': 'ack-qos0',
  '4.3.1/qos0-delivery': ['dup-at-qos0', 'packet-id-at-qos0'],
  '4.3.2/packet-id-reused-after-puback': 'dedupe-by-id',
  '4.3.2/delivered-at-minimum-qos': 'qos1-upgrade',
  '4.3.3/qos2-outbound-pubrel-only-after-pubrec': 'early-pubrel',
  '4.3.3/duplicate-before-pubrel-delivered-once': 'forward-qos2-duplicate',
  '4.3.3/packet-id-reused-after-pubcomp': 'dedupe-by-id',
  '4.3.3/pubrel-unknown-id-gets-pubcomp': 'drop-pubcomp',
  '4.4.0/qos1-publish-resent-on-resume': 'no-redelivery',
  '4.4.0/qos2-publish-resent-on-resume': 'no-redelivery',
  '4.4.0/pubrel-resent-on-resume': 'no-pubrel-resend',
  '4.6.0/qos1-in-order': 'reorder-publish',
  '4.6.0/qos2-in-order': 'reorder-publish',
  '4.6.0/order-kept-on-redelivery': 'reorder-redelivery',
};
