import { varintBytes } from '../../../src/codec/fields.js';
import type { Packet } from '../../../src/codec/index.js';
import type { FaultConn, FaultDef } from './types.js';

type Subscribe = Extract<Packet, { type: 'subscribe' }>;
type Unsubscribe = Extract<Packet, { type: 'unsubscribe' }>;

/** Whether a filter breaks the wildcard rules (section 4.7.1) or is empty (4.7.3). */
function invalidFilter(filter: string): boolean {
  if (filter === '') return true;
  const levels = filter.split('/');
  return levels.some(
    (l, i) => (l.includes('#') && (l !== '#' || i !== levels.length - 1)) || (l.includes('+') && l !== '+'),
  );
}

/** Packet ids of requests the proxy split: the broker's answer gets the codes of the dropped filters added. */
function padAcks(conn: FaultConn): Map<number, number> {
  let m = conn.state.get('padAcks') as Map<number, number> | undefined;
  if (!m) {
    m = new Map();
    conn.state.set('padAcks', m);
  }
  return m;
}

/** Packet ids of requests the proxy made up itself: their acknowledgements are not the client's business. */
function ownIds(conn: FaultConn): Set<number> {
  let s = conn.state.get('ownIds') as Set<number> | undefined;
  if (!s) {
    s = new Set();
    conn.state.set('ownIds', s);
  }
  return s;
}

/** Filters the client subscribed to on this connection, in order, with how many times each. */
function subscribed(conn: FaultConn): Map<string, number> {
  let m = conn.state.get('subscribed') as Map<string, number> | undefined;
  if (!m) {
    m = new Map();
    conn.state.set('subscribed', m);
  }
  return m;
}

/** Topic matching as section 4.7 defines it (no $ rule: the proxy only applies it to the client's filters). */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** Only the first filter of a SUBSCRIBE reaches the broker; the SUBACK is padded to the count. */
function firstSubscribeFilterOnly(p: Packet, conn: FaultConn): Packet | 'raw' {
  if (p.type === 'subscribe' && p.subscriptions.length > 1) {
    padAcks(conn).set(p.packetId, p.subscriptions.length);
    return { ...p, subscriptions: p.subscriptions.slice(0, 1) } satisfies Subscribe;
  }
  return 'raw';
}

/** Only the first filter of an UNSUBSCRIBE reaches the broker; the UNSUBACK is padded to the count. */
function firstUnsubscribeFilterOnly(p: Packet, conn: FaultConn): Packet | 'raw' {
  if (p.type === 'unsubscribe' && p.topics.length > 1) {
    padAcks(conn).set(p.packetId, p.topics.length);
    return { ...p, topics: p.topics.slice(0, 1) } satisfies Unsubscribe;
  }
  return 'raw';
}

function padDown(p: Packet, conn: FaultConn): Packet | 'raw' {
  if ((p.type !== 'suback' && p.type !== 'unsuback') || p.reasonCodes === undefined) return 'raw';
  const n = padAcks(conn).get(p.packetId);
  if (n === undefined) return 'raw';
  padAcks(conn).delete(p.packetId);
  const first = p.reasonCodes[0] ?? 0;
  return { ...p, reasonCodes: [...p.reasonCodes, ...Array(n - p.reasonCodes.length).fill(first)] };
}

