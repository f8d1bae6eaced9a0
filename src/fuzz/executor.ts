/**
 * Runs one fuzz case against a target with the raw client and applies the per-case oracles: close after a
 * violation (sentinel PINGREQ: a PINGRESP means the broker read on), strict decoding of everything the
 * broker sends, liveness while a stuck connection is held open, and no delivery outside the subscriptions.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { type ClientEvent, ConnectError, RawClient } from '../client/index.js';
import {
  type ConnackPacket,
  encode,
  type Packet,
  type ProtocolVersion,
  topicMatches,
} from '../codec/index.js';
import type { Target } from '../scenario/context.js';
import { findStatement } from '../scenario/statements/index.js';
import { plainConnect } from './families.js';
import { CLIENT_ID_TOKEN, type FindingKind, type FuzzCase, PREFIX_TOKEN } from './model.js';
import { activeFilters, closeStatement, type Expectation, expectationOf } from './oracle.js';

export const SENTINEL = Buffer.from([0xc0, 0x00]);

/** Where the fuzzer connects: host and port, with the transport of a run (TLS options, WebSocket path). */
export type TargetAddress = Pick<Target, 'host' | 'port' | 'tls' | 'websocket'>;

export interface ExecOptions {
  /** Bound for a connection's answer (PINGRESP or close) to its stream. */
  caseTimeoutMs: number;
  /** Bound for a fresh client's CONNACK, PINGRESP and loop-back PUBLISH. */
  livenessTimeoutMs: number;
  /** How long a connection whose stream ends inside a packet is watched before the liveness probe. */
  incompleteWaitMs: number;
}

export const DEFAULT_EXEC: ExecOptions = {
  caseTimeoutMs: 500,
  livenessTimeoutMs: 2000,
  incompleteWaitMs: 20,
};

/** A finding before deduplication and shrinking. */
export interface Draft {
  kind: FindingKind;
  statement?: string;
  description: string;
  packetType: string;
  field: string;
  /** Seen as a timeout (nothing happened in time) rather than an event: load can cause it. */
  timing?: boolean;
}

export interface CaseOutcome {
  drafts: Draft[];
  /** The streams written, one per connection (tokens replaced, sentinel included). */
  streams: Buffer[];
  /** The target refused the connection (or it timed out): it may have crashed. */
  unreachable?: string;
}

let tagCounter = 0;
const TAG_PREFIX = (process.pid % 1296).toString(36).padStart(2, '0');

/** A tag unique in this process, `len` characters of [0-9a-z]. */
export function uniqueTag(len: number): string {
  tagCounter++;
  return (TAG_PREFIX + tagCounter.toString(36).padStart(len - 2, '0')).slice(-len);
}

function replaceAll(buf: Buffer, token: string, value: string): Buffer {
  const t = Buffer.from(token);
  let at = buf.indexOf(t);
  if (at < 0) return buf;
  const out = Buffer.from(buf);
  const v = Buffer.from(value);
  while (at >= 0) {
    v.copy(out, at);
    at = out.indexOf(t, at + t.length);
  }
  return out;
}

/** The byte streams of a case's connections, placeholders replaced by values unique to this run. */
export function materialise(c: FuzzCase, used?: { prefix?: string }): Buffer[] {
  const prefix = `fz${uniqueTag(PREFIX_TOKEN.length - 2)}`;
  if (used) used.prefix = prefix;
  const ids: string[] = [];
  return c.connections.map((conn) => {
    const id =
      conn.clientIdOf !== undefined ? ids[conn.clientIdOf]! : `fz${uniqueTag(CLIENT_ID_TOKEN.length - 2)}`;
    ids.push(id);
    let bytes: Buffer = Buffer.concat([...conn.parts.map((p) => p.bytes), SENTINEL]);
    bytes = replaceAll(bytes, CLIENT_ID_TOKEN, id);
    bytes = replaceAll(bytes, PREFIX_TOKEN, prefix);
    return bytes;
  });
}

export type Liveness = { ok: true } | { ok: false; kind: 'crash' | 'hang'; detail: string };

