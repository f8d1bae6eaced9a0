/**
 * Splits a byte stream into whole MQTT packets (fixed header + remaining length) before decoding, so each
 * packet can be decoded with the protocol version in force when it is reached (a client may send CONNECT
 * and the next packets in one write). The size limit is checked from the fixed header alone, so an
 * announced 256 MB packet is refused before any of it is buffered.
 */
export type FrameError = 'MALFORMED_VARINT' | 'PACKET_TOO_LARGE';

export class Framer {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Bytes needed before the pending data can yield a packet (0: header not complete yet). */
  private need = 0;
  dead = false;

  constructor(private readonly maxPacketSize: number) {}

  /**
   * Feeds a chunk; `onFrame` gets each whole packet (a view into the chunk when possible) and returns false
   * to stop. Returns an error when the stream is malformed; the framer is dead afterwards.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => boolean): FrameError | undefined {
    if (this.dead) return undefined;
    let buf: Buffer;
    if (this.pendingLen === 0) {
      buf = chunk;
    } else {
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
      if (this.need > 0 && this.pendingLen < this.need) return undefined;
      buf = Buffer.concat(this.pending, this.pendingLen);
      this.pending = [];
      this.pendingLen = 0;
      this.need = 0;
    }
    let off = 0;
    const len = buf.length;
    while (off < len) {
      // Fixed header: type byte, then a variable byte integer of at most 4 bytes.
      let remaining = 0;
      let mult = 1;
      let pos = off + 1;
      let complete = false;
      for (let i = 0; i < 4 && pos < len; i++) {
        const b = buf[pos++]!;
        remaining += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
        if (i === 3) {
          this.dead = true;
          return 'MALFORMED_VARINT';
        }
      }
      if (!complete) {
        this.keep(buf, off, 0);
        return undefined;
      }
      const total = pos - off + remaining;
      if (total > this.maxPacketSize) {
        this.dead = true;
        return 'PACKET_TOO_LARGE';
      }
      if (off + total > len) {
        this.keep(buf, off, total);
        return undefined;
      }
      const frame = buf.subarray(off, off + total);
      off += total;
      if (!onFrame(frame)) {
        this.dead = true;
        return undefined;
      }
    }
    return undefined;
  }

  private keep(buf: Buffer, off: number, need: number): void {
    // Copy the tail so a small leftover does not pin a large socket chunk.
    const tail = Buffer.from(buf.subarray(off));
    this.pending = [tail];
    this.pendingLen = tail.length;
    this.need = need;
  }
}
