import net from 'node:net';
import { OutgoingFraming } from '../../src/client/outgoing-framing.js';

/**
 * A test-only target in front of a real broker that behaves like a single-threaded broker reading packet by
 * packet with blocking reads: while any client connection has sent part of a packet (a fixed header or
 * remaining length announced, not all of it sent), nothing is forwarded in either direction for anybody,
 * that connection included. It serves again once that connection completes its packet or closes.
 */
export interface StallingProxy {
  host: string;
  port: number;
  /** How many times the proxy stalled. */
  readonly stalls: number;
  close(): Promise<void>;
}

export async function startStallingProxy(target: { host: string; port: number }): Promise<StallingProxy> {
  const sockets = new Set<net.Socket>();
  /** Connections whose client-to-broker stream ends inside a packet. */
  const holders = new Set<object>();
  /** Writes held back while stalled, in order. */
  const held: Array<() => void> = [];
  let stalls = 0;

  const stalled = (): boolean => holders.size > 0;
  const flush = (): void => {
    while (!stalled() && held.length > 0) held.shift()!();
  };
  const forward = (fn: () => void): void => {
    if (stalled()) held.push(fn);
    else fn();
  };

  const server = net.createServer((client) => {
    const broker = net.connect({ host: target.host, port: target.port });
    const id = {};
    const framing = new OutgoingFraming();
    for (const s of [client, broker]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      const wasStalled = stalled();
      framing.push(chunk, 0);
      if (framing.incomplete) holders.add(id);
      // The bytes of the holder are stuck too: the broker is blocked reading them.
      forward(() => {
        if (!broker.destroyed) broker.write(chunk);
      });
      if (!framing.incomplete && holders.delete(id)) flush();
      if (!wasStalled && stalled()) stalls++;
    });
    broker.on('data', (chunk: Buffer) =>
      forward(() => {
        if (!client.destroyed) client.write(chunk);
      }),
    );
    const gone = (): void => {
      client.destroy();
      broker.destroy();
      if (holders.delete(id)) flush();
    };
    client.on('close', gone);
    broker.on('close', () => forward(gone));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    get stalls() {
      return stalls;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
