import { randomBytes } from 'node:crypto';
import type { Server } from 'node:net';
import type { QoS, Will } from '../src/codec/index.js';
import { ReasonCode } from '../src/codec/index.js';
import { Acl } from './acl.js';
import {
  type AuthenticationConfig,
  type BrokerConfig,
  DEFAULT_AUTHENTICATION,
  type ResolvedLimits,
  resolveLimits,
} from './config.js';
import { Connection, type Transport } from './connection.js';
import type { Logger } from './logger.js';
import { type Message, messageFromWill, retainedCopy } from './message.js';
import { RetainedStore } from './retained-store.js';
import type { Session, SubEntry } from './session.js';
import { TopicTree } from './topic-tree.js';

/** setTimeout's ceiling; longer expiries are simply never timed out. */
const MAX_TIMER_MS = 2_147_483_647;

/** Broker state shared by all connections: sessions, subscriptions, retained messages. */
export class Broker {
  readonly limits: ResolvedLimits;
  readonly acl: Acl;
  readonly sessions = new Map<string, Session>();
  readonly connections = new Set<Connection>();
  readonly tree = new TopicTree();
  readonly retained: RetainedStore;
  readonly servers: Server[] = [];
  closing = false;
  /** Exceptions caught at the connection boundary (a non-zero value is a broker bug). */
  internalErrors = 0;
  private epoch = 0;
  private readonly targets: Session[] = [];
  private readonly sharedTargets: SubEntry[] = [];
  private routing: { msg: Message; epoch: number } = { msg: undefined as unknown as Message, epoch: 0 };

  /** The enhanced authentication method spoken (5.0 section 4.12), if any. */
  readonly authentication: AuthenticationConfig | undefined;

  constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
  ) {
    this.limits = resolveLimits(config);
    this.authentication =
      config.authentication === false ? undefined : (config.authentication ?? DEFAULT_AUTHENTICATION);
    this.acl = new Acl(config.acl);
    this.retained = new RetainedStore(this.limits.maxRetainedMessages);
  }

  /** Registers a listening server so close() stops it. */
  addServer(server: Server): void {
    this.servers.push(server);
  }

  accept(socket: Transport): void {
    if (this.closing || this.connections.size >= this.limits.maxConnections) {
      this.log.warn(
        `connection limit ${this.limits.maxConnections} reached, refusing ${socket.remoteAddress}`,
      );
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, this);
    this.connections.add(conn);
    this.log.debug(`conn ${conn.id} accepted from ${socket.remoteAddress}:${socket.remotePort}`);
  }

  assignClientId(): string {
    // Unique server-assigned identifier [MQTT-3.1.3-6].
    let id: string;
    do id = `mqtt-conform-${randomBytes(8).toString('hex')}`;
    while (this.sessions.has(id));
    return id;
  }

  private readonly visit = (e: SubEntry): void => {
    const msg = this.routing.msg;
    const s = e.session;
    // No Local: not back to the publishing client (5.0 [MQTT-3.8.3-3]).
    if (e.noLocal && s.clientId === msg.origin) return;
    if (e.group !== undefined) {
      // A shared subscription's copy is its own, with only its own identifier (5.0 [MQTT-3.3.4-5]), never merged
      // with the member's other subscriptions.
      if (this.acl.enabled && !this.acl.canReceive({ clientId: s.clientId, username: s.username }, msg.topic))
        return;
      this.sharedTargets.push(e);
      return;
    }
    if (s.matchEpoch !== this.routing.epoch) {
      if (this.acl.enabled && !this.acl.canReceive({ clientId: s.clientId, username: s.username }, msg.topic))
        return;
      s.matchEpoch = this.routing.epoch;
      s.matchQos = e.qos;
      s.matchRap = e.retainAsPublished;
      s.matchSubIds = e.subscriptionId === undefined ? undefined : [e.subscriptionId];
      this.targets.push(s);
      return;
    }
    // Overlapping subscriptions of one session: one copy at the highest granted QoS (3.1.1 [MQTT-3.3.5-1]; 5.0
    // [MQTT-3.3.4-2]), carrying every subscription identifier (5.0 [MQTT-3.3.4-4]).
    if (e.qos > s.matchQos) s.matchQos = e.qos;
    if (e.retainAsPublished) s.matchRap = true;
    if (e.subscriptionId !== undefined) {
      if (s.matchSubIds === undefined) s.matchSubIds = [e.subscriptionId];
      else s.matchSubIds.push(e.subscriptionId);
    }
  };

  /**
   * Routes an application message to every matching session [MQTT-4.5.0-1] (a shared group's chosen member at its
   * granted QoS, 5.0 [MQTT-4.8.2-3]) and updates the retained store. Every topic is an ordered topic [MQTT-4.6.0-5].
   */
  publish(msg: Message): void {
    if (msg.retain && !this.retained.set(msg.payload.length === 0 ? msg : retainedCopy(msg))) {
      this.log.warn(`retained store full (${this.limits.maxRetainedMessages}), not retaining ${msg.topic}`);
    }
    const epoch = ++this.epoch;
    this.routing.msg = msg;
    this.routing.epoch = epoch;
    const targets = this.targets;
    targets.length = 0;
    const shared = this.sharedTargets;
    shared.length = 0;
    this.tree.match(msg.topic, this.visit);
    for (let i = 0; i < targets.length; i++) {
      const s = targets[i]!;
      // Delivered at min(published QoS, granted QoS) (3.1.1 [MQTT-3.8.4-6]; 5.0 [MQTT-3.8.4-8]).
      const qos = Math.min(msg.qos, s.matchQos) as QoS;
      // RETAIN is 0 for live forwarding (3.1.1 [MQTT-3.3.1-9]) unless Retain As Published (5.0 [MQTT-3.3.1-12]
      // [MQTT-3.3.1-13]).
      s.deliver(msg, qos, s.matchRap ? msg.retain : false, s.matchSubIds);
    }
    targets.length = 0;
    for (let i = 0; i < shared.length; i++) {
      const e = shared[i]!;
      e.session.deliver(
        msg,
        Math.min(msg.qos, e.qos) as QoS,
        e.retainAsPublished ? msg.retain : false,
        e.subscriptionId === undefined ? undefined : [e.subscriptionId],
      );
    }
    shared.length = 0;
  }

  /** Sends the retained messages matching a new subscription, with RETAIN=1 (3.1.1 [MQTT-3.3.1-6] [MQTT-3.3.1-8]). */
  sendRetained(entry: SubEntry): void {
    const now = Date.now();
    for (const m of this.retained.match(entry.topicFilter, now)) {
      if (
        this.acl.enabled &&
        !this.acl.canReceive({ clientId: entry.session.clientId, username: entry.session.username }, m.topic)
      ) {
        continue;
      }
      const qos = Math.min(m.qos, entry.qos) as QoS;
      entry.session.deliver(
        m,
        qos,
        true,
        entry.subscriptionId === undefined ? undefined : [entry.subscriptionId],
      );
    }
  }

  publishWill(session: Session, will: Will): void {
    if (this.closing) return;
    if (
      this.acl.enabled &&
      !this.acl.canPublish({ clientId: session.clientId, username: session.username }, will.topic)
    ) {
      this.log.info(`will of ${session.clientId} on ${will.topic} not authorised, dropped`);
      return;
    }
    this.log.debug(`publishing will of ${session.clientId} on ${will.topic}`);
    try {
      // Will published with its QoS and RETAIN (3.1.1 [MQTT-3.1.2-8] [MQTT-3.1.2-16] [MQTT-3.1.2-17]; 5.0
      // [MQTT-3.1.2-14] [MQTT-3.1.2-15]).
      this.publish(messageFromWill(will, session.clientId, Date.now()));
    } catch (err) {
      this.internalErrors++;
      this.log.error(`internal error publishing will of ${session.clientId}: ${(err as Error).stack}`);
    }
  }

  /** Called once per connection when it goes away (any reason). */
  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    const s = conn.session;
    conn.session = null;
    if (s === null || s.conn !== conn) return;
    s.conn = null;
    const will = conn.willOnClose ? conn.will : undefined;
    conn.will = undefined;
    this.log.info(`${conn.label} disconnected${will ? ' (will pending)' : ''}`);
    if (this.closing) return;
    if (will !== undefined) {
      const delay = conn.version === 5 ? (will.properties?.willDelayInterval ?? 0) : 0;
      if (delay === 0 || s.expiryInterval === 0) {
        this.publishWill(s, will);
      } else {
        // 5.0 Will Delay: published after min(delay, session expiry) unless the session resumes first
        // (5.0 [MQTT-3.1.2-8] [MQTT-3.1.3-9]).
        s.pendingWill = will;
        const ms = Math.min(delay, s.expiryInterval) * 1000;
        if (ms <= MAX_TIMER_MS) {
          s.willTimer = setTimeout(() => {
            s.willTimer = undefined;
            const w = s.pendingWill;
            s.pendingWill = undefined;
            if (w !== undefined) this.publishWill(s, w);
          }, ms);
        }
      }
    }
    if (s.expiryInterval === 0) {
      this.endSession(s);
      return;
    }
    // A non-zero expiry keeps the session after the connection closes (5.0 [MQTT-3.1.2-23]).
    const ms = s.expiryInterval * 1000;
    if (ms <= MAX_TIMER_MS) {
      s.expiryTimer = setTimeout(() => {
        s.expiryTimer = undefined;
        // Session expired: discard its state (5.0 [MQTT-4.1.0-2]).
        this.log.debug(`session ${s.clientId} expired`);
        this.endSession(s);
      }, ms);
    }
  }

  /** Ends a session: subscriptions removed, state dropped, a delayed will published now. */
  endSession(s: Session): void {
    if (s.ended) return;
    s.ended = true;
    s.clearTimers();
    if (this.sessions.get(s.clientId) === s) this.sessions.delete(s.clientId);
    for (const e of s.subscriptions.values()) this.tree.remove(e);
    s.subscriptions.clear();
    s.inflight.clear();
    s.queue = [];
    const w = s.pendingWill;
    s.pendingWill = undefined;
    if (w !== undefined) this.publishWill(s, w);
  }

  async close(): Promise<void> {
    this.closing = true;
    const closed = this.servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve())));
    for (const conn of [...this.connections]) {
      if (conn.version === 5 && conn.ready)
        conn.violation(ReasonCode.ServerShuttingDown, 'server shutting down');
      conn.socket.destroy();
      conn.cleanup();
    }
    for (const s of this.sessions.values()) s.clearTimers();
    await Promise.all(closed);
  }
}
