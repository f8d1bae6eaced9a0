import { isUtf8 } from 'node:buffer';
import type { DecodeError, DecodeErrorCode } from './errors.js';
import type { PacketType } from './types.js';

/** Largest value a variable byte integer can hold (4 bytes). */
export const MAX_VARINT = 268_435_455;

/** Thrown inside the decoder only; `decode` turns it into a result and never lets it escape. */
export class DecodeFailure {
  constructor(readonly error: DecodeError) {}
}

/** Reads fields of one packet body; every read checks bounds and fails with a typed error. */
export class Reader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    readonly version: number,
    readonly packetType: PacketType,
    /** Offset of the body within the whole packet, so error offsets are packet-relative. */
    readonly base: number,
  ) {
    this.pos = start;
  }

  fail(code: DecodeErrorCode, message: string, statement?: string, at = this.pos): never {
    const error: DecodeError = { code, message, packetType: this.packetType, offset: this.base + at };
    if (statement !== undefined) error.statement = statement;
    throw new DecodeFailure(error);
  }

  /** Picks the statement id for the packet's protocol version. */
  s(v4: string | undefined, v5: string | undefined): string | undefined {
    return this.version === 5 ? v5 : v4;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      this.fail('TRUNCATED', `${what} needs ${n} byte(s), ${this.end - this.pos} left in the packet`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  varint(what: string): number {
    const start = this.pos;
    let value = 0;
    let mult = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8(what);
      value += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) {
          this.fail(
            'NON_MINIMAL_VARINT',
            `${what} is not encoded in the minimum number of bytes`,
            this.s(undefined, 'MQTT-1.5.5-1'),
            start,
          );
        }
        return value;
      }
      mult *= 128;
    }
    return this.fail('MALFORMED_VARINT', `${what} continues past 4 bytes`, undefined, start);
  }

  binary(what: string): Buffer {
    const len = this.u16(`${what} length`);
    if (this.pos + len > this.end) {
      this.fail(
        'TRUNCATED',
        `${what} length prefix ${len} overruns the packet (${this.end - this.pos} byte(s) left)`,
        undefined,
        this.pos - 2,
      );
    }
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** A UTF-8 encoded string: well-formed [MQTT-1.5.3-1 / MQTT-1.5.4-1], no U+0000 [MQTT-1.5.3-2 / MQTT-1.5.4-2]. */
  utf8(what: string): string {
    const start = this.pos;
    const bytes = this.binary(what);
    return checkedUtf8(bytes, (code, message) =>
      this.fail(
        code,
        `${what}: ${message}`,
        code === 'NULL_CHARACTER'
          ? this.s('MQTT-1.5.3-2', 'MQTT-1.5.4-2')
          : this.s('MQTT-1.5.3-1', 'MQTT-1.5.4-1'),
        start,
      ),
    );
  }

  rest(): Buffer {
    const out = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return out;
  }

  done(): void {
    if (this.pos !== this.end) {
      this.fail(
        'TRAILING_BYTES',
        `${this.end - this.pos} byte(s) after the last field of ${this.packetType}`,
      );
    }
  }
}

/** Decodes strict UTF-8; short ASCII strings take a fast path without the validator. */
export function checkedUtf8(bytes: Buffer, fail: (code: DecodeErrorCode, message: string) => never): string {
  const n = bytes.length;
  if (n <= 64) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      if (b === 0) return fail('NULL_CHARACTER', `contains U+0000 at byte ${i}`);
      if (b >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return bytes.toString('latin1', 0, n);
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) return fail('NULL_CHARACTER', `contains U+0000 at byte ${nul}`);
  if (!isUtf8(bytes)) return fail('INVALID_UTF8', 'is not well-formed UTF-8');
  return bytes.toString('utf8', 0, n);
}

/** A growable output buffer; the body is written after room reserved for the fixed header. */
export class Writer {
  buf: Buffer;
  pos: number;

  constructor(sizeHint: number, reserve = 5) {
    this.buf = Buffer.allocUnsafe(Math.max(64, sizeHint + reserve));
    this.pos = reserve;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  varint(v: number): void {
    this.ensure(5);
    this.pos = writeVarint(this.buf, this.pos, v);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Length-prefixed UTF-8 string. */
  utf8(s: string): void {
    const len = Buffer.byteLength(s);
    this.ensure(len + 2);
    this.buf[this.pos++] = (len >>> 8) & 0xff;
    this.buf[this.pos++] = len & 0xff;
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  /** Length-prefixed binary data. */
  binary(b: Uint8Array): void {
    this.u16(b.length);
    this.bytes(b);
  }
}

/**
 * Writes `v` as a variable byte integer. Values above the 4-byte maximum keep going, producing the malformed
 * 5-byte-or-longer integer a scenario asked for.
 */
export function writeVarint(buf: Buffer, pos: number, v: number): number {
  do {
    let digit = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) digit |= 0x80;
    buf[pos++] = digit;
  } while (v > 0);
  return pos;
}

/** The fixed header's remaining length, read from `start` (the byte after the packet type). */
export type RemainingLength =
  | { ok: true; value: number /** bytes the length used */; size: number }
  /** More bytes are needed to finish the length. */
  | { ok: false; error: undefined }
  | { ok: false; error: DecodeError };

/**
 * Reads a remaining length of at most 4 bytes, shared by `decode` and the stream framer: more than 4 bytes is
 * `MALFORMED_VARINT`, a longer encoding than needed is `NON_MINIMAL_VARINT` (5.0 [MQTT-1.5.5-1]).
 */
export function readRemainingLength(buf: Uint8Array, start: number, end: number): RemainingLength {
  let value = 0;
  let mult = 1;
  for (let n = 0; n < 4; n++) {
    if (start + n >= end) return { ok: false, error: undefined };
    const b = buf[start + n]!;
    value += (b & 0x7f) * mult;
    mult *= 128;
    if ((b & 0x80) === 0) {
      if (n > 0 && b === 0) {
        return {
          ok: false,
          error: {
            code: 'NON_MINIMAL_VARINT',
            message: 'remaining length is not encoded in the minimum number of bytes',
            offset: start,
          },
        };
      }
      return { ok: true, value, size: n + 1 };
    }
  }
  return {
    ok: false,
    error: { code: 'MALFORMED_VARINT', message: 'remaining length continues past 4 bytes', offset: start },
  };
}

export function varintBytes(v: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  return b.subarray(0, writeVarint(b, 0, v));
}
