import type { Duplex } from 'node:stream';
import {
  type ConnectPacket,
  type DecodeError,
  type DecodeErrorCode,
  decodeFrame,
  encode,
  type FramerEvent,
  type Packet,
  PacketFramer,
  type Properties,
  type QoS,
  ReasonCode,
  type Will,
} from '../src/codec/index.js';
import type { Broker } from './broker.js';
import { dispatch } from './handlers/index.js';
import type { Message } from './message.js';
import type { Session } from './session.js';

const ACK_TYPE = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;
const PINGRESP = Buffer.from([0xd0, 0x00]);

/** A byte stream to a client: a TCP or TLS socket, or the stream inside a WebSocket. */
export type Transport = Duplex & {
  setNoDelay?(noDelay?: boolean): unknown;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
};

/** 5.0 reason code for a decode error after CONNACK (section 4.13; duplicates and bad values are Protocol Errors). */
export function reasonForDecodeError(
  code: DecodeErrorCode | 'PACKET_TOO_LARGE',
  message = '',
  packetType?: string,
): number {
  switch (code) {
    case 'EMPTY_TOPIC':
      // An empty topic name without a Topic Alias is a Protocol Error (section 3.3.2.3.4).
      return packetType === 'publish' ? ReasonCode.ProtocolError : ReasonCode.MalformedPacket;
    case 'INVALID_PROPERTY_VALUE':
      // Topic Alias 0 is "Topic Alias invalid" (section 3.3.2.3.4) [MQTT-3.3.2-8].
      return message.includes('topicAlias') ? ReasonCode.TopicAliasInvalid : ReasonCode.ProtocolError;
    case 'PACKET_TOO_LARGE':
      return ReasonCode.PacketTooLarge;
    case 'INVALID_SUBSCRIPTION_OPTIONS':
      // Retain Handling 3 is a Protocol Error; reserved bits and QoS 3 are malformed (section 3.8.3.1).
      return message.includes('retain handling') ? ReasonCode.ProtocolError : ReasonCode.MalformedPacket;
    // Repeated properties, an empty SUBSCRIBE/UNSUBSCRIBE and packet id 0 are Protocol Errors; an unknown or
    // misplaced property identifier is a Malformed Packet (section 2.2.2.2), handled by the default.
    case 'DUPLICATE_PROPERTY':
    case 'EMPTY_SUBSCRIBE':
    case 'EMPTY_UNSUBSCRIBE':
    case 'PACKET_ID_ZERO':
      return ReasonCode.ProtocolError;
    default:
      return ReasonCode.MalformedPacket;
  }
}

/** Protocol level of a CONNECT frame, read directly from its bytes (for refusing a CONNECT that failed to decode). */
function connectLevel(frame: Buffer): number | undefined {
  let pos = 1;
  while (pos < frame.length && pos < 5 && (frame[pos]! & 0x80) !== 0) pos++;
  pos++;
  if (pos + 2 > frame.length) return undefined;
  const nameLen = frame.readUInt16BE(pos);
  return frame[pos + 2 + nameLen];
}

function uncork(conn: Connection): void {
  conn.corked = false;
  conn.socket.uncork();
}

let connSeq = 0;

