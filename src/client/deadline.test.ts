import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { setDeadline } from './deadline.js';
import { RawClient } from './index.js';

/** Keeps this thread busy (no timers, no I/O) for `ms`: a stalled process on a loaded machine. */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('setDeadline', () => {
  it('fires after its time when nothing else happens', async () => {
    const t0 = performance.now();
    await new Promise<void>((resolve) => setDeadline(resolve, 30));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
  });

  it('does not fire once cleared', async () => {
    let fired = false;
    const d = setDeadline(() => {
      fired = true;
    }, 10);
    d.clear();
    await new Promise((r) => setTimeout(r, 40));
    expect(fired).toBe(false);
  });
});

describe('a blocked event loop does not turn I/O that arrived in time into a timeout', () => {
  it('a connection established while the loop was blocked past the connect timeout is kept', async () => {
    const server = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;
    // Started from the check phase, so that the loop's next step after the block is its timers, as when a
    // busy process comes back to a connection made meanwhile.
    await new Promise((r) => setImmediate(r));
    const connecting = RawClient.connect({ host: '127.0.0.1', port, connectTimeoutMs: 50, name: 'c' });
    // The kernel completes the handshake at once; the process only sees it after the block, when the 50 ms
    // timer is overdue too.
    blockEventLoop(300);
    const client = await connecting;
    cleanups.push(() => client.destroy());
    expect(client).toBeInstanceOf(RawClient);
  });

  it('a packet that arrived while the loop was blocked past the wait is returned, not a timeout', async () => {
    // The server runs in a thread of its own, so it answers while this one is blocked.
    const worker = new Worker(
      `const net = require('node:net');
       const { parentPort } = require('node:worker_threads');
       const server = net.createServer((s) => {
         s.on('error', () => {});
         setTimeout(() => s.write(Buffer.from('d000', 'hex')), 20);
       });
       server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
      { eval: true },
    );
    cleanups.push(() => worker.terminate());
    const port = await new Promise<number>((r) => worker.once('message', r));
    const client = await RawClient.connect({ host: '127.0.0.1', port, name: 'c' });
    cleanups.push(() => client.destroy());
    const waiting = client.next(50);
    // The PINGRESP is sent 20 ms after the connection, while this thread is blocked past the 50 ms.
    blockEventLoop(300);
    const event = await waiting;
    expect(event).toMatchObject({ kind: 'packet', packet: { type: 'pingresp' } });
  });
});
