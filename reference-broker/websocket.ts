import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

/** How long a close handshake the broker started may take before the socket is cut. */
const CLOSE_GRACE_MS = 1000;

/**
 * MQTT over WebSocket (MQTT section 6) on the `ws` package: RFC 6455 framing, fragmentation, control frames,
 * masking and the close handshake are its job; this adds what MQTT asks of the server on top.
 */
export class MqttWebSocketServer {
  private readonly wss: WebSocketServer;

  constructor(maxFrame: number) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: maxFrame,
      perMessageDeflate: false,
      // The server selects the mqtt subprotocol the client offers [MQTT-6.0.0-4].
      handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : false),
    });
  }

  /**
   * Answers an upgrade request: a client that does not offer `mqtt` is refused with 400; otherwise the MQTT
   * byte stream is handed to `accept`.
   */
  handleUpgrade(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    accept: (s: WebSocketStream) => void,
  ): void {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    if (!offered.includes('mqtt')) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.on('error', () => socket.destroy());
    this.wss.handleUpgrade(req, socket, head, (ws) => accept(new WebSocketStream(ws, socket)));
  }
}

/**
 * The MQTT byte stream inside a WebSocket: binary message payloads are pushed as bytes, whatever the frame
 * boundaries [MQTT-6.0.0-2]; a text message closes the connection (1003) [MQTT-6.0.0-1]. Each write goes out
 * as one binary message.
 */
export class WebSocketStream extends Duplex {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
  ) {
    super();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        // MQTT travels in binary frames only [MQTT-6.0.0-1].
        this.closeWs(1003);
        this.destroy();
        return;
      }
      this.push(toBuffer(data));
    });
    ws.on('close', () => this.destroy());
    ws.on('error', () => this.destroy());
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

  private closeWs(code: number): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.close(code);
    // A peer that never answers the close frame does not hold the socket.
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      cb();
      return;
    }
    this.ws.send(chunk, { binary: true }, () => cb());
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'binary', cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.closeWs(1000);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // What was written goes out before the close frame (one socket, in order).
    this.closeWs(1000);
    cb(err);
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
