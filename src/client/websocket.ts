import { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { type RawData, WebSocket } from 'ws';

/** Where a WebSocket target listens: `ws://host:port/path` or, with `tls`, `wss://`. */
export interface WebSocketTarget {
  host: string;
  port: number;
  /** Request path from the target URL (default `/`). */
  path: string;
  tls?: boolean | ConnectionOptions;
}

/** A WebSocket handshake that failed, with a stable code (HTTP status, TLS, network). */
export class WebSocketConnectError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The MQTT byte stream inside a client WebSocket: every write goes out as one binary message (so a packet
 * written in pieces spans several frames, which the server must accept [MQTT-6.0.0-2]); binary messages
 * from the server are pushed as bytes. A text message from the server is counted (`textMessages`) and
 * emitted as 'text-message' instead: MQTT is carried in binary frames only [MQTT-6.0.0-1].
 */
export class WebSocketStream extends Duplex {
  /** Text (non-binary) messages received: a conforming server sends none [MQTT-6.0.0-1]. */
  textMessages = 0;
  /** The close code the server sent, once the WebSocket is closed. */
  closeCode: number | undefined;

  constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        this.textMessages++;
        this.emit('text-message', toBuffer(data));
        return;
      }
      this.push(toBuffer(data));
    });
    ws.on('close', (code: number) => {
      this.closeCode = code;
      this.push(null);
      // Ends the writable side too, so the stream emits 'close' like a socket.
      setImmediate(() => this.destroy());
    });
    ws.on('error', (err) => this.destroy(err));
  }

  /** The subprotocol the server selected (MQTT requires `mqtt` [MQTT-6.0.0-4]). */
  get protocol(): string {
    return this.ws.protocol;
  }

  /** Sends bytes in a text frame: for cases that check a server closes on one [MQTT-6.0.0-1]. */
  sendText(bytes: Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes, { binary: false });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      cb();
      return;
    }
    this.ws.send(chunk, { binary: true }, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
    cb(err);
  }
}

/**
 * Opens a WebSocket to the target offering the `mqtt` subprotocol [MQTT-6.0.0-3] and resolves with the MQTT
 * byte stream once the handshake is done. A server that answers without selecting `mqtt` is refused by the
 * handshake (the ws package checks the selected subprotocol against those offered).
 */
export function connectWebSocket(
  target: WebSocketTarget,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<WebSocketStream> {
  const secure = target.tls !== undefined && target.tls !== false;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const url = `${secure ? 'wss' : 'ws'}://${host}:${target.port}${target.path}`;
  const tlsOptions = typeof target.tls === 'object' ? target.tls : {};
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'mqtt', {
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
      ...tlsOptions,
    });
    let settled = false;
    const fail = (code: string, message: string): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      ws.terminate();
      reject(new WebSocketConnectError(code, message));
    };
    const onAbort = (): void => fail('ABORTED', 'connect aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('unexpected-response', (_req, res) => {
      fail(`HTTP_${res.statusCode}`, `WebSocket handshake refused: HTTP ${res.statusCode} for ${url}`);
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (/subprotocol/i.test(err.message)) {
        // The server must select the mqtt subprotocol the client offers [MQTT-6.0.0-4].
        fail(
          'WS_SUBPROTOCOL',
          `WebSocket ${url}: the server did not select the mqtt subprotocol [MQTT-6.0.0-4] (${err.message})`,
        );
        return;
      }
      const code = err.code ?? (/timed out/i.test(err.message) ? 'TIMEOUT' : 'WS');
      fail(code, `WebSocket ${url}: ${err.message}`);
    });
    ws.on('close', () => fail('CLOSED', `WebSocket ${url} closed during the handshake`));
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      ws.removeAllListeners('error');
      ws.removeAllListeners('close');
      ws.removeAllListeners('unexpected-response');
      resolve(new WebSocketStream(ws));
    });
  });
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
