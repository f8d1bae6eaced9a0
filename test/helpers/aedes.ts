import net from 'node:net';

export interface RunningBroker {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts an in-process aedes 1.x broker (MQTT 3.1.1) on 127.0.0.1 at an OS-chosen port. */
export async function startAedes(): Promise<RunningBroker> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('aedes: server has no address');
  let stopped = false;
  return {
    host: '127.0.0.1',
    port: address.port,
    async stop() {
      if (stopped) return;
      stopped = true;
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await serverClosed;
    },
  };
}