/** One network connection: framing, decoding, state, keep-alive and the write path. */
export class Connection {
  readonly id = ++connSeq;
  state: 'awaiting-connect' | 'connected' | 'closed' = 'awaiting-connect';
  version: 4 | 5 = 4;
  session: Session | null = null;
  clientId = '';
  username: string | undefined;
  will: Will | undefined;
  /** Will is kept (5.0 DISCONNECT 0x04) or withdrawn (normal DISCONNECT) when the client disconnects. */
  willOnClose = true;
  /** Session expiry given in CONNECT (5.0), for the DISCONNECT rule of section 3.14.2.2.2. */
  connectSessionExpiry = 0;
  corked = false;
  /** Client's Receive Maximum (5.0) capped by the broker's in-flight limit. */
  sendQuota: number;
  clientMaxPacketSize = Number.POSITIVE_INFINITY;
  clientTopicAliasMax = 0;
  /** Topic Alias Maximum announced to this (5.0) client; 0 when none was, so it may use none. */
  topicAliasMaximum = 0;
  readonly inAliases = new Map<number, string>();
  readonly outAliases = new Map<string, number>();
  /**
   * Incoming QoS 2 packet ids received on this connection and not yet released: the ones counted against our
   * Receive Maximum, since the client's send quota starts afresh with each connection (5.0 section 4.9).
   */
  readonly inboundQos2 = new Set<number>();
  requestProblemInfo = true;
  /** 5.0 enhanced authentication: the CONNECT waiting for the answer to the challenge. */
  authPending: ConnectPacket | undefined;
  /** The authentication method this connection authenticated with (5.0), for CONNACK and re-authentication. */
  authMethod: string | undefined;
  /** A re-authentication challenge was sent and awaits the client's answer. */
  reauthPending = false;
  keepAliveMs = 0;
  lastSeen = Date.now();
  private kaTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private readonly framer: PacketFramer;
  private cleaned = false;

