import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import {
  decode,
  encode,
  type Packet,
  type ProtocolVersion,
  StreamDecoder,
  type StreamEvent,
} from '../codec/index.js';
import { setDeadline } from './deadline.js';
import { describeEvent, describeMatch, formatValue, matchPacket } from './match.js';
import { OutgoingFraming } from './outgoing-framing.js';
import { formatTranscript, parseHex, toHex } from './transcript.js';
import type {
  ClientEvent,
  ClientOptions,
  ExpectFailure,
  ExpectOptions,
  ExpectResult,
  NothingResult,
  PacketMatch,
  SendOptions,
  TranscriptEntry,
} from './types.js';
import { connectWebSocket, type WebSocketConnectError, WebSocketStream } from './websocket.js';

const DEFAULT_MAX_PACKET_SIZE = 16 * 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_CLOSE_TIMEOUT_MS = 2000;
const DEFAULT_MAX_INBOX_EVENTS = 100_000;
const DEFAULT_MAX_TRANSCRIPT_ENTRIES = 10_000;

/** Stable codes: node's socket error code when there is one (ECONNREFUSED, ENOTFOUND, ...), else ours. */
export type ConnectErrorCode = 'ECONNREFUSED' | 'TIMEOUT' | 'CLOSED' | 'TLS' | 'ABORTED' | (string & {});

/** The TCP/TLS connection could not be opened. */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  readonly code: ConnectErrorCode;
  readonly host: string;
  readonly port: number;
  constructor(code: ConnectErrorCode, host: string, port: number, message: string, cause?: unknown) {
    super(`cannot connect to ${host}:${port}: ${message}`, cause === undefined ? undefined : { cause });
    this.code = code;
    this.host = host;
    this.port = port;
  }
}

export function isConnectError(e: unknown): e is ConnectError {
  return e instanceof ConnectError;
}

type Skip = NonNullable<ExpectOptions['skip']>;
type EventPredicate = (e: ClientEvent) => boolean;

/**
 * A raw-packet MQTT client: it opens a TCP or TLS connection, writes exactly the packets or bytes it is
 * given, and records everything the broker sends as timestamped events in an inbox. It answers nothing by
 * itself (unless `autoAck` is set) and never sends CONNECT on its own.
 *
 * Waits (`next`, `expect`, ...) consume the inbox in order; run one wait at a time per client.
 */
/** A 3.1.1 CONNACK 0x01 (unacceptable protocol version). */
const LEGACY_REFUSAL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

export class RawClient {
  readonly name: string;
  /** `performance.now()` value that event times are relative to. */
  readonly epoch: number;
  readonly autoAck: boolean;

  /** TCP or TLS socket, or the MQTT stream inside a WebSocket (ws:// and wss:// targets). */
  private readonly socket: net.Socket | WebSocketStream;
  private decoder: StreamDecoder;
  /** Protocol level of the last CONNECT sent (a level the client cannot decode replies for, e.g. 9). */
  private connectLevel: number | undefined;
  private readonly maxPacketSize: number;
  private readonly inbox: ClientEvent[] = [];
  private cursor = 0;
  private readonly log: TranscriptEntry[] = [];
  private readonly maxInboxEvents: number;
  private readonly maxTranscriptEntries: number;
  /** Entries left out of the log past `maxTranscriptEntries`, where they start and when the first one was. */
  private transcriptDropped = 0;
  private transcriptDroppedIndex = 0;
  private transcriptDroppedAt = 0;
  private readonly waiters = new Set<() => void>();
  private closedEvent: Extract<ClientEvent, { kind: 'closed' }> | undefined;
  private closingLocally = false;
  private socketClosed = false;
  private readonly socketClosedWaiters = new Set<() => void>();

