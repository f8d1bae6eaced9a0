import type { QoS, Will } from '../src/codec/index.js';
import type { Broker } from './broker.js';
import type { Connection } from './connection.js';
import type { Message } from './message.js';

/** Bytes buffered for a socket beyond which QoS 0 copies are dropped. */
const WRITE_BUFFER_LIMIT = 8 * 1024 * 1024;

/** One subscription of one session. */
export interface SubEntry {
  readonly session: Session;
  /** The filter as subscribed, including any `$share/{group}/` prefix (the key for UNSUBSCRIBE). */
  readonly filter: string;
  /** The part matched against topics. */
  readonly topicFilter: string;
  readonly group: string | undefined;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId: number | undefined;
}

/** A message on its way to one session. */
export interface Outgoing {
  readonly msg: Message;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subIds: number[] | undefined;
  packetId: number;
  /** PUBREC received, PUBREL sent, awaiting PUBCOMP. */
  released: boolean;
  /** In flight from an earlier connection and not yet resent on the current one. */
  pendingResend: boolean;
}

/** Session state (section 4.1): survives connections while its expiry allows [MQTT-4.1.0-1] [MQTT-4.1.0-2]. */
export class Session {
  readonly subscriptions = new Map<string, SubEntry>();
  /** Outgoing QoS 1/2 messages sent and not yet completed, in send order. */
  readonly inflight = new Map<number, Outgoing>();
  /** QoS 1/2 messages waiting for room in the in-flight window or for the client to reconnect. */
  queue: Outgoing[] = [];
  private queueHead = 0;
  /** In-flight messages to resend after a reconnect, in order, as the Receive Maximum allows. */
  private resend: Outgoing[] = [];
  private resendHead = 0;
  /** How many in-flight entries are still waiting to be resent (they do not count against the quota). */
  private resendCount = 0;
  /** Incoming QoS 2 packet ids for which PUBREC was sent and PUBREL not yet received. */
  readonly inboundQos2 = new Set<number>();
  conn: Connection | null = null;
  /** Seconds; 0xFFFFFFFF (or Infinity for 3.1.1 persistent sessions) never expires. */
  expiryInterval = 0;
  expiryTimer: NodeJS.Timeout | undefined;
  pendingWill: Will | undefined;
  pendingWillVersion = 4;
  willTimer: NodeJS.Timeout | undefined;
  username: string | undefined;
  protocolVersion = 4;
  ended = false;
  private nextId = 0;

  // Scratch fields used while routing one message (avoids a Map per publish).
  matchEpoch = 0;
  matchQos: QoS = 0;
  matchRap = false;
  matchSubIds: number[] | undefined;

  constructor(
    readonly clientId: string,
    private readonly broker: Broker,
  ) {}

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  private allocId(): number {
    // A packet id not in use by another in-flight message [MQTT-2.3.1-4] [MQTT-2.2.1-4].
    do {
      this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
    } while (this.inflight.has(this.nextId));
    return this.nextId;
  }

  /** Routes one copy of a message to this session at the QoS already reduced to min(published, granted). */
  deliver(msg: Message, qos: QoS, retain: boolean, subIds: number[] | undefined): void {
    const conn = this.conn;
    if (qos === 0) {
      // QoS 0 is never queued for an offline client (allowed: 3.1.1 [MQTT-3.1.2-5] covers QoS 1 and 2).
      // A client that stops reading loses QoS 0 messages instead of growing the broker's memory.
      if (conn?.ready && conn.socket.writableLength < WRITE_BUFFER_LIMIT)
        conn.sendPublish(msg, 0, retain, 0, false, subIds);
      return;
    }
    const out: Outgoing = { msg, qos, retain, subIds, packetId: 0, released: false, pendingResend: false };
    // Never more unacknowledged QoS 1/2 than the client's Receive Maximum (5.0 [MQTT-3.3.4-9] [MQTT-4.9.0-1]
    // [MQTT-4.9.0-2]); QoS 0 and other packets keep flowing [MQTT-4.9.0-3] [MQTT-3.3.4-10].
    if (conn?.ready && this.queued === 0 && this.resendCount === 0 && this.inflight.size < conn.sendQuota) {
      this.transmit(conn, out);
      return;
    }
    // Offline or window full: queue QoS 1/2 in order (3.1.1 [MQTT-3.1.2-5]) [MQTT-4.5.0-1] [MQTT-4.6.0-5]
    // [MQTT-4.6.0-6].
    if (this.queued >= this.broker.limits.maxQueuedMessages) {
      this.broker.log.warn(`queue full for ${this.clientId}, dropping message on ${msg.topic}`);
      return;
    }
    this.queue.push(out);
  }