  constructor(
    readonly socket: Transport,
    readonly broker: Broker,
  ) {
    this.framer = new PacketFramer(broker.limits.maxPacketSize);
    this.sendQuota = broker.limits.maxInflight;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => broker.log.debug(`conn ${this.id} socket error: ${err.message}`));
    socket.on('close', () => this.cleanup());
    // Sockets that never send CONNECT are closed after a while.
    this.connectTimer = setTimeout(() => {
      broker.log.info(`conn ${this.id} no CONNECT within ${broker.limits.connectTimeoutMs} ms, closing`);
      this.close();
    }, broker.limits.connectTimeoutMs);
  }

  /** A getter, so checks after a handler ran are not narrowed away by the compiler. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  get ready(): boolean {
    return this.state === 'connected';
  }

  get label(): string {
    return this.clientId === '' ? `conn ${this.id}` : `conn ${this.id} (${this.clientId})`;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    // The codec's framer checks the size from the fixed header alone, so an announced 256 MB packet is refused
    // before any of it is buffered; each frame is decoded with the protocol version in force when it is
    // reached (a client may send CONNECT and the next packets in one write).
    for (const ev of this.framer.push(chunk)) {
      if (this.closed) return;
      if (ev.kind === 'error') {
        this.broker.log.info(`${this.label} framing error ${ev.error.code}`);
        // Before CONNECT the buffered bytes start with the CONNECT itself, so its level can still be read.
        this.onBadPacket(
          ev.error.code,
          reasonForDecodeError(ev.error.code),
          this.state === 'awaiting-connect' ? ev.raw : undefined,
        );
        return;
      }
      if (!this.onFrame(ev)) return;
    }
  }

  private onFrame(ev: Extract<FramerEvent, { kind: 'frame' }>): boolean {
    if (this.state === 'closed') return false;
    const frame = ev.raw;
    // While a CONNECT awaits the answer to an authentication challenge, AUTH may come (5.0 section 4.12).
    const authAnswer = ev.header >> 4 === 15 && this.authPending !== undefined;
    if (this.state === 'awaiting-connect' && ev.header >> 4 !== 1 && !authAnswer) {
      // The first packet must be CONNECT; anything else is a protocol violation (3.1.1 [MQTT-3.1.0-1] [MQTT-4.8.0-1]).
      this.broker.log.info(`${this.label} first packet is not CONNECT, closing`);
      this.close();
      return false;
    }
    const res = decodeFrame(ev.header, ev.body, { protocolVersion: this.version }, ev.bodyOffset);
    if (!res.ok) {
      this.onDecodeError(res.error, frame);
      return false;
    }
    this.lastSeen = Date.now();
    try {
      dispatch(this, res.packet);
    } catch (err) {
      // A bug must cost one connection, never the broker; the connection is closed [MQTT-4.8.0-2] (3.1.1).
      this.broker.internalErrors++;
      this.broker.log.error(
        `${this.label} internal error handling ${res.packet.type}: ${(err as Error).stack}`,
      );
      this.violation(ReasonCode.ImplementationSpecificError, 'internal error');
    }
    return !this.closed;
  }

  private onDecodeError(error: DecodeError, frame: Buffer): void {
    this.broker.log.info(
      `${this.label} malformed ${error.packetType ?? 'packet'}: ${error.code} ${error.statement ?? ''} ${error.message}`,
    );
    this.onBadPacket(error.code, reasonForDecodeError(error.code, error.message, error.packetType), frame);
  }

  private onBadPacket(code: string, reason: number, frame: Buffer | undefined): void {
    if (this.state === 'awaiting-connect') {
      if (frame !== undefined && frame[0]! >> 4 === 1) {
        const level = connectLevel(frame);
        if (code === 'UNSUPPORTED_PROTOCOL_VERSION') {
          // Unsupported level: CONNACK 0x01 (3.1.1 form, the one every level understands), then close
          // [MQTT-3.1.2-2].
          this.writeRaw(Buffer.from([0x20, 0x02, 0x00, 0x01]));
        } else if (code !== 'INVALID_PROTOCOL_NAME' && level === 5) {
          // 5.0: a CONNACK with the reason code may precede the close [MQTT-4.13.1-1].
          this.writeRaw(
            encode(
              { type: 'connack', sessionPresent: false, reasonCode: reason, properties: {} },
              { protocolVersion: 5 },
            ),
          );
        }
        // Wrong protocol name: close without CONNACK [MQTT-3.1.2-1]; 3.1.1 malformed CONNECT: close [MQTT-3.1.4-1].
      }
      this.close();
      return;
    }
    // Malformed packet or protocol error: close (3.1.1 [MQTT-4.8.0-1] [MQTT-2.2.2-2]), 5.0 with DISCONNECT first
    // (5.0 [MQTT-4.13.1-1]); the will is published (3.1.1 [MQTT-3.1.2-8]). The strict decoder finds what is malformed:
    // 3.1.1 [MQTT-1.5.3-1] [MQTT-1.5.3-2] [MQTT-2.2.2-1] [MQTT-2.3.1-1] [MQTT-3.3.1-4] [MQTT-3.3.2-2] [MQTT-3.6.1-1]
    // [MQTT-3.8.1-1] [MQTT-3.8.3-4] [MQTT-3.10.1-1] [MQTT-3.14.1-1] [MQTT-4.7.1-1] [MQTT-4.7.3-1] [MQTT-4.7.3-2];
    // 5.0 [MQTT-1.5.4-1] [MQTT-1.5.4-2] [MQTT-1.5.5-1] [MQTT-1.5.7-1] [MQTT-2.1.3-1] [MQTT-3.3.2-1] [MQTT-3.3.2-13]
    // [MQTT-3.3.2-19] [MQTT-3.8.3-5] [MQTT-3.15.1-1] [MQTT-4.7.0-1] [MQTT-4.7.3-3]. Strings are used as decoded, a
    // BOM included [MQTT-1.5.3-3] (5.0 [MQTT-1.5.4-3]).
    this.violation(reason, code);
  }

  /** Writes bytes, coalescing everything written in one tick into one syscall. */
  write(buf: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.socket.write(buf);
  }

  private writeRaw(buf: Buffer): void {
    if (!this.socket.destroyed) this.write(buf);
  }

  /** Encodes and writes a control packet (5.0: dropped when above the client's Maximum Packet Size, 5.0 [MQTT-3.1.2-24]). */
  send(packet: Packet): boolean {
    const buf = encode(packet, { protocolVersion: this.version });
    if (buf.length > this.clientMaxPacketSize) {
      this.broker.log.debug(
        `${this.label} ${packet.type} of ${buf.length} bytes exceeds client maximum, dropped`,
      );
      return false;
    }
    this.write(buf);
    return true;
  }

  sendPingresp(): void {
    this.write(PINGRESP);
  }

  /** PUBACK/PUBREC/PUBREL/PUBCOMP echoing the packet id [MQTT-2.3.1-6] [MQTT-2.2.1-5]; 5.0 reason code when non-zero. */
  // Acknowledgements never carry reason strings or user properties (5.0 [MQTT-3.4.2-2] [MQTT-3.4.2-3]
  // [MQTT-3.5.2-2] [MQTT-3.5.2-3] [MQTT-3.6.2-2] [MQTT-3.6.2-3] [MQTT-3.7.2-2] [MQTT-3.7.2-3]); PUBREL codes are
  // 0x00 or 0x92 [MQTT-3.6.2-1].
  sendAck(type: keyof typeof ACK_TYPE, packetId: number, reasonCode: number): void {
    const b0 = ACK_TYPE[type];
    if (this.version === 5 && reasonCode !== 0) {
      this.write(Buffer.from([b0, 3, packetId >> 8, packetId & 0xff, reasonCode]));
    } else {
      this.write(Buffer.from([b0, 2, packetId >> 8, packetId & 0xff]));
    }
  }

  /**
   * Writes one PUBLISH copy: the message's own topic name [MQTT-3.3.2-3], never normalised [MQTT-4.7.3-4]; no
   * packet id and DUP 0 at QoS 0 [MQTT-2.3.1-5] [MQTT-3.3.1-2] [MQTT-4.3.1-1] (5.0 [MQTT-2.2.1-2]). Copies without per-subscriber properties reuse one encoding per (version, QoS,
   * RETAIN) and only patch the packet id and DUP. Returns false when the packet exceeds the client's Maximum
   * Packet Size and was discarded (5.0 [MQTT-3.1.2-25]).
   */
  sendPublish(
    msg: Message,
    qos: QoS,
    retain: boolean,
    packetId: number,
    dup: boolean,
    subIds: number[] | undefined,
  ): boolean {
    const v5 = this.version === 5;
    let buf: Buffer;
    if (!v5 || (subIds === undefined && msg.expiresAt === undefined && this.clientTopicAliasMax === 0)) {
      const slot = (v5 ? 8 : 0) + qos * 2 + (retain ? 1 : 0);
      msg.encoded ??= [];
      let base = msg.encoded[slot];
      if (base === undefined) {
        base = encode(
          {
            type: 'publish',
            topic: msg.topic,
            payload: msg.payload,
            qos,
            retain,
            dup: false,
            packetId: qos > 0 ? 1 : undefined,
            properties: v5 ? (msg.properties ?? {}) : undefined,
          },
          { protocolVersion: this.version },
        );
        msg.encoded[slot] = base;
      }
      buf = base;
      if (qos > 0) {
        buf = Buffer.allocUnsafe(base.length);
        base.copy(buf);
        let pos = 1;
        while ((buf[pos++]! & 0x80) !== 0);
        const idAt = pos + 2 + buf.readUInt16BE(pos);
        buf.writeUInt16BE(packetId, idAt);
        // DUP set only on a redelivery by this server [MQTT-3.3.1-1] [MQTT-3.3.1-3].
        if (dup) buf[0]! |= 0x08;
      }
      if (buf.length > this.clientMaxPacketSize) return false;
      this.write(buf);
      return true;
    }
    const props: Properties = msg.properties !== undefined ? { ...msg.properties } : {};
    // All matching subscription identifiers in the one copy (5.0 [MQTT-3.3.4-3] [MQTT-3.3.4-4]).
    if (subIds !== undefined) props.subscriptionIdentifier = subIds;
    // Forwarded expiry is the time left (5.0 [MQTT-3.3.2-6]).
    if (msg.expiresAt !== undefined) {
      props.messageExpiryInterval = Math.max(0, Math.ceil((msg.expiresAt - Date.now()) / 1000));
    }
    let topic = msg.topic;
    let newAlias = 0;
    if (this.clientTopicAliasMax > 0) {
      const alias = this.outAliases.get(topic);
      if (alias !== undefined) {
        props.topicAlias = alias;
        topic = '';
      } else if (this.outAliases.size < this.clientTopicAliasMax) {
        // Aliases only up to the client's Topic Alias Maximum (5.0 [MQTT-3.1.2-26] [MQTT-3.3.2-11]); none when it
        // is 0 (5.0 [MQTT-3.1.2-27]).
        newAlias = this.outAliases.size + 1;
        props.topicAlias = newAlias;
      }
    }
    buf = encode(
      {
        type: 'publish',
        topic,
        payload: msg.payload,
        qos,
        retain,
        dup,
        packetId: qos > 0 ? packetId : undefined,
        properties: props,
      },
      { protocolVersion: 5 },
    );
    if (buf.length > this.clientMaxPacketSize) return false;
    if (newAlias !== 0) this.outAliases.set(msg.topic, newAlias);
    this.write(buf);
    return true;
  }

  clearConnectTimer(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }

  /** Closes when nothing arrives for 1.5 times the keep-alive (3.1.1 [MQTT-3.1.2-24]; 5.0 [MQTT-3.1.2-22]). */
  startKeepAlive(seconds: number): void {
    if (seconds === 0) return;
    this.keepAliveMs = seconds * 1500;
    this.kaTimer = setTimeout(this.checkKeepAlive, this.keepAliveMs);
  }

  private readonly checkKeepAlive = (): void => {
    if (this.state === 'closed') return;
    const idle = Date.now() - this.lastSeen;
    if (idle >= this.keepAliveMs) {
      this.broker.log.info(`${this.label} keep-alive expired`);
      this.violation(ReasonCode.KeepAliveTimeout, 'keep-alive timeout');
      return;
    }
    this.kaTimer = setTimeout(this.checkKeepAlive, this.keepAliveMs - idle);
  };

  /**
   * Server-side close for a violation or error: 5.0 sends DISCONNECT with the reason first (only after CONNACK
   * [MQTT-3.14.0-1]; a DISCONNECT reason code [MQTT-3.14.2-1], never a Session Expiry Interval [MQTT-3.14.2-2]),
   * then sends nothing more and closes (5.0 [MQTT-3.14.4-1] [MQTT-3.14.4-2] [MQTT-4.13.2-1]); the will is published.
   */
  violation(reasonCode: number, why: string): void {
    if (this.state === 'closed') return;
    this.broker.log.info(`${this.label} closing: ${why} (0x${reasonCode.toString(16)})`);
    if (this.version === 5 && this.state === 'connected') {
      // The reason string is dropped if it would make the packet too large for the client (5.0 [MQTT-3.14.2-3]);
      // no user properties are sent (5.0 [MQTT-3.14.2-4]).
      if (
        !this.requestProblemInfo ||
        !this.send({ type: 'disconnect', reasonCode, properties: { reasonString: why } })
      ) {
        this.send({ type: 'disconnect', reasonCode, properties: {} });
      }
    }
    this.close();
  }

  /**
   * Refuses a CONNECT: CONNACK with the code and session present 0, then close (3.1.1 [MQTT-3.2.2-4]
   * [MQTT-3.2.2-5]; 5.0 [MQTT-3.2.2-6] [MQTT-3.2.2-7] [MQTT-3.2.2-8]).
   */
  refuse(reasonCode: number, why: string): void {
    this.broker.log.info(`${this.label} CONNECT refused: ${why} (0x${reasonCode.toString(16)})`);
    this.send(
      this.version === 5
        ? { type: 'connack', sessionPresent: false, reasonCode, properties: {} }
        : { type: 'connack', sessionPresent: false, reasonCode },
    );
    // No further packets from this connection are processed (3.1.1 [MQTT-3.1.4-5]; 5.0 [MQTT-3.1.4-6]).
    this.will = undefined;
    this.close();
  }

  /** Closes the socket after flushing what was written; state and session are released at once. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.cleanup();
    const socket = this.socket;
    if (socket.destroyed) return;
    socket.end(() => socket.destroy());
    // A peer that never reads must not keep the socket alive.
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  /** Releases everything this connection holds; runs once, on close() or when the peer goes away. */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    this.state = 'closed';
    this.clearConnectTimer();
    if (this.kaTimer !== undefined) clearTimeout(this.kaTimer);
    this.broker.connectionClosed(this);
  }
}
