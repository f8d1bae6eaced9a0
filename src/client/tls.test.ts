import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectError, RawClient } from './index.js';

/** Self-signed P-256 test certificate for 127.0.0.1 / localhost (100 years), used only by this test. */
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5+d/ThXP/8bbaeDM
guoGL84hQdGSZkr3fmi7q96eun+hRANCAATFXxRG+c3XsPt0q/85AIn44J1nTNzq
k8yWYYX+DDS56WPDKkFyMvtF+2md9sG5abM//7oEqq52MV3q7KzpjaQu
-----END PRIVATE KEY-----`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUfoDqsvrTy3Zy1/EvB99A9DMGOkQwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyODAxMjgzNVoYDzIxMjYxMTA0
MDEyODM1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATFXxRG+c3XsPt0q/85AIn44J1nTNzqk8yWYYX+DDS56WPDKkFyMvtF
+2md9sG5abM//7oEqq52MV3q7KzpjaQuo28wbTAdBgNVHQ4EFgQUDjJUkKVsuCjv
7cL+wmWxbsGirkgwHwYDVR0jBBgwFoAUDjJUkKVsuCjv7cL+wmWxbsGirkgwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSAAwRQIgKNyBuCItCPqIQnoLr3DVgSuBY8iUpCZeGIyGXs6cbCwCIQCs
bq9/bCUClGCU9w6JBNq51PgDHeCH4ukL5aLyuIv5Yg==
-----END CERTIFICATE-----`;

const CONNACK = Buffer.from('20020000', 'hex');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tlsServer(onSecure: (s: tls.TLSSocket) => void): Promise<number> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ key: KEY, cert: CERT }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSecure(s);
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

/** A plain TCP server that accepts and never answers a ClientHello; records when each socket closes. */
async function silentServer(): Promise<{
  port: number;
  accepted: () => number;
  closed: () => Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const closeWaiters: Array<() => void> = [];
  let closedCount = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => {});
    s.resume(); // read (and ignore) the ClientHello, so a FIN from the client is seen
    s.on('close', () => {
      closedCount++;
      for (const w of closeWaiters.splice(0)) w();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    closed: () =>
      closedCount > 0 ? Promise.resolve() : new Promise<void>((resolve) => closeWaiters.push(resolve)),
  };
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settled = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    p.then(settled, settled);
  });
}

describe('RawClient over TLS', () => {
  it('closes the TCP connection when the TLS handshake times out', async () => {
    const server = await silentServer();
    const err = await RawClient.connect({
      host: '127.0.0.1',
      port: server.port,
      tls: { rejectUnauthorized: false },
      connectTimeoutMs: 150,
    }).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe('TIMEOUT');
    expect(server.accepted()).toBe(1);
    expect(await within(server.closed(), 1000)).toBe(true);
  });

  it('exchanges packets and reports a close', async () => {
    let received = Buffer.alloc(0);
    const port = await tlsServer((s) => {
      s.on('data', (d: Buffer) => {
        received = Buffer.concat([received, d]);
        if (received.length >= 2) s.end(CONNACK);
      });
    });
    const client = await RawClient.connect({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false } });
    cleanups.push(() => client.destroy());
    client.sendRaw('c0 00');
    expect((await client.expect({ type: 'connack', reasonCode: 0 }, { timeoutMs: 2000 })).ok).toBe(true);
    expect((await client.expectClosed(2000)).ok).toBe(true);
    expect(received.toString('hex')).toBe('c000');
    expect(client.transcriptText()).toContain('(TLS)');
  });

  it('rejects an untrusted certificate with a ConnectError carrying the TLS code', async () => {
    const port = await tlsServer(() => {});
    const err = await RawClient.connect({ host: '127.0.0.1', port, tls: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toMatch(/CERT|SELF_SIGNED|TLS/);
  });

  it('destroy() falls back to a plain destroy on TLS sockets', async () => {
    const port = await tlsServer(() => {});
    const client = await RawClient.connect({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false } });
    await client.destroy();
    expect(client.closed).toBe(true);
    expect(client.events.at(-1)).toMatchObject({ kind: 'closed', reason: 'local' });
  });
});