  /**
   * Sends a QoS 1/2 copy with a fresh packet id and keeps it until PUBACK / PUBREC (5.0 [MQTT-4.3.2-1]
   * [MQTT-4.3.2-2] [MQTT-4.3.2-3] [MQTT-4.3.3-1] [MQTT-4.3.3-2] [MQTT-4.3.3-3]).
   */
  private transmit(conn: Connection, out: Outgoing): void {
    out.packetId = this.allocId();
    this.inflight.set(out.packetId, out);
    if (!conn.sendPublish(out.msg, out.qos, out.retain, out.packetId, false, out.subIds)) {
      // Too large for the client: behave as if delivery completed [MQTT-3.1.2-25].
      this.inflight.delete(out.packetId);
    }
  }

  /** Sends queued messages while the in-flight window has room; expired ones are dropped [MQTT-3.3.2-5]. */
  drain(): void {
    const conn = this.conn;
    if (conn === null || !conn.ready) return;
    // Earlier connections' unacknowledged messages go first, within the quota.
    while (this.resendHead < this.resend.length && this.inflight.size - this.resendCount < conn.sendQuota) {
      const out = this.resend[this.resendHead++]!;
      if (!out.pendingResend) continue;
      out.pendingResend = false;
      this.resendCount--;
      if (out.released) {
        conn.sendAck('pubrel', out.packetId, 0);
      } else if (!conn.sendPublish(out.msg, out.qos, out.retain, out.packetId, true, out.subIds)) {
        this.inflight.delete(out.packetId);
      }
    }
    if (this.resendHead < this.resend.length) return;
    this.resend = [];
    this.resendHead = 0;
    const now = Date.now();
    while (this.queueHead < this.queue.length && this.inflight.size < conn.sendQuota) {
      const out = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as unknown as Outgoing;
      if (out.msg.expiresAt !== undefined && now >= out.msg.expiresAt) continue;
      this.transmit(conn, out);
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /**
   * On reconnect with a kept session: resend unacknowledged PUBLISH with DUP=1 and PUBREL for those already
   * released, in the original order [MQTT-4.4.0-1] [MQTT-3.3.1-1] and within the new Receive Maximum, then
   * continue with the queue. Messages once
   * sent are completed whatever their expiry (5.0 [MQTT-4.3.3-7] [MQTT-4.3.3-13]); a shared subscription's QoS 2
   * message is completed with the same member and no other [MQTT-4.8.2-4] [MQTT-4.8.2-5].
   */
  resume(): void {
    this.resend = [...this.inflight.values()];
    this.resendHead = 0;
    for (const out of this.resend) out.pendingResend = true;
    this.resendCount = this.resend.length;
    this.drain();
  }

  /** An in-flight entry leaves the session (acknowledged or failed). */
  private complete(out: Outgoing): void {
    this.inflight.delete(out.packetId);
    if (out.pendingResend) {
      out.pendingResend = false;
      this.resendCount--;
    }
    this.drain();
  }

  /** PUBACK from the client ends a QoS 1 delivery (3.1.1 [MQTT-4.3.2-1]; 5.0 [MQTT-4.3.2-3]). */
  onPuback(packetId: number): void {
    const out = this.inflight.get(packetId);
    if (out === undefined || out.qos !== 1) return;
    this.complete(out);
  }

  /** PUBREC from the client: answer PUBREL (3.1.1 [MQTT-4.3.3-1]; 5.0 [MQTT-4.3.3-4]); a 5.0 failure code ends the flow. */
  onPubrec(packetId: number, reasonCode: number): void {
    const conn = this.conn;
    const out = this.inflight.get(packetId);
    if (out === undefined || out.qos !== 2) {
      // 5.0: unknown id gets PUBREL 0x92; 3.1.1 has no code, a PUBREL lets the client finish.
      if (conn !== null) conn.sendAck('pubrel', packetId, 0x92);
      return;
    }
    if (reasonCode >= 0x80) {
      // Failure: discard, no retransmission, no other subscriber (5.0 [MQTT-4.4.0-2] [MQTT-4.8.2-6]).
      this.complete(out);
      return;
    }
    // PUBREL after PUBREC, kept until PUBCOMP; the PUBLISH is never resent after this (5.0 [MQTT-4.3.3-4]
    // [MQTT-4.3.3-5] [MQTT-4.3.3-6]).
    out.released = true;
    if (out.pendingResend) {
      // Acknowledged before we resent it: the PUBREL below is its resend.
      out.pendingResend = false;
      this.resendCount--;
    }
    conn?.sendAck('pubrel', packetId, 0);
  }

  /** PUBCOMP from the client completes a QoS 2 delivery. */
  onPubcomp(packetId: number): void {
    const out = this.inflight.get(packetId);
    if (out === undefined || !out.released) return;
    this.complete(out);
  }

  clearTimers(): void {
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    if (this.willTimer !== undefined) clearTimeout(this.willTimer);
    this.expiryTimer = undefined;
    this.willTimer = undefined;
  }
}