/** Reads a variable byte integer at `at`: [value, bytes used], or undefined when it runs past the buffer. */
function varint(buf: Buffer, at: number): [number, number] | undefined {
  let value = 0;
  for (let i = 0; i < 4 && at + i < buf.length; i++) {
    const b = buf[at + i]!;
    value += (b & 0x7f) * 128 ** i;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

/**
 * A raw SUBSCRIBE the strict decoder refuses because a filter is empty, with each empty filter replaced by
 * `_`; undefined for anything else.
 */
function fillEmptyFilters(raw: Buffer, conn: FaultConn): Buffer | undefined {
  if (raw[0] !== 0x82) return undefined;
  const rl = varint(raw, 1);
  if (!rl) return undefined;
  const start = 1 + rl[1];
  const end = start + rl[0];
  if (end > raw.length) return undefined;
  let at = start + 2;
  if (conn.version === 5) {
    const pl = varint(raw, at);
    if (!pl) return undefined;
    at += pl[1] + pl[0];
  }
  const parts: Buffer[] = [raw.subarray(start, at)];
  let changed = false;
  while (at + 2 < end) {
    const len = raw.readUInt16BE(at);
    if (len === 0) {
      parts.push(Buffer.from([0, 1, 0x5f]));
      changed = true;
    } else parts.push(raw.subarray(at, at + 2 + len));
    at += 2 + len;
    parts.push(raw.subarray(at, at + 1));
    at += 1;
  }
  if (!changed || at !== end) return undefined;
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x82]), varintBytes(body.length), body]);
}

