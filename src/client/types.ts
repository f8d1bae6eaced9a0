import type { ConnectionOptions } from 'node:tls';
import type { DecodeError, EncodeOverrides, Packet, PacketType, ProtocolVersion } from '../codec/index.js';

/** Where and how the raw client connects. */
export interface ClientOptions {
  host: string;
  port: number;
  /** `true` or TLS options for mqtts:// targets. */
  tls?: boolean | ConnectionOptions;
  /** MQTT over WebSocket (ws://, or wss:// with `tls`): the request path; subprotocol `mqtt`. */
  websocket?: { path: string };
  /** Protocol level used to decode what the broker sends; a CONNECT sent through the client sets it too. */
  protocolVersion?: ProtocolVersion;
  /** Largest packet accepted from the broker before the stream is declared malformed (default 16 MiB). */
  maxPacketSize?: number;
  /**
   * Most unconsumed events the inbox holds (default 100,000). A broker flooding past it gets the connection
   * dropped: a `closed` event with reason `local` and detail `inbox overflow: more than N unconsumed events`.
   */
  maxInboxEvents?: number;
  /**
   * Most transcript entries kept (default 10,000): later ones are counted, not stored, except the close,
   * and the transcript says how many were left out.
   */
  maxTranscriptEntries?: number;
  /** TCP/TLS connect timeout (default 5000 ms). */
  connectTimeoutMs?: number;
  /**
   * Aborting rejects a pending `connect` at once with a ConnectError of code `ABORTED` and destroys the
   * socket. No effect once connected.
   */
  signal?: AbortSignal;
  /** Name used in transcripts (scenario client name). */
  name?: string;
  /**
   * Opt-in: answer the broker's QoS flows by itself (PUBLISH QoS 1 -> PUBACK, QoS 2 -> PUBREC, PUBREL ->
   * PUBCOMP, PUBREC -> PUBREL). Off by default: a conformance client must be able to withhold any answer.
   * The packets that trigger an answer still arrive in the inbox.
   */
  autoAck?: boolean;
  /**
   * `performance.now()` value that event times are measured from (default: when the client is created).
   * Clients of one scenario share one epoch so their transcripts merge in time order.
   */
  epoch?: number;
}

/** Milliseconds since the client was created, from a monotonic clock. */
export type Millis = number;

export type ClientEvent =
  | { kind: 'packet'; at: Millis; packet: Packet; raw: Buffer }
  /** A peer close (FIN) and a TCP reset are both "closed"; `reason` says which. */
  | { kind: 'closed'; at: Millis; reason: 'end' | 'reset' | 'error' | 'local'; detail?: string }
  /** Bytes from the broker that the strict decoder rejected; the stream is dead after this. */
  | { kind: 'malformed'; at: Millis; error: DecodeError; raw: Buffer };

export interface TranscriptEntry {
  dir: 'out' | 'in' | 'event';
  at: Millis;
  /** Exact bytes, as lowercase hex without separators. */
  hex?: string;
  packet?: Packet;
  error?: DecodeError;
  /** For 'event': closed / connect / note text; for 'out': e.g. `raw`, `auto`, overrides used. */
  note?: string;
  /** Client name, so transcripts of several clients can be merged. */
  client?: string;
}

/**
 * Partial match on a packet: every key given must equal the packet's value; nested objects (properties,
 * will, subscriptions entries) match partially; arrays match element-wise and by length; Buffers by bytes;
 * a string matches a Buffer by its UTF-8 bytes.
 */
export type PacketMatch = { type: PacketType } & Record<string, unknown>;

export interface ExpectOptions {
  timeoutMs: number;
  /** Packet types (or matches) that may arrive first and are consumed and ignored. */
  skip?: Array<PacketType | PacketMatch>;
}

export type ExpectResult =
  | { ok: true; event: ClientEvent }
  | {
      ok: false;
      /** timeout: nothing matching in time; unexpected: a non-matching event arrived; closed: connection closed. */
      reason: 'timeout' | 'unexpected' | 'closed' | 'malformed';
      expected: string;
      actual?: ClientEvent;
      /** For 'unexpected' packets of the expected type: which fields differed. */
      mismatches?: string[];
    };

export type ExpectFailure = Extract<ExpectResult, { ok: false }>;

/** Result of `expectNothing`: success carries no event. */
export type NothingResult = { ok: true } | ExpectFailure;

export interface SendOptions {
  overrides?: EncodeOverrides;
}

export type { EncodeOverrides };