/** A fresh client: CONNECT, SUBSCRIBE, PUBLISH to itself, PINGREQ; all answered within the bound. */
export async function probeLiveness(
  target: TargetAddress,
  timeoutMs: number,
  v: ProtocolVersion = 4,
): Promise<Liveness> {
  let client: RawClient;
  try {
    client = await RawClient.connect({
      ...target,
      protocolVersion: v,
      connectTimeoutMs: timeoutMs,
      maxTranscriptEntries: 20,
      name: 'probe',
    });
  } catch (err) {
    const code = err instanceof ConnectError ? err.code : 'ERROR';
    return { ok: false, kind: 'crash', detail: `a fresh client cannot connect (${code})` };
  }
  try {
    const id = `fz${uniqueTag(21)}`;
    const topic = `fz${uniqueTag(18)}/live`;
    const packets: Packet[] = [
      { ...plainConnect(v), clientId: id },
      { type: 'subscribe', packetId: 1, subscriptions: [{ topic, qos: 0 }] },
      { type: 'publish', topic, payload: Buffer.from('live'), qos: 0, retain: false, dup: false },
      { type: 'pingreq' },
    ];
    client.sendRaw(Buffer.concat(packets.map((p) => encode(p, { protocolVersion: v }))));
    const want = new Set(['connack', 'suback', 'publish', 'pingresp']);
    const deadline = performance.now() + timeoutMs;
    while (want.size > 0) {
      const ev = await client.next(Math.max(1, deadline - performance.now()));
      if (!ev) {
        return {
          ok: false,
          kind: 'hang',
          detail: `a fresh client got no ${[...want].map((w) => w.toUpperCase()).join(', ')} within ${timeoutMs} ms`,
        };
      }
      if (ev.kind === 'closed') {
        return {
          ok: false,
          kind: 'hang',
          detail: `a fresh client was closed (${ev.reason}) before its answers`,
        };
      }
      if (ev.kind === 'malformed') return { ok: true };
      if (ev.packet.type === 'connack' && ev.packet.reasonCode !== 0) return { ok: true };
      want.delete(ev.packet.type);
    }
    return { ok: true };
  } finally {
    await client.destroy();
  }
}

interface ConnState {
  client: RawClient;
  stream: Buffer;
  expectation: Expectation;
  connack?: ConnackPacket;
  pingresp: boolean;
  pingresps: number;
  closed: boolean;
  timedOut: boolean;
  publishes: string[];
}

function describeExpectation(e: Expectation): string {
  return e.kind === 'close' ? e.reason : e.kind;
}

/** The server-bound statement for a close finding: the expectation's own, else the close rule. */
function serverStatement(v: ProtocolVersion, id: string): string {
  const s = findStatement(v === 5 ? '5.0' : '3.1.1', id);
  return s && (s.binds === 'server' || s.binds === 'both') ? id : closeStatement(v);
}