/** Faults for the subscribe cases: each breaks exactly one rule (say which in `describe`). */
export const SUBSCRIBE_FAULTS = {
  'strip-bom': {
    describe: 'U+FEFF is stripped from the topic names of PUBLISH packets to clients (MQTT-1.5.3-3)',
    down: (p) =>
      p.type === 'publish' && p.topic.includes('\uFEFF')
        ? { ...p, topic: p.topic.replaceAll('\uFEFF', '') }
        : 'raw',
  },
  'suback-reversed': {
    describe: 'SUBACK return codes in reverse order of the filters (MQTT-3.9.3-1)',
    down: (p) => (p.type === 'suback' ? { ...p, reasonCodes: [...p.reasonCodes].reverse() } : 'raw'),
  },
  'suback-reserved-codes': {
    describe: 'SUBACK return codes get bit 6 set: 0x40, 0x41, 0x42, 0xC0, all reserved (MQTT-3.9.3-2)',
    down: (p) => (p.type === 'suback' ? { ...p, reasonCodes: p.reasonCodes.map((c) => c | 0x40) } : 'raw'),
  },
  'grant-invalid-filters': {
    describe:
      'an invalid or empty topic filter is made valid on its way to the broker (wildcard characters become _, an empty filter `_`), so it is granted (MQTT-4.7.1-2, MQTT-4.7.3-1)',
    up: (p) =>
      p.type === 'subscribe' && p.subscriptions.some((s) => invalidFilter(s.topic))
        ? {
            ...p,
            subscriptions: p.subscriptions.map((s) =>
              invalidFilter(s.topic) ? { ...s, topic: s.topic.replace(/[#+]/g, '_') || '_' } : s,
            ),
          }
        : 'raw',
    // The strict decoder refuses an empty filter outright: repair the raw bytes instead.
    upMalformed: fillEmptyFilters,
  },
  'subscribe-first-filter-only': {
    describe:
      'only the first filter of a SUBSCRIBE takes effect; SUBACK still has a code per filter (MQTT-3.8.4-4)',
    up: firstSubscribeFilterOnly,
    down: padDown,
  },
  'unsubscribe-first-filter-only': {
    describe:
      'only the first filter of an UNSUBSCRIBE takes effect; UNSUBACK still has a code per filter (MQTT-3.10.4-6)',
    up: firstUnsubscribeFilterOnly,
    down: padDown,
  },
  'subscription-not-replaced': {
    describe:
      'a SUBSCRIBE repeating a filter adds a second subscription instead of replacing the first: messages on that topic are delivered once per SUBSCRIBE (MQTT-3.8.4-3)',
    up: (p, conn) => {
      if (p.type === 'subscribe') {
        const subs = subscribed(conn);
        for (const s of p.subscriptions) subs.set(s.topic, (subs.get(s.topic) ?? 0) + 1);
      }
      return 'raw';
    },
    down: (p, conn) => {
      if (p.type !== 'publish' || p.retain) return 'raw';
      const n = subscribed(conn).get(p.topic) ?? 1;
      return n > 1 ? Array.from({ length: n }, () => p) : 'raw';
    },
  },
  'unsubscribe-by-matching': {
    describe:
      'UNSUBSCRIBE also removes every subscription whose filter matches the given filter, or is matched by it, instead of only the identical one (MQTT-3.10.4-1)',
    up: (p, conn) => {
      if (p.type === 'subscribe') {
        for (const s of p.subscriptions) subscribed(conn).set(s.topic, 1);
        return 'raw';
      }
      if (p.type !== 'unsubscribe') return 'raw';
      const extra = [...subscribed(conn).keys()].filter(
        (f) => !p.topics.includes(f) && p.topics.some((u) => matches(u, f) || matches(f, u)),
      );
      if (extra.length > 0) {
        const id = conn.nextProxyId();
        ownIds(conn).add(id);
        conn.toBroker(
          conn.version === 5
            ? { type: 'unsubscribe', packetId: id, topics: extra, properties: {} }
            : { type: 'unsubscribe', packetId: id, topics: extra },
        );
      }
      return 'raw';
    },
    down: (p, conn) => (p.type === 'unsuback' && ownIds(conn).delete(p.packetId) ? null : 'raw'),
  },
  'plus-as-hash': {
    describe:
      'a filter ending in `/+` also matches the parent and several levels below, as `/#` would: the proxy subscribes to that filter too (MQTT-4.7.1-3 semantics, MQTT-3.3.2-3)',
    up: (p, conn) => {
      if (p.type !== 'subscribe') return 'raw';
      const extra = p.subscriptions.filter((x) => x.topic.endsWith('/+'));
      if (extra.length > 0) {
        const id = conn.nextProxyId();
        ownIds(conn).add(id);
        const subscriptions = extra.map((x) => ({ ...x, topic: `${x.topic.slice(0, -1)}#` }));
        conn.toBroker(
          conn.version === 5
            ? { type: 'subscribe', packetId: id, subscriptions, properties: {} }
            : { type: 'subscribe', packetId: id, subscriptions },
        );
      }
      return 'raw';
    },
    down: (p, conn) => (p.type === 'suback' && ownIds(conn).delete(p.packetId) ? null : 'raw'),
  },
  'hash-no-parent': {
    describe:
      'a filter ending in `/#` does not match its parent level (MQTT-4.7.1-2 semantics, MQTT-4.5.0-1)',
    up: (p, conn) => {
      if (p.type === 'subscribe') for (const x of p.subscriptions) subscribed(conn).set(x.topic, 1);
      return 'raw';
    },
    down: (p, conn) =>
      p.type === 'publish' &&
      [...subscribed(conn).keys()].some((f) => f.endsWith('/#') && matches(f.slice(0, -2), p.topic))
        ? null
        : 'raw',
  },
  'drop-pubrel-after-unsubscribe': {
    describe:
      'once the client has sent an UNSUBSCRIBE, PUBREL packets to it are dropped: QoS 2 deliveries already started are not completed (MQTT-3.10.4-3)',
    up: (p, conn) => {
      if (p.type === 'unsubscribe') conn.state.set('unsubscribed', true);
      return 'raw';
    },
    down: (p, conn) => (p.type === 'pubrel' && conn.state.get('unsubscribed') ? null : 'raw'),
  },
  'wildcard-matches-dollar': {
    describe:
      'filters starting with a wildcard also match topic names starting with $: such messages are copied to them (MQTT-4.7.2-1)',
    up: (p, conn) => {
      let reg = conn.shared.get('wildcardSubscribers') as Map<FaultConn, string[]> | undefined;
      if (!reg) {
        reg = new Map();
        conn.shared.set('wildcardSubscribers', reg);
      }
      const registry = reg;
      if (p.type === 'subscribe') {
        const wild = p.subscriptions
          .map((x) => x.topic)
          .filter((f) => f.startsWith('+') || f.startsWith('#'));
        if (wild.length > 0) {
          registry.set(conn, [...(registry.get(conn) ?? []), ...wild]);
          conn.client.once('close', () => registry.delete(conn));
        }
      }
      if (p.type === 'publish' && p.topic.startsWith('$')) {
        for (const [other, filters] of registry) {
          if (filters.some((f) => matches(f, p.topic))) {
            other.toClient({
              type: 'publish',
              topic: p.topic,
              payload: p.payload,
              qos: 0,
              retain: false,
              dup: false,
              ...(other.version === 5 ? { properties: {} } : {}),
            });
          }
        }
      }
      return 'raw';
    },
  },
  'dollar-exact-only': {
    describe:
      'a message on a topic starting with $ reaches only subscriptions with that exact filter, not `$x/+` or `$x/#` (MQTT-4.5.0-1)',
    up: (p, conn) => {
      if (p.type === 'subscribe') for (const x of p.subscriptions) subscribed(conn).set(x.topic, 1);
      return 'raw';
    },
    down: (p, conn) =>
      p.type === 'publish' && p.topic.startsWith('$') && !subscribed(conn).has(p.topic) ? null : 'raw',
  },
  'normalise-topics': {
    describe:
      'PUBLISH topic names from clients are normalised on their way to the broker: lower case, repeated `/` collapsed, trailing `/` and spaces removed (MQTT-4.7.3-4)',
    up: (p) => {
      if (p.type !== 'publish') return 'raw';
      const topic = p.topic
        .toLowerCase()
        .replace(/\/+/g, '/')
        .replace(/[/ ]+$/, '');
      return topic === p.topic ? 'raw' : { ...p, topic };
    },
  },
} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area) that makes it fail. */
export const SUBSCRIBE_CASE_FAULTS: Record<string, string> = {
  '1.5.3/ill-formed-utf8-in-topic': 'never-close',
  '1.5.3/ill-formed-utf8-in-client-id': 'never-close',
  '1.5.3/null-character-in-topic': 'never-close',
  '1.5.3/null-character-in-filter': 'never-close',
  '1.5.3/null-character-in-client-id': 'never-close',
  '1.5.3/bom-kept-in-topic': 'strip-bom',
  '3.8.3/no-topic-filter': 'never-close',
  '3.8.3/requested-qos-reserved-bits': 'never-close',
  '3.8.3/requested-qos-3': 'never-close',
  '3.8.4/suback-per-filter': 'suback-reversed',
  '3.8.4/same-filter-replaces-subscription': 'subscription-not-replaced',
  '3.8.4/several-filters-one-suback': 'subscribe-first-filter-only',
  '3.9.3/only-allowed-return-codes': 'suback-reserved-codes',
  '3.10.3/no-topic-filter': 'never-close',
  '3.10.4/filters-compared-character-by-character': 'unsubscribe-by-matching',
  '3.10.4/several-filters-one-unsuback': 'unsubscribe-first-filter-only',
  '3.10.4/inflight-qos2-completed-after-unsubscribe': 'drop-pubrel-after-unsubscribe',
  '4.7.2/wildcard-skips-dollar-topics': 'wildcard-matches-dollar',
  '4.7.2/dollar-filter-matches-dollar-topics': 'dollar-exact-only',
  '4.7.3/empty-topic-name': 'never-close',
  '4.7.3/empty-topic-filter': 'grant-invalid-filters',
  '4.7.3/no-normalisation': 'normalise-topics',
  '4.7.1/single-level-wildcard-positions': 'plus-as-hash',
  '4.7.1/empty-levels': 'plus-as-hash',
  '4.7.1/multi-level-wildcard-positions': 'hash-no-parent',
  '4.7.1/invalid-filters-refused': 'grant-invalid-filters',
  '4.7.1/overlapping-subscriptions-max-qos': 'qos-downgrade',
};
