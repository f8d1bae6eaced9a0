import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { createWebSocketStream, WebSocketServer } from 'ws';

export interface WsBridge {
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A WebSocket listener (subprotocol `mqtt`, any path) that carries each connection to a TCP broker: any TCP
 * target, the faulty and buggy test proxies included, becomes reachable over ws://.
 */
export async function startWsBridge(upstream: { host: string; port: number }): Promise<WsBridge> {
  const http: Server = createServer();
  const wss = new WebSocketServer({
    server: http,
    handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : false),
  });
  const sockets = new Set<net.Socket>();
  wss.on('connection', (ws) => {
    const stream = createWebSocketStream(ws);
    const tcp = net.connect(upstream);
    sockets.add(tcp);
    const end = (): void => {
      stream.destroy();
      tcp.destroy();
    };
    stream.on('error', end);
    tcp.on('error', end);
    tcp.on('close', () => {
      sockets.delete(tcp);
      // The broker closed: the WebSocket closes too, so the client sees it.
      ws.terminate();
    });
    stream.on('close', () => tcp.destroy());
    stream.pipe(tcp);
    tcp.pipe(stream);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const port = (http.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    async close() {
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