/** Runs one case; never throws for anything the target does. */
export async function runFuzzCase(
  c: FuzzCase,
  target: TargetAddress,
  opts: ExecOptions = DEFAULT_EXEC,
  streams: Buffer[] = materialise(c),
  /** Sees every event of every connection (the differential mode summarises them). */
  observe?: (connection: number, ev: ClientEvent) => void,
): Promise<CaseOutcome> {
  const v = c.protocol;
  const drafts: Draft[] = [];
  const conns: ConnState[] = [];
  const add = (d: Omit<Draft, 'packetType' | 'field'> & Partial<Draft>): void => {
    drafts.push({ packetType: c.packetType, field: c.field, ...d });
  };
  try {
    for (let i = 0; i < streams.length; i++) {
      const stream = streams[i]!;
      let client: RawClient;
      try {
        client = await RawClient.connect({
          ...target,
          protocolVersion: v,
          connectTimeoutMs: opts.livenessTimeoutMs,
          maxTranscriptEntries: 40,
          name: `c${i}`,
        });
      } catch (err) {
        return {
          drafts,
          streams,
          unreachable: err instanceof ConnectError ? `${err.code}: ${err.message}` : String(err),
        };
      }
      const st: ConnState = {
        client,
        stream,
        expectation: expectationOf(stream, v),
        pingresp: false,
        pingresps: 0,
        closed: false,
        timedOut: false,
        publishes: [],
      };
      conns.push(st);
      const { chunkSize: chunk, pauseMs } = c.connections[i]!;
      if (chunk) {
        for (let at = 0; at < stream.length && !client.closed; at += chunk) {
          client.sendRaw(stream.subarray(at, at + chunk));
          if (pauseMs) await sleep(pauseMs);
          else await nextTurn();
        }
      } else client.sendRaw(stream);
      const wait = st.expectation.kind === 'incomplete' ? opts.incompleteWaitMs : opts.caseTimeoutMs;
      await drain(st, wait, i);
      if (!st.pingresp && !st.closed) {
        // Stuck: a broker that serves nobody while this connection holds its stream open is a hang.
        const live = await probeLiveness(target, opts.livenessTimeoutMs, v);
        if (!live.ok) {
          add({
            kind: live.kind,
            description: `${live.detail} while a connection held this stream open (${describeExpectation(st.expectation)})`,
          });
          return { drafts, streams };
        }
        if (st.expectation.kind !== 'incomplete') await drain(st, 0, i);
      }
      judge(st, i);
    }
    // Deliveries to the subscribers: a PINGREQ round trip on each so what the broker sent has arrived.
    const subscribers =
      conns.length > 1 ? conns.filter((s) => !s.closed && activeFilters(s.stream, v).length > 0) : [];
    if (subscribers.length > 0) {
      for (const s of subscribers) {
        s.pingresp = false;
        s.expectation = { ...s.expectation, pingsBefore: s.pingresps };
        s.client.sendRaw(SENTINEL);
      }
      await Promise.all(subscribers.map((s) => drain(s, opts.caseTimeoutMs, conns.indexOf(s))));
      for (const s of subscribers) {
        const filters = activeFilters(s.stream, v);
        for (const topic of s.publishes) {
          if (topic === '' || filters.some((f) => topicMatches(f, topic))) continue;
          add({
            kind: 'wrong-delivery',
            statement: 'MQTT-3.3.2-3',
            description: `PUBLISH to "${topic}" delivered to a client subscribed only to ${filters.map((f) => `"${f}"`).join(', ')}`,
          });
          break;
        }
      }
    }
    return { drafts, streams };
  } finally {
    await Promise.all(conns.map((s) => s.client.destroy()));
  }

  function judge(st: ConnState, i: number): void {
    const e = st.expectation;
    const where = streams.length > 1 ? ` (connection ${i + 1})` : '';
    if (e.kind === 'close') {
      if (
        e.unlessAliasMax !== undefined &&
        (st.connack?.properties?.topicAliasMaximum ?? 0) >= e.unlessAliasMax
      )
        return;
      if (st.connack && st.connack.reasonCode !== 0) return;
      if (st.pingresp || (!st.closed && st.timedOut)) {
        add({
          ...(st.pingresp ? {} : { timing: true }),
          kind: 'no-close',
          statement: serverStatement(v, e.statement),
          description: `${st.pingresp ? 'answered the sentinel PINGREQ' : `neither closed nor answered within ${opts.caseTimeoutMs} ms`} after ${e.reason}${where}`,
        });
      }
    } else if (e.kind === 'incomplete' && st.pingresp) {
      add({
        kind: 'no-close',
        statement: closeStatement(v),
        description: `answered the sentinel PINGREQ although the stream ends inside a packet${where}`,
      });
    } else if (e.kind === 'open' && !st.pingresp && !st.closed && st.connack?.reasonCode === 0) {
      add({
        timing: true,
        kind: 'hang',
        statement: 'MQTT-3.12.4-1',
        description: `no PINGRESP and no close within ${opts.caseTimeoutMs} ms after a valid stream${where}`,
      });
    }
  }

  /** Reads events until the sentinel is answered, the connection closes, or `waitMs` passes. */
  async function drain(st: ConnState, waitMs: number, index: number): Promise<void> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const left = deadline - performance.now();
      const ev = await st.client.next(Math.max(0, left));
      if (ev && observe) observe(index, ev);
      if (!ev) {
        st.timedOut = !st.client.closed;
        return;
      }
      if (ev.kind === 'closed') {
        st.closed = true;
        return;
      }
      if (ev.kind === 'malformed') {
        st.closed = true;
        // 3.1.1 CONNACK refusing a 5.0 CONNECT: allowed (5.0 section 3.1.2.2), not malformed.
        const legacy =
          v === 5 && ev.raw.length === 4 && ev.raw[0] === 0x20 && ev.raw[1] === 0x02 && ev.raw[3] === 0x01;
        if (!legacy) {
          add({
            kind: 'malformed-response',
            ...(ev.error.statement ? { statement: ev.error.statement } : {}),
            description: `the broker sent bytes the strict decoder rejects: ${ev.error.code}: ${ev.error.message} (${ev.raw.toString('hex').slice(0, 64)})`,
            packetType: ev.error.packetType ?? 'unknown',
            field: `response ${ev.error.code}`,
          });
        }
        return;
      }
      const p = ev.packet;
      if (p.type === 'connack' && !st.connack) st.connack = p;
      if (p.type === 'publish') st.publishes.push(p.topic);
      if (p.type === 'pingresp' && ++st.pingresps > st.expectation.pingsBefore) st.pingresp = true;
      if (st.pingresp) return;
    }
  }
}
