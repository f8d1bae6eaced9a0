import { performance } from 'node:perf_hooks';
import type { ConnectionOptions } from 'node:tls';
import { type ClientEvent, isConnectError, RawClient } from '../client/index.js';
import type { Packet, ProtocolVersion } from '../codec/index.js';
import { CaseSkipped, HarnessError } from './errors.js';
import type { ConnectSpec, ProtocolName, SourcePos } from './model.js';
import type { Templater } from './template.js';

export interface Target {
  host: string;
  port: number;
  tls?: boolean | ConnectionOptions;
  /** MQTT over WebSocket (ws://, wss:// with tls): the request path. */
  websocket?: { path: string };
  /**
   * A clustered broker: its other nodes (`--node host:port`), node 2 first; the target itself is node 1. A
   * connect step with `node: N` connects to node N, with the target's transport (TLS, WebSocket path).
   */
  nodes?: Array<{ host: string; port: number }>;
}

/** How many nodes a target has: 1, or 1 + its other nodes. */
export function nodeCount(target: Target): number {
  return 1 + (target.nodes?.length ?? 0);
}

/**
 * One named client of a case: the raw client plus a stash of events that convenience steps (publish,
 * subscribe, ...) passed over while waiting for their acknowledgement, so later `expect` steps still see
 * them in arrival order.
 */
export class CaseClient {
  private readonly stash: ClientEvent[] = [];
  private nextPacketId = 1;
  /** The CONNECT options last used, for `reconnect`. */
  connectSpec: ConnectSpec = {};
  /**
   * 5.0: what the accepting CONNACK announced (Maximum QoS, Retain Available, Topic Alias Maximum, wildcard /
   * subscription identifier / shared subscription availability); 3.1.1 brokers announce nothing.
   */
  serverLimits: {
    maximumQoS?: number;
    retainAvailable?: number;
    topicAliasMaximum?: number;
    wildcardSubscriptionAvailable?: number;
    subscriptionIdentifiersAvailable?: number;
    sharedSubscriptionAvailable?: number;
    receiveMaximum?: number;
    maximumPacketSize?: number;
  } = {};
  /** Keep-alive in force after the CONNACK (s): the CONNECT's, or the 5.0 Server Keep Alive. */
  keepAliveSec: number | undefined;

  constructor(
    readonly name: string,
    readonly raw: RawClient,
  ) {}

  /** Packet identifier of the last packet taken from the inbox that carried one (`packetId: last`). */
  lastPacketId: number | undefined;
  /**
   * Identifiers of the QoS 1/2 PUBLISH packets taken from the inbox whose flow this client has not completed
   * (no PUBACK, PUBCOMP or 5.0 failure PUBREC sent yet): the broker may not use them for another message
   * (`packetId: unused`).
   */
  readonly unackedIds = new Set<number>();
  /** Session Present of the last CONNACK taken. */
  sessionPresent = false;

  /** Next event: stashed ones first. */
  async take(timeoutMs: number): Promise<ClientEvent | undefined> {
    const e = this.stash.shift() ?? (await this.raw.next(Math.max(0, timeoutMs)));
    this.noteId(e);
    return e;
  }

  /** CONNACKs taken from this connection so far. */
  connacks = 0;
  /** An accepting CONNACK (code 0) has come on this connection. */
  accepted = false;

  private noteId(e: ClientEvent | undefined): void {
    if (e?.kind !== 'packet') return;
    if (e.packet.type === 'connack') {
      this.connacks++;
      if (e.packet.reasonCode === 0) this.accepted = true;
      this.sessionPresent = e.packet.sessionPresent;
    }
    if (e.packet.type === 'publish' && e.packet.qos > 0 && e.packet.packetId !== undefined)
      this.unackedIds.add(e.packet.packetId);
    const id = (e.packet as { packetId?: number }).packetId;
    if (id !== undefined) this.lastPacketId = id;
  }

  /** Notes an acknowledgement this client sent: a completed flow frees the broker's packet identifier. */
  noteSent(p: Packet): void {
    const rc = (p as { reasonCode?: number }).reasonCode ?? 0;
    if (p.type === 'puback' || p.type === 'pubcomp' || (p.type === 'pubrec' && rc >= 0x80))
      this.unackedIds.delete(p.packetId);
  }

  /** The next event without taking it (stashed ones first), waiting up to `timeoutMs`. */
  async peek(timeoutMs: number): Promise<ClientEvent | undefined> {
    if (this.stash.length > 0) return this.stash[0];
    const e = await this.raw.next(Math.max(0, timeoutMs));
    if (e) this.stash.unshift(e);
    return e;
  }

  /** Puts events back at the front, in order. */
  unshift(...events: ClientEvent[]): void {
    this.stash.unshift(...events);
  }

  /**
   * Waits for a packet accepted by `pred`, stashing other packets; a close or malformed input ends the wait
   * (and stays visible to later steps). Returns the matching packet or the event that ended the wait.
   */
  async waitFor(
    pred: (p: Packet) => boolean,
    timeoutMs: number,
  ): Promise<{ packet: Packet } | { event: ClientEvent } | { timeout: true }> {
    const deadline = performance.now() + timeoutMs;
    const passed: ClientEvent[] = [];
    try {
      // Look at stashed events first, without losing their order.
      for (let i = 0; i < this.stash.length; i++) {
        const e = this.stash[i]!;
        if (e.kind === 'packet' && pred(e.packet)) {
          this.stash.splice(i, 1);
          this.noteId(e);
          return { packet: e.packet };
        }
        if (e.kind !== 'packet') return { event: e };
      }
      for (;;) {
        const e = await this.raw.next(deadline - performance.now());
        if (!e) return { timeout: true };
        if (e.kind === 'packet' && pred(e.packet)) {
          this.noteId(e);
          return { packet: e.packet };
        }
        passed.push(e);
        if (e.kind !== 'packet') return { event: e };
      }
    } finally {
      this.stash.push(...passed);
    }
  }

