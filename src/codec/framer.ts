import { decodeFrame } from './decode.js';
import type { DecodeError } from './errors.js';
import { readRemainingLength } from './fields.js';
import type { Packet, ProtocolVersion } from './types.js';

/** The largest packet the spec allows: 1 header byte, 4 length bytes, 268,435,455 body bytes. */
export const MAX_PACKET_SIZE = 268_435_460;

export type FramerEvent =
  | { kind: 'frame'; header: number; body: Buffer; raw: Buffer; bodyOffset: number }
  | { kind: 'error'; error: DecodeError; raw: Buffer };

/**
 * Splits a byte stream into MQTT packets whatever the TCP chunking. A remaining length announcing a packet
 * above `maxPacketSize` is an error as soon as the length is read: nothing is buffered for it. After an error
 * the stream is dead and `push` returns nothing.
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dead = false;

  constructor(public maxPacketSize: number = MAX_PACKET_SIZE) {}

  /** Bytes received but not yet framed. */
  get buffered(): number {
    return this.size;
  }

  get failed(): boolean {
    return this.dead;
  }

  push(chunk: Buffer): FramerEvent[] {
    const out: FramerEvent[] = [];
    if (this.dead || chunk.length === 0) return out;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size >= 2) {
      const head = this.peek(Math.min(5, this.size));
      const rl = readRemainingLength(head, 1, head.length);
      if (!rl.ok) {
        if (rl.error === undefined) break;
        return this.fail(out, rl.error);
      }
      const n = rl.size;
      const len = rl.value;
      const total = 1 + n + len;
      if (total > this.maxPacketSize) {
        return this.fail(out, {
          code: 'PACKET_TOO_LARGE',
          message: `packet of ${total} bytes announced, the maximum packet size is ${this.maxPacketSize}`,
          offset: 0,
        });
      }
      if (this.size < total) break;
      const raw = this.take(total);
      out.push({ kind: 'frame', header: raw[0]!, body: raw.subarray(1 + n), raw, bodyOffset: 1 + n });
    }
    return out;
  }

  private fail(out: FramerEvent[], error: DecodeError): FramerEvent[] {
    this.dead = true;
    const raw = this.peek(Math.min(this.size, 64));
    this.chunks = [];
    this.size = 0;
    out.push({ kind: 'error', error, raw: Buffer.from(raw) });
    return out;
  }

  /** The first `k` buffered bytes (k <= size), merging leading chunks when the first is too short. */
  private peek(k: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= k) return first;
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged;
  }

  /** Removes and returns the first `k` buffered bytes (k <= size); zero-copy within one chunk. */
  private take(k: number): Buffer {
    this.size -= k;
    const first = this.chunks[0]!;
    if (first.length > k) {
      this.chunks[0] = first.subarray(k);
      return first.subarray(0, k);
    }
    if (first.length === k) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(k);
    let at = 0;
    while (at < k) {
      const c = this.chunks[0]!;
      const need = k - at;
      if (c.length <= need) {
        c.copy(out, at);
        at += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, at, 0, need);
        this.chunks[0] = c.subarray(need);
        at += need;
      }
    }
    return out;
  }
}

export type StreamEvent =
  | { ok: true; packet: Packet; raw: Buffer }
  | { ok: false; error: DecodeError; raw: Buffer };

export interface StreamDecoderOptions {
  protocolVersion: ProtocolVersion;
  maxPacketSize?: number;
}

/**
 * Framer plus strict decoder for one connection. `protocolVersion` may be changed between pushes (a client
 * sets it when it sends CONNECT); a decoded CONNECT of level 4 or 5 sets it too, so a broker decodes the rest
 * of the connection with the client's version. After the first error the stream is dead.
 */
export class StreamDecoder {
  protocolVersion: ProtocolVersion;
  private readonly framer: PacketFramer;
  private dead = false;

  constructor(opts: StreamDecoderOptions) {
    this.protocolVersion = opts.protocolVersion;
    this.framer = new PacketFramer(opts.maxPacketSize ?? MAX_PACKET_SIZE);
  }

  get failed(): boolean {
    return this.dead;
  }

  get buffered(): number {
    return this.framer.buffered;
  }

  /**
   * Lowers the size limit to what this side announced (a 5.0 Maximum Packet Size): a bigger packet is then a
   * PACKET_TOO_LARGE error naming `statement`, the peer's rule it breaks.
   */
  limitPacketSize(max: number, statement?: string): void {
    this.framer.maxPacketSize = Math.min(this.framer.maxPacketSize, max);
    this.sizeStatement = statement;
  }
  private sizeStatement: string | undefined;

  push(chunk: Buffer): StreamEvent[] {
    const out: StreamEvent[] = [];
    if (this.dead) return out;
    for (const ev of this.framer.push(chunk)) {
      if (ev.kind === 'error') {
        if (ev.error.code === 'NON_MINIMAL_VARINT' && this.protocolVersion === 5)
          ev.error.statement = 'MQTT-1.5.5-1';
        if (ev.error.code === 'PACKET_TOO_LARGE' && this.sizeStatement)
          ev.error.statement = this.sizeStatement;
        this.dead = true;
        out.push({ ok: false, error: ev.error, raw: ev.raw });
        break;
      }
      const r = decodeFrame(ev.header, ev.body, { protocolVersion: this.protocolVersion }, ev.bodyOffset);
      if (!r.ok) {
        this.dead = true;
        out.push({ ok: false, error: r.error, raw: ev.raw });
        break;
      }
      const p = r.packet;
      if (p.type === 'connect' && (p.protocolVersion === 4 || p.protocolVersion === 5)) {
        this.protocolVersion = p.protocolVersion;
      }
      out.push({ ok: true, packet: p, raw: ev.raw });
    }
    return out;
  }
}
