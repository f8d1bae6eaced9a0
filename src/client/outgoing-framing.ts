/**
 * Follows the packet boundaries of the bytes a client writes, without keeping them: tells whether the
 * stream ends inside a packet (a fixed header or remaining length announced but not all sent). A broker that
 * reads packet by packet may be waiting on such a connection; a single-threaded one may even stop serving
 * everybody else. A remaining length of five or more bytes cannot be framed: the stream counts as incomplete
 * from there on (the broker may be waiting for anything).
 */
export class OutgoingFraming {
  /** Bytes of the current packet's body still to come; 0 between packets. */
  private bodyLeft = 0;
  /** Bytes of a fixed header read so far (type byte and remaining-length bytes), between packets. */
  private header: number[] = [];
  private unframeable = false;
  /** When the stream last went from complete to incomplete (caller's clock), or undefined while complete. */
  incompleteSince: number | undefined;

  get incomplete(): boolean {
    return this.unframeable || this.bodyLeft > 0 || this.header.length > 0;
  }

  /** Accounts for bytes written at time `at`. */
  push(bytes: Uint8Array, at: number): void {
    if (this.unframeable) return;
    const wasIncomplete = this.incomplete;
    let i = 0;
    while (i < bytes.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, bytes.length - i);
        this.bodyLeft -= n;
        i += n;
        continue;
      }
      this.header.push(bytes[i]!);
      i++;
      if (this.header.length === 1) continue;
      const last = this.header[this.header.length - 1]!;
      if (last & 0x80) {
        if (this.header.length === 5) {
          this.unframeable = true;
          break;
        }
        continue;
      }
      let length = 0;
      for (let k = this.header.length - 1; k >= 1; k--) length = length * 128 + (this.header[k]! & 0x7f);
      this.header = [];
      this.bodyLeft = length;
    }
    const nowIncomplete = this.incomplete;
    if (!wasIncomplete && nowIncomplete) this.incompleteSince = at;
    else if (!nowIncomplete) this.incompleteSince = undefined;
  }
}