  packetId(): number {
    const id = this.nextPacketId;
    this.nextPacketId = (this.nextPacketId % 65535) + 1;
    return id;
  }
}

export interface CaseRuntimeOptions {
  target: Target;
  protocol: ProtocolName;
  stepTimeoutMs: number;
  templater: Templater;
  signal: AbortSignal;
  username?: string;
  password?: string;
  /** The second identity (`identity: second`), when the run has one. */
  username2?: string;
  password2?: string;
  /** Shared clock for all of the case's transcripts. */
  epoch: number;
  /** The target's round trip measured before the run (ms); quiet windows derive from it. */
  roundTripMs?: number;
}

/** Quiet windows ("nothing arrives") last this many measured round trips, and at least QUIET_FLOOR_MS. */
export const QUIET_ROUND_TRIPS = 20;
export const QUIET_FLOOR_MS = 150;
/** Slack on a broker's deadlines: this many measured round trips, at least TIMING_SLACK_FLOOR_MS. */
export const TIMING_SLACK_ROUND_TRIPS = 10;
export const TIMING_SLACK_FLOOR_MS = 250;

/** What steps see while a case runs. */
export class CaseContext {
  readonly clients = new Map<string, CaseClient>();
  /** Every raw client ever opened, for the wire log and cleanup (reconnect replaces the named one). */
  readonly allClients: RawClient[] = [];
  readonly version: ProtocolVersion;

  constructor(readonly opts: CaseRuntimeOptions) {
    this.version = opts.protocol === '5.0' ? 5 : 4;
  }

  get protocol(): ProtocolName {
    return this.opts.protocol;
  }

  get stepTimeoutMs(): number {
    return this.opts.stepTimeoutMs;
  }

  /** The slowest round trip seen in this case (CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH/PUBACK...), ms. */
  private slowestRoundTripMs = 0;

  /** Records the time an acknowledgement took, so quiet windows grow on a slow or loaded target. */
  observeRoundTrip(ms: number): void {
    if (ms > this.slowestRoundTripMs) this.slowestRoundTripMs = ms;
  }

  /**
   * A quiet window: as written, or for 'auto' QUIET_ROUND_TRIPS times the slowest round trip known (the
   * run's measurement or this case's own), at least QUIET_FLOOR_MS and at most the step timeout. A message
   * the broker should not send comes within a few round trips, so a fast broker is not waited for and a slow
   * one still gets the time it needs.
   */
  /** Slack allowed on a deadline the broker must meet (keep-alive): timer jitter plus a few round trips. */
  timingSlackMs(): number {
    const rtt = Math.max(this.opts.roundTripMs ?? 0, this.slowestRoundTripMs);
    return Math.round(Math.max(TIMING_SLACK_FLOOR_MS, TIMING_SLACK_ROUND_TRIPS * rtt));
  }

  quietWindowMs(ms: number | 'auto'): number {
    if (ms !== 'auto') return ms;
    const rtt = Math.max(this.opts.roundTripMs ?? 0, this.slowestRoundTripMs);
    return Math.round(Math.min(this.stepTimeoutMs, Math.max(QUIET_FLOOR_MS, QUIET_ROUND_TRIPS * rtt)));
  }

  render<T>(v: T): T {
    return this.opts.templater.value(v);
  }

  client(name: string, pos: SourcePos): CaseClient {
    const c = this.clients.get(name);
    if (!c) {
      throw new HarnessError(
        'BAD_STEP',
        `${pos.file}:${pos.line}:${pos.col}: no client "${name}" is connected yet (add a connect step)`,
      );
    }
    return c;
  }

  /**
   * Opens a TCP/TLS connection for client `name` to node `node` of the target (1: the target itself; a
   * cluster's other nodes follow); refused connections are harness errors.
   */
  async open(name: string, node = 1): Promise<CaseClient> {
    if (this.opts.signal.aborted) throw new HarnessError('INTERRUPTED', 'run interrupted');
    const count = nodeCount(this.opts.target);
    if (node > count)
      this.skip(`the case needs node ${node} of a cluster; the target has ${count} (--node host:port)`);
    const at = node === 1 ? this.opts.target : this.opts.target.nodes![node - 2]!;
    let raw: RawClient;
    try {
      // The run's signal aborts a connect (or TLS handshake) that hangs at once and destroys its socket.
      raw = await RawClient.connect({
        host: at.host,
        port: at.port,
        ...(this.opts.target.tls ? { tls: this.opts.target.tls } : {}),
        ...(this.opts.target.websocket ? { websocket: this.opts.target.websocket } : {}),
        protocolVersion: this.version,
        name,
        epoch: this.opts.epoch,
        connectTimeoutMs: this.opts.stepTimeoutMs,
        // Generous for conformance, small enough that a 256 MB announcement cannot blow up memory.
        maxPacketSize: 1024 * 1024,
        signal: this.opts.signal,
      });
    } catch (err) {
      if (isConnectError(err)) {
        if (err.code === 'ABORTED') throw new HarnessError('INTERRUPTED', 'interrupted while connecting');
        throw new HarnessError('TARGET_UNREACHABLE', err.message);
      }
      throw err;
    }
    this.allClients.push(raw);
    const c = new CaseClient(name, raw);
    this.clients.set(name, c);
    return c;
  }

  skip(reason: string): never {
    throw new CaseSkipped(reason);
  }

  /** Closes every connection, abruptly: a case never waits on a broker to finish. */
  async closeAll(): Promise<void> {
    await Promise.all(this.allClients.map((c) => c.destroy().catch(() => undefined)));
  }
}
