import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const EMPTY = Buffer.alloc(0);

/**
 * Answers a WebSocket upgrade for MQTT (RFC 6455, MQTT section 6): the client must offer the `mqtt`
 * subprotocol and the server selects it [MQTT-6.0.0-4]. Returns the MQTT byte stream, or undefined after
 * refusing the handshake.
 */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  maxFrame: number,
): WebSocketStream | undefined {
  const key = req.headers['sec-websocket-key'];
  const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  if (
    String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' ||
    typeof key !== 'string' ||
    req.headers['sec-websocket-version'] !== '13' ||
    !protocols.includes('mqtt')
  ) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return undefined;
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
  );
  return new WebSocketStream(socket, head, maxFrame);
}

function frameHeader(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, length]);
  if (length < 65536) {
    const h = Buffer.allocUnsafe(4);
    h[0] = 0x80 | opcode;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = 0x80 | opcode;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/**
 * The MQTT byte stream inside a WebSocket: binary (and continuation) frame payloads are pushed as bytes,
 * whatever the frame boundaries [MQTT-6.0.0-2]; a text frame closes the connection [MQTT-6.0.0-1]. Writes go
 * out as binary frames; corked writes become one frame.
 */
export class WebSocketStream extends Duplex {
  private buf: Buffer = EMPTY;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Bytes needed before parsing can make progress. */
  private need = 0;
  private textMessage = false;
  private closing = false;

  constructor(
    private readonly socket: Socket,
    head: Buffer,
    private readonly maxFrame: number,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.destroy());
    // HTTP servers allow half-open sockets, so a peer's FIN alone would leave this stream open forever.
    socket.on('end', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
    if (head.length > 0) this.onData(head);
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  setNoDelay(noDelay = true): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  private onData(chunk: Buffer): void {
    // Chunks are only joined once the frame they belong to is complete, so a large frame arriving in
    // many small chunks costs one copy, not one per chunk.
    this.pending.push(chunk);
    this.pendingLen += chunk.length;
    if (this.pendingLen < this.need) return;
    this.buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    this.need = 0;
    this.parse();
    if (this.buf.length > 0 && !this.destroyed) {
      this.pending = [this.buf];
      this.pendingLen = this.buf.length;
    }
    this.buf = EMPTY;
  }

  private parse(): void {
    while (this.buf.length >= 2 && !this.destroyed) {
      const b0 = this.buf[0]!;
      const b1 = this.buf[1]!;
      const opcode = b0 & 0x0f;
      if ((b0 & 0x70) !== 0) {
        // No extension was negotiated, so RSV1-3 must be 0 (RFC 6455 5.2).
        this.fail(1002);
        return;
      }
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let pos = 2;
      if (len === 126) {
        if (this.buf.length < 4) {
          this.need = 4;
          return;
        }
        len = this.buf.readUInt16BE(2);
        pos = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) {
          this.need = 10;
          return;
        }
        const big = this.buf.readBigUInt64BE(2);
        if (big > BigInt(this.maxFrame)) {
          this.fail(1009);
          return;
        }
        len = Number(big);
        pos = 10;
      }
      // Client frames are masked (RFC 6455 5.1); oversized frames are refused before buffering.
      if (!masked) {
        this.fail(1002);
        return;
      }
      if (len > this.maxFrame) {
        this.fail(1009);
        return;
      }
      if (this.buf.length < pos + 4 + len) {
        this.need = pos + 4 + len;
        return;
      }
      const mask = this.buf.subarray(pos, pos + 4);
      const payload = Buffer.from(this.buf.subarray(pos + 4, pos + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      this.buf = this.buf.subarray(pos + 4 + len);
      switch (opcode) {
        case 0x0:
          if (this.textMessage) {
            this.fail(1003);
            return;
          }
          this.push(payload);
          break;
        case 0x2:
          this.textMessage = false;
          this.push(payload);
          break;
        case 0x1:
          // MQTT travels in binary frames only [MQTT-6.0.0-1].
          this.textMessage = true;
          this.fail(1003);
          return;
        case 0x8:
          this.closeFrame(1000);
          this.socket.end();
          return;
        case 0x9:
          this.socket.write(Buffer.concat([frameHeader(0xa, payload.length), payload]));
          break;
        case 0xa:
          break;
        default:
          this.fail(1002);
          return;
      }
    }
  }

  private closeFrame(code: number): void {
    if (this.closing || this.socket.destroyed || this.socket.writableEnded) return;
    this.closing = true;
    const body = Buffer.allocUnsafe(2);
    body.writeUInt16BE(code, 0);
    this.socket.write(Buffer.concat([frameHeader(0x8, 2), body]));
  }

  private fail(code: number): void {
    this.closeFrame(code);
    this.socket.end();
    this.destroy();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed) {
      cb();
      return;
    }
    this.socket.write(Buffer.concat([frameHeader(0x2, chunk.length), chunk]), () => cb());
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    const body = Buffer.concat(chunks.map((c) => c.chunk));
    this._write(body, 'binary', cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.closeFrame(1000);
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