  private constructor(socket: net.Socket | WebSocketStream, opts: ClientOptions, epoch: number) {
    this.socket = socket;
    this.name = opts.name ?? 'client';
    this.epoch = epoch;
    this.autoAck = opts.autoAck ?? false;
    this.maxInboxEvents = opts.maxInboxEvents ?? DEFAULT_MAX_INBOX_EVENTS;
    this.maxTranscriptEntries = opts.maxTranscriptEntries ?? DEFAULT_MAX_TRANSCRIPT_ENTRIES;
    this.maxPacketSize = opts.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
    this.decoder = new StreamDecoder({
      protocolVersion: opts.protocolVersion ?? 4,
      maxPacketSize: this.maxPacketSize,
    });
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onData(chunk)));
    socket.on('end', () =>
      this.guard(() => {
        // Bytes of an unfinished packet at FIN are worth a line in a report: the broker cut a packet short.
        const pending = this.decoder.buffered;
        const detail = pending > 0 ? `${pending} byte(s) of an incomplete packet pending` : undefined;
        this.recordClosed(this.closingLocally ? 'local' : 'end', detail);
      }),
    );
    socket.on('error', (err: NodeJS.ErrnoException) => this.guard(() => this.onError(err)));
    if (socket instanceof WebSocketStream) {
      socket.on('text-message', (bytes: Buffer) => this.guard(() => this.onTextMessage(bytes)));
    }
    socket.on('close', () =>
      this.guard(() => {
        this.recordClosed(this.closingLocally ? 'local' : 'end');
        this.socketClosed = true;
        for (const w of [...this.socketClosedWaiters]) w();
      }),
    );
  }

  /** Opens the TCP (or TLS) connection. Sends nothing: the caller sends CONNECT like any other packet. */
  static connect(opts: ClientOptions): Promise<RawClient> {
    const epoch = opts.epoch ?? performance.now();
    const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise<RawClient>((resolve, reject) => {
      const signal = opts.signal;
      if (signal?.aborted) {
        reject(new ConnectError('ABORTED', opts.host, opts.port, 'connect aborted'));
        return;
      }
      const useTls = opts.tls !== undefined && opts.tls !== false;
      if (opts.websocket) {
        const target = { host: opts.host, port: opts.port, path: opts.websocket.path };
        connectWebSocket(
          opts.tls !== undefined ? { ...target, tls: opts.tls } : target,
          timeoutMs,
          signal,
        ).then(
          (stream) => {
            const client = new RawClient(stream, opts, epoch);
            client.note(
              `connected to ${useTls ? 'wss' : 'ws'}://${opts.host}:${opts.port}${opts.websocket!.path} (WebSocket, subprotocol ${stream.protocol})`,
            );
            resolve(client);
          },
          (err: WebSocketConnectError) =>
            reject(new ConnectError(err.code ?? 'WS', opts.host, opts.port, err.message, err)),
        );
        return;
      }
      const socket: net.Socket = useTls
        ? tls.connect({
            host: opts.host,
            port: opts.port,
            ...(net.isIP(opts.host) === 0 ? { servername: opts.host } : {}),
            ...(typeof opts.tls === 'object' ? opts.tls : {}),
          })
        : net.connect({ host: opts.host, port: opts.port });
      let settled = false;
      const fail = (code: string, message: string, cause?: unknown): void => {
        if (settled) return;
        settled = true;
        timer.clear();
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(new ConnectError(code, opts.host, opts.port, message, cause));
      };
      const timer = setDeadline(() => fail('TIMEOUT', `no connection within ${timeoutMs} ms`), timeoutMs);
      const onEarlyError = (err: NodeJS.ErrnoException): void => {
        fail(err.code ?? (useTls ? 'TLS' : 'ERROR'), err.message, err);
      };
      const onEarlyClose = (): void => fail('CLOSED', 'connection closed while connecting');
      const onAbort = (): void => fail('ABORTED', 'connect aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      // `on`, not `once`: a second socket error with no listener would crash the process.
      socket.on('error', onEarlyError);
      socket.once('close', onEarlyClose);
      socket.once(useTls ? 'secureConnect' : 'connect', () => {
        if (settled) return;
        settled = true;
        timer.clear();
        signal?.removeEventListener('abort', onAbort);
        socket.off('error', onEarlyError);
        socket.off('close', onEarlyClose);
        socket.setNoDelay(true);
        const client = new RawClient(socket, opts, epoch);
        client.note(`connected to ${opts.host}:${opts.port}${useTls ? ' (TLS)' : ''}`);
        resolve(client);
      });
    });
  }

  /** Protocol level used to decode what the broker sends. */
  get protocolVersion(): ProtocolVersion {
    return this.decoder.protocolVersion;
  }
  set protocolVersion(v: ProtocolVersion) {
    this.decoder.protocolVersion = v;
  }

  /**
   * Refuses packets above `max` bytes from now on (the 5.0 Maximum Packet Size this client announced): a
   * bigger one is a malformed event naming `statement`.
   */
  limitIncomingPacketSize(max: number, statement?: string): void {
    this.decoder.limitPacketSize(max, statement);
  }

  /** True once the connection is closed (by either side) or declared dead after malformed input. */
  get closed(): boolean {
    return this.closedEvent !== undefined;
  }

  /** Every event received so far, consumed or not. */
  get events(): readonly ClientEvent[] {
    return this.inbox;
  }

  /** Events not yet consumed by `next` / `expect*`. */
  pending(): readonly ClientEvent[] {
    return this.inbox.slice(this.cursor);
  }

  /** Milliseconds since the epoch. */
  now(): number {
    return performance.now() - this.epoch;
  }

  /**
   * Encodes and writes a packet (with deliberate deviations from `overrides`). A CONNECT with protocol
   * level 4 or 5 sets the level used to decode the broker's packets. Returns the bytes written; if the
   * connection is already closed nothing is written and the transcript says so.
   */
  send(packet: Packet, opts: SendOptions = {}): Buffer {
    if (packet.type === 'connect') this.connectLevel = packet.protocolVersion;
    if (packet.type === 'connect' && (packet.protocolVersion === 4 || packet.protocolVersion === 5)) {
      this.decoder.protocolVersion = packet.protocolVersion;
    }
    const bytes = encode(packet, {
      protocolVersion: this.decoder.protocolVersion,
      ...(opts.overrides ? { overrides: opts.overrides } : {}),
    });
    const note = opts.overrides ? `overrides ${formatValue(opts.overrides)}` : undefined;
    this.write(bytes, packet, note);
    return bytes;
  }

  /**
   * Writes bytes exactly as given; a string is hex (whitespace allowed). The transcript shows the packet
   * if the bytes happen to decode strictly. A raw CONNECT that decodes sets the protocol level.
   */
  sendRaw(bytes: Buffer | Uint8Array | string): Buffer {
    const buf = typeof bytes === 'string' ? parseHex(bytes) : Buffer.from(bytes);
    const decoded = decode(buf, { protocolVersion: this.decoder.protocolVersion });
    let packet: Packet | undefined;
    if (decoded.ok) {
      packet = decoded.packet;
      if (packet.type === 'connect' && (packet.protocolVersion === 4 || packet.protocolVersion === 5)) {
        this.decoder.protocolVersion = packet.protocolVersion;
      }
    }
    this.write(buf, packet, decoded.ok ? 'raw' : `raw, does not decode: ${decoded.error.code}`);
    return buf;
  }

  private write(bytes: Buffer, packet: Packet | undefined, note: string | undefined): void {
    const entry: TranscriptEntry = { dir: 'out', at: this.now(), hex: toHex(bytes), client: this.name };
    if (packet) entry.packet = packet;
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) {
      entry.note = note ? `${note}; not sent: connection closed` : 'not sent: connection closed';
      this.record(entry);
      return;
    }
    if (note) entry.note = note;
    this.record(entry);
    this.socket.write(bytes);
    this.lastWriteAt = entry.at;
    this.outgoing.push(bytes, entry.at);
  }

  private readonly outgoing = new OutgoingFraming();

  /**
   * Since when (ms since the epoch) the bytes written end inside a packet, or undefined when they end on a
   * packet boundary. The runner uses it to find the connection a stalled broker is waiting on.
   */
  get incompleteSince(): number | undefined {
    return this.closed ? undefined : this.outgoing.incompleteSince;
  }

  /**
   * The last stretch of time (ms since the epoch) during which the bytes written ended inside a packet: from
   * then until the connection closed, or until now while it is open. Undefined if they end on a boundary.
   */
  incompleteWindow(): { from: number; to: number } | undefined {
    const from = this.outgoing.incompleteSince;
    if (from === undefined) return undefined;
    return { from, to: this.closedEvent?.at ?? this.now() };
  }

  /** When the last bytes were written (ms since the epoch, as event times), or undefined before any. */
  lastWriteAt: number | undefined;

  /** Adds a free-text line to the transcript (scenario steps, comments). */
  note(text: string): void {
    this.record({ dir: 'event', at: this.now(), note: text, client: this.name });
  }

  /** Appends to the transcript up to `maxTranscriptEntries`; past it counts instead (`always`: the close). */
  private record(entry: TranscriptEntry, always = false): void {
    if (always || this.log.length < this.maxTranscriptEntries) {
      this.log.push(entry);
      return;
    }
    if (this.transcriptDropped === 0) {
      this.transcriptDroppedIndex = this.log.length;
      this.transcriptDroppedAt = entry.at;
    }
    this.transcriptDropped++;
  }

  /**
   * Next unconsumed event, waiting up to `timeoutMs`; undefined on timeout, or at once when the connection
   * is closed and every event has been consumed (nothing more can arrive).
   */
  async next(timeoutMs: number): Promise<ClientEvent | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const e = this.inbox[this.cursor];
      if (e !== undefined) {
        this.cursor++;
        return e;
      }
      if (this.closed) return undefined;
      const remaining = deadline - performance.now();
      if (remaining <= 0) return undefined;
      await this.waitForEvent(remaining);
    }
  }

  /**
   * Consumes events in order: packets matching `skip` are consumed silently; the first other event must
   * match. A 'closed' event gives reason 'closed', a 'malformed' one 'malformed' (unless a predicate accepts
   * it), any other packet 'unexpected'.
   */
  async expect(match: PacketMatch | EventPredicate, opts: ExpectOptions): Promise<ExpectResult> {
    const expected = withSkip(describeMatch(match), opts.skip);
    const deadline = performance.now() + opts.timeoutMs;
    for (;;) {
      const e = await this.next(deadline - performance.now());
      if (e === undefined) return this.noEvent(expected);
      if (typeof match === 'function') {
        if (safePredicate(match, e)) return { ok: true, event: e };
        if (e.kind === 'packet' && isSkipped(e.packet, opts.skip)) continue;
        return failure(e, expected);
      }
      if (e.kind === 'packet') {
        const m = matchPacket(match, e.packet);
        if (m.ok) return { ok: true, event: e };
        if (isSkipped(e.packet, opts.skip)) continue;
        const result = failure(e, expected);
        if (e.packet.type === match.type) result.mismatches = m.mismatches;
        return result;
      }
      return failure(e, expected);
    }
  }

  /** Succeeds when the connection closes within `timeoutMs`; packets first are a failure unless skipped. */
  async expectClosed(timeoutMs: number, opts: { skip?: Skip } = {}): Promise<ExpectResult> {
    const expected = withSkip('connection closed', opts.skip);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const e = await this.next(deadline - performance.now());
      if (e === undefined) return this.noEvent(expected);
      if (e.kind === 'closed') return { ok: true, event: e };
      if (e.kind === 'packet' && isSkipped(e.packet, opts.skip)) continue;
      return failure(e, expected);
    }
  }

  /** Succeeds when no event at all (packet, close, malformed bytes) arrives within `windowMs`. */
  async expectNothing(windowMs: number): Promise<NothingResult> {
    const e = await this.next(windowMs);
    return e === undefined ? { ok: true } : failure(e, `nothing for ${windowMs} ms`);
  }

  /** The wire log: every packet out and in, with bytes and decoded form, and connection events. */
  transcript(): readonly TranscriptEntry[] {
    if (this.transcriptDropped === 0) return this.log;
    const i = this.transcriptDroppedIndex;
    const gap: TranscriptEntry = {
      dir: 'event',
      at: this.transcriptDroppedAt,
      note: `${this.transcriptDropped} more transcript entries not recorded (limit ${this.maxTranscriptEntries})`,
      client: this.name,
    };
    return [...this.log.slice(0, i), gap, ...this.log.slice(i)];
  }

  /** The transcript as report text, one line per entry. */
  transcriptText(): string {
    return formatTranscript(this.transcript(), this.name);
  }

  /** Graceful close: sends FIN and waits (bounded) for the connection to close, then destroys it. */
  async close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.socketClosed) return;
    if (!this.closed) this.closingLocally = true;
    this.socket.end();
    const closedInTime = await this.waitForSocketClose(timeoutMs);
    if (!closedInTime) {
      this.recordClosed('local', `no close within ${timeoutMs} ms; destroyed`);
      this.socket.destroy();
      await this.waitForSocketClose(timeoutMs);
    }
  }

  /** Abrupt close: TCP reset (RST) where the platform allows it, else destroy. Returns once closed. */
  async destroy(): Promise<void> {
    if (this.socketClosed) return;
    if (this.closed || this.socket.readableEnded || this.socket.writableEnded) {
      // Already half or fully closed: a reset on a shutting-down handle may never report back.
      this.socket.destroy();
    } else {
      this.closingLocally = true;
      this.recordClosed('local', 'reset by client');
      try {
        if (this.socket instanceof WebSocketStream) this.socket.destroy();
        else this.socket.resetAndDestroy();
      } catch {
        // TLS sockets have no TCP handle to reset.
        this.socket.destroy();
      }
    }
    await this.waitForSocketClose(DEFAULT_CLOSE_TIMEOUT_MS);
  }

  private waitForSocketClose(timeoutMs: number): Promise<boolean> {
    if (this.socketClosed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        timer.clear();
        this.socketClosedWaiters.delete(onClose);
        resolve(ok);
      };
      const onClose = (): void => done(true);
      const timer = setDeadline(() => done(false), timeoutMs);
      this.socketClosedWaiters.add(onClose);
    });
  }

  private waitForEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        timer.clear();
        this.waiters.delete(done);
        resolve();
      };
      const timer = setDeadline(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private push(event: ClientEvent): void {
    this.inbox.push(event);
    for (const w of [...this.waiters]) w();
  }

  private noEvent(expected: string): ExpectResult {
    if (this.closedEvent) return { ok: false, reason: 'closed', expected, actual: this.closedEvent };
    return { ok: false, reason: 'timeout', expected };
  }

  /** Socket callbacks must never throw: a bug here is recorded, not raised. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.note(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }

  /** The transport in use: `websocket` for ws:// and wss:// targets. */
  get transport(): 'socket' | 'websocket' {
    return this.socket instanceof WebSocketStream ? 'websocket' : 'socket';
  }

  /**
   * WebSocket only: writes bytes in a text frame instead of a binary one (a server must close the connection
   * on one [MQTT-6.0.0-1]). Returns false on other transports, where nothing is written.
   */
  sendTextFrame(bytes: Buffer): boolean {
    if (!(this.socket instanceof WebSocketStream)) return false;
    const entry: TranscriptEntry = { dir: 'out', at: this.now(), hex: toHex(bytes), client: this.name };
    entry.note = 'in a WebSocket text frame';
    this.record(entry);
    if (!this.closed) this.socket.sendText(bytes);
    return true;
  }

  /** A text frame from the server: MQTT travels in binary frames only [MQTT-6.0.0-1]; the stream is dead. */
  private onTextMessage(bytes: Buffer): void {
    if (this.closedEvent) return;
    const at = this.now();
    const error = {
      code: 'WEBSOCKET_TEXT_FRAME' as const,
      message: 'the server sent a WebSocket text frame; MQTT packets travel in binary frames only',
      statement: 'MQTT-6.0.0-1',
    };
    this.record({ dir: 'in', at, hex: toHex(bytes), error, client: this.name });
    this.push({ kind: 'malformed', at, error, raw: bytes });
    this.closingLocally = true;
    this.recordClosed('local', 'closed by client after a WebSocket text frame');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closedEvent) return;
    const events: StreamEvent[] = this.decoder.push(chunk);
    for (const ev of events) {
      const at = this.now();
      if (ev.ok) {
        if (this.inbox.length - this.cursor >= this.maxInboxEvents) {
          // A flood the case does not consume: fail clearly instead of growing without bound.
          this.closingLocally = true;
          this.recordClosed('local', `inbox overflow: more than ${this.maxInboxEvents} unconsumed events`);
          this.socket.destroy();
          return;
        }
        this.record({ dir: 'in', at, hex: toHex(ev.raw), packet: ev.packet, client: this.name });
        this.push({ kind: 'packet', at, packet: ev.packet, raw: ev.raw });
        if (this.autoAck) this.answer(ev.packet);
      } else if (this.isLegacyRefusal(ev.raw)) {
        // A CONNECT of a level the server does not know (not 4 or 5) may be refused in the 3.1.1 form, the one
        // every level understands (CONNACK 0x01): taken as that packet, and the connection read on in 3.1.1.
        const packet: Packet = { type: 'connack', sessionPresent: false, reasonCode: 0x01 };
        this.decoder = new StreamDecoder({ protocolVersion: 4, maxPacketSize: this.maxPacketSize });
        this.record({ dir: 'in', at, hex: toHex(ev.raw), packet, client: this.name, note: '3.1.1 form' });
        this.push({ kind: 'packet', at, packet, raw: ev.raw });
      } else {
        this.record({ dir: 'in', at, hex: toHex(ev.raw), error: ev.error, client: this.name });
        this.push({ kind: 'malformed', at, error: ev.error, raw: ev.raw });
        // The stream cannot be resynchronised after malformed bytes; the connection is of no further use.
        this.closingLocally = true;
        this.recordClosed('local', 'closed by client after malformed input');
        this.socket.destroy();
        return;
      }
    }
  }

  /** `20 02 00 01` as the first bytes of a 5.0 connection whose CONNECT had a level other than 4 or 5. */
  private isLegacyRefusal(raw: Buffer): boolean {
    return (
      this.decoder.protocolVersion === 5 &&
      this.connectLevel !== undefined &&
      this.connectLevel !== 4 &&
      this.connectLevel !== 5 &&
      this.inbox.length === 0 &&
      raw.equals(LEGACY_REFUSAL)
    );
  }

  private answer(packet: Packet): void {
    const v5 = this.decoder.protocolVersion === 5;
    const ack = (type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', packetId: number): Packet =>
      v5 ? { type, packetId, reasonCode: 0, properties: {} } : { type, packetId };
    let reply: Packet | undefined;
    if (packet.type === 'publish' && packet.packetId !== undefined) {
      if (packet.qos === 1) reply = ack('puback', packet.packetId);
      else if (packet.qos === 2) reply = ack('pubrec', packet.packetId);
    } else if (packet.type === 'pubrel') reply = ack('pubcomp', packet.packetId);
    // A 5.0 PUBREC with a failure reason code (>= 0x80) ends the flow: no PUBREL follows (5.0 section 4.3.3).
    else if (packet.type === 'pubrec' && (packet.reasonCode ?? 0) < 0x80)
      reply = ack('pubrel', packet.packetId);
    if (reply) this.write(encode(reply, { protocolVersion: this.decoder.protocolVersion }), reply, 'auto');
  }

  private onError(err: NodeJS.ErrnoException): void {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      this.recordClosed(this.closingLocally ? 'local' : 'reset', err.code);
    } else {
      this.recordClosed(this.closingLocally ? 'local' : 'error', `${err.code ?? 'error'}: ${err.message}`);
    }
  }

  private recordClosed(reason: 'end' | 'reset' | 'error' | 'local', detail?: string): void {
    if (this.closedEvent) return;
    const event: Extract<ClientEvent, { kind: 'closed' }> = { kind: 'closed', at: this.now(), reason };
    if (detail !== undefined) event.detail = detail;
    this.closedEvent = event;
    this.record(
      {
        dir: 'event',
        at: event.at,
        note: `closed (${reason}${detail ? `: ${detail}` : ''})`,
        client: this.name,
      },
      true,
    );
    this.push(event);
  }
}

function safePredicate(fn: EventPredicate, e: ClientEvent): boolean {
  try {
    return fn(e);
  } catch {
    return false;
  }
}

function isSkipped(packet: Packet, skip: Skip | undefined): boolean {
  if (!skip) return false;
  return skip.some((s) => (typeof s === 'string' ? s === packet.type : matchPacket(s, packet).ok));
}

function withSkip(expected: string, skip: Skip | undefined): string {
  if (!skip || skip.length === 0) return expected;
  const parts = skip.map((s) => (typeof s === 'string' ? s.toUpperCase() : describeMatch(s)));
  return `${expected} (skipping ${parts.join(', ')})`;
}

function failure(e: ClientEvent, expected: string): ExpectFailure {
  const reason = e.kind === 'packet' ? 'unexpected' : e.kind;
  return { ok: false, reason, expected, actual: e };
}

/** Human text for an expect failure: `expected X, got Y` plus field mismatches. */
export function describeFailure(result: ExpectResult | NothingResult): string {
  if (result.ok) return 'ok';
  const actual = result.actual ? describeEvent(result.actual) : `nothing (${result.reason})`;
  const lines = [`Expected: ${result.expected}`, `Actual:   ${actual}`];
  for (const m of result.mismatches ?? []) lines.push(`  - ${m}`);
  return lines.join('\n');
}
