import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encode } from '../codec/index.js';
import { ConnectError, describeFailure, InvalidHexError, RawClient } from './index.js';

/**
 * These tests drive the client's own framing and event handling with a local net.Server that writes chosen
 * bytes; they say nothing about any broker's behaviour.
 */

const CONNACK = Buffer.from('20020000', 'hex');
const PINGRESP = Buffer.from('d000', 'hex');
const SUBACK = Buffer.from('9003000100', 'hex');
/** PUBLISH QoS 0, topic "a/b", payload "hi". */
const PUBLISH_Q0 = Buffer.from('3007' + '0003612f62' + '6869', 'hex');
/** PUBLISH QoS 1, packet id 7, topic "a/b", payload "hi". */
const PUBLISH_Q1 = Buffer.from('3209' + '0003612f62' + '0007' + '6869', 'hex');
/** PUBLISH with both QoS bits set [MQTT-3.3.1-4]. */
const PUBLISH_Q3 = Buffer.from('3607' + '0003612f62' + '6869', 'hex');

class TestServer {
  readonly server = net.createServer();
  private readonly sockets: net.Socket[] = [];
  private readonly all = new Set<net.Socket>();
  private readonly waiting: Array<(s: net.Socket) => void> = [];
  received = Buffer.alloc(0);
  private readonly dataWaiters = new Set<() => void>();
  peerEnded = false;
  peerError: string | undefined;

  async listen(): Promise<number> {
    this.server.on('connection', (s) => {
      s.setNoDelay(true);
      this.all.add(s);
      s.on('data', (d: Buffer) => {
        this.received = Buffer.concat([this.received, d]);
        for (const w of [...this.dataWaiters]) w();
      });
      s.on('end', () => {
        this.peerEnded = true;
        for (const w of [...this.dataWaiters]) w();
      });
      s.on('error', (e: NodeJS.ErrnoException) => {
        this.peerError = e.code;
        for (const w of [...this.dataWaiters]) w();
      });
      const w = this.waiting.shift();
      if (w) w(s);
      else this.sockets.push(s);
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  connection(): Promise<net.Socket> {
    const s = this.sockets.shift();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Resolves once `cond()` holds, re-checked whenever the peer sends, ends or errors. */
  until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          this.dataWaiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.dataWaiters.delete(check);
        reject(new Error('TestServer.until timed out'));
      }, timeoutMs);
      this.dataWaiters.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    for (const s of this.all) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function writeAndFlush(s: net.Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => s.write(bytes, () => resolve()));
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Partial<Parameters<typeof RawClient.connect>[0]> = {}) {
  const server = new TestServer();
  const port = await server.listen();
  const client = await RawClient.connect({ host: '127.0.0.1', port, name: 'c1', ...opts });
  const peer = await server.connection();
  cleanups.push(() => server.close());
  cleanups.push(() => client.destroy());
  return { server, client, peer, port };
}

describe('RawClient.connect', () => {
  it('rejects with ConnectError ECONNREFUSED when nothing listens', async () => {
    const server = new TestServer();
    const port = await server.listen();
    await server.close();
    const err = await RawClient.connect({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe('ECONNREFUSED');
  });

  it('rejects with ConnectError TIMEOUT when a TLS handshake never completes', async () => {
    const server = new TestServer();
    const port = await server.listen();
    cleanups.push(() => server.close());
    const err = await RawClient.connect({
      host: '127.0.0.1',
      port,
      tls: { rejectUnauthorized: false },
      connectTimeoutMs: 150,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe('TIMEOUT');
  });

  it('rejects a pending connect at once with ABORTED when its signal aborts, and closes the socket', async () => {
    const server = new TestServer();
    const port = await server.listen();
    cleanups.push(() => server.close());
    const ac = new AbortController();
    const connecting = RawClient.connect({
      host: '127.0.0.1',
      port,
      tls: { rejectUnauthorized: false },
      connectTimeoutMs: 5000,
      signal: ac.signal,
    }).catch((e: unknown) => e);
    await server.connection(); // TCP is up; the TLS handshake hangs (the server never answers)
    const t0 = performance.now();
    ac.abort();
    const err = await connecting;
    expect(performance.now() - t0).toBeLessThan(500);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe('ABORTED');
    await server.until(() => server.peerEnded || server.peerError !== undefined, 1000);
  });

  it('rejects with ABORTED at once when the signal is already aborted', async () => {
    const server = new TestServer();
    const port = await server.listen();
    cleanups.push(() => server.close());
    const err = await RawClient.connect({ host: '127.0.0.1', port, signal: AbortSignal.abort() }).catch(
      (e: unknown) => e,
    );
    expect((err as ConnectError).code).toBe('ABORTED');
  });

  it('ignores the signal once connected', async () => {
    const ac = new AbortController();
    const { client } = await setup({ signal: ac.signal });
    ac.abort();
    expect((await client.expectNothing(50)).ok).toBe(true);
    expect(client.closed).toBe(false);
  });

  it('sends nothing by itself', async () => {
    const { client } = await setup();
    expect((await client.expectNothing(80)).ok).toBe(true);
    expect(client.transcript().filter((e) => e.dir === 'out')).toHaveLength(0);
  });
});

describe('framing and events', () => {
  it('frames packets delivered one byte at a time', async () => {
    const { client, peer } = await setup();
    const all = Buffer.concat([CONNACK, PUBLISH_Q0]);
    for (const byte of all) await writeAndFlush(peer, Buffer.from([byte]));
    const a = await client.next(1000);
    const b = await client.next(1000);
    expect(a?.kind === 'packet' && a.packet).toEqual({
      type: 'connack',
      sessionPresent: false,
      reasonCode: 0,
    });
    expect(a?.kind === 'packet' && a.raw.equals(CONNACK)).toBe(true);
    expect(b?.kind === 'packet' && b.packet).toMatchObject({ type: 'publish', topic: 'a/b', qos: 0 });
    expect(b?.kind === 'packet' && b.raw.equals(PUBLISH_Q0)).toBe(true);
  });

  it('splits several packets arriving in one chunk', async () => {
    const { client, peer } = await setup();
    peer.write(Buffer.concat([CONNACK, PINGRESP, SUBACK]));
    for (const type of ['connack', 'pingresp', 'suback'] as const) {
      expect((await client.expect({ type }, { timeoutMs: 1000 })).ok).toBe(true);
    }
  });

  it('takes the 3.1.1 CONNACK 0x01 as a refusal of a CONNECT with an unknown level, then sees the close', async () => {
    const { client, peer } = await setup({ protocolVersion: 5 });
    client.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 9,
      clean: true,
      keepAlive: 60,
      clientId: 'x',
      properties: {},
    });
    peer.write(Buffer.from('20020001', 'hex'));
    const r = await client.expect({ type: 'connack', reasonCode: 1 }, { timeoutMs: 1000 });
    expect(r.ok).toBe(true);
    expect(client.closed).toBe(false);
    peer.end();
    expect((await client.expectClosed(1000)).ok).toBe(true);
  });

  it('reports a peer FIN as closed/end', async () => {
    const { client, peer } = await setup();
    peer.end();
    const r = await client.expectClosed(1000);
    expect(r.ok && r.event.kind === 'closed' && r.event.reason).toBe('end');
    expect(client.closed).toBe(true);
  });

  it('mentions an incomplete packet pending at FIN', async () => {
    const { client, peer } = await setup();
    peer.end(PUBLISH_Q0.subarray(0, 4));
    const r = await client.expectClosed(1000);
    expect(r.ok && r.event.kind === 'closed' && r.event.detail).toMatch(
      /4 byte\(s\) of an incomplete packet/,
    );
  });

  it('reports a TCP reset as closed/reset', async () => {
    const { client, peer } = await setup();
    await writeAndFlush(peer, CONNACK);
    expect((await client.expect({ type: 'connack' }, { timeoutMs: 1000 })).ok).toBe(true);
    peer.resetAndDestroy();
    const r = await client.expectClosed(1000);
    expect(r.ok && r.event.kind === 'closed' && r.event.reason).toBe('reset');
  });

  it('turns malformed bytes into one malformed event and drops the connection', async () => {
    const { client, peer, server } = await setup();
    peer.write(Buffer.concat([CONNACK, PUBLISH_Q3, PINGRESP]));
    expect((await client.expect({ type: 'connack' }, { timeoutMs: 1000 })).ok).toBe(true);
    const r = await client.expect({ type: 'publish' }, { timeoutMs: 1000 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('malformed');
    expect(r.actual?.kind === 'malformed' && r.actual.error.code).toBe('INVALID_QOS');
    expect(r.actual?.kind === 'malformed' && r.actual.error.statement).toBe('MQTT-3.3.1-4');
    const closed = await client.next(1000);
    expect(closed).toMatchObject({ kind: 'closed', reason: 'local' });
    expect(await client.next(1000)).toBeUndefined();
    expect(client.events.filter((e) => e.kind === 'malformed')).toHaveLength(1);
    expect(client.events.some((e) => e.kind === 'packet' && e.packet.type === 'pingresp')).toBe(false);
    await server.until(() => server.peerEnded || server.peerError !== undefined);
  });

  it('declares an oversized announced packet malformed without buffering it', async () => {
    const { client, peer } = await setup({ maxPacketSize: 100 });
    peer.write(Buffer.from('30ffff7f', 'hex'));
    const e = await client.next(1000);
    expect(e?.kind === 'malformed' && e.error.code).toBe('PACKET_TOO_LARGE');
  });

  it('stamps events with increasing times relative to creation', async () => {
    const { client, peer } = await setup();
    await writeAndFlush(peer, CONNACK);
    await client.next(1000);
    await writeAndFlush(peer, PINGRESP);
    await client.next(1000);
    const [a, b] = client.events;
    expect(a!.at).toBeGreaterThanOrEqual(0);
    expect(b!.at).toBeGreaterThanOrEqual(a!.at);
  });
});

describe('limits', () => {
  it('closes with a clear detail when unconsumed events exceed maxInboxEvents', async () => {
    const { client, server, peer } = await setup({ maxInboxEvents: 10 });
    peer.write(Buffer.concat(Array.from({ length: 50 }, () => PINGRESP)));
    await server.until(() => server.peerEnded || server.peerError !== undefined);
    const packets = client.events.filter((e) => e.kind === 'packet');
    expect(packets).toHaveLength(10);
    const closed = client.events.at(-1);
    expect(closed).toMatchObject({
      kind: 'closed',
      reason: 'local',
      detail: 'inbox overflow: more than 10 unconsumed events',
    });
    for (let i = 0; i < 10; i++)
      expect((await client.expect({ type: 'pingresp' }, { timeoutMs: 100 })).ok).toBe(true);
    const r = await client.expect({ type: 'pingresp' }, { timeoutMs: 100 });
    expect(r).toMatchObject({
      ok: false,
      reason: 'closed',
      actual: { detail: expect.stringMatching(/inbox overflow/) },
    });
    expect(client.transcriptText()).toMatch(
      /closed \(local: inbox overflow: more than 10 unconsumed events\)/,
    );
  });

  it('counts only unconsumed events against maxInboxEvents', async () => {
    const { client, peer } = await setup({ maxInboxEvents: 3 });
    for (let round = 0; round < 3; round++) {
      peer.write(Buffer.concat([PINGRESP, PINGRESP, PINGRESP]));
      for (let i = 0; i < 3; i++)
        expect((await client.expect({ type: 'pingresp' }, { timeoutMs: 1000 })).ok).toBe(true);
    }
    expect((await client.expectNothing(50)).ok).toBe(true);
    expect(client.closed).toBe(false);
  });

  it('keeps the first maxTranscriptEntries entries, counts the rest and keeps the close', async () => {
    const { client, peer } = await setup({ maxTranscriptEntries: 5 });
    peer.end(Buffer.concat(Array.from({ length: 20 }, () => PINGRESP)));
    await client.expectClosed(1000, { skip: ['pingresp'] });
    expect(client.events.filter((e) => e.kind === 'packet')).toHaveLength(20);
    const t = client.transcript();
    // 'connected' + 4 PINGRESPs kept, 16 PINGRESPs dropped, then the dropped-count line and the close
    expect(t).toHaveLength(7);
    expect(t.slice(1, 5).every((e) => e.dir === 'in')).toBe(true);
    expect(t[5]).toMatchObject({ dir: 'event', note: '16 more transcript entries not recorded (limit 5)' });
    expect(t[6]).toMatchObject({ dir: 'event', note: 'closed (end)' });
    const lines = client.transcriptText().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[5]).toMatch(/c1 -- 16 more transcript entries not recorded \(limit 5\)$/);
  });
});

describe('expect semantics', () => {
  it('matches partially and reports mismatching fields', async () => {
    const { client, peer } = await setup();
    peer.write(Buffer.concat([PUBLISH_Q1, PUBLISH_Q1]));
    const ok = await client.expect(
      { type: 'publish', topic: 'a/b', payload: 'hi', qos: 1 },
      { timeoutMs: 1000 },
    );
    expect(ok.ok).toBe(true);
    const bad = await client.expect({ type: 'publish', payload: 'ho', packetId: 8 }, { timeoutMs: 1000 });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.reason).toBe('unexpected');
    expect(bad.mismatches).toEqual(['payload: expected "ho", got "hi"', 'packetId: expected 8, got 7']);
    expect(describeFailure(bad)).toContain('Expected: PUBLISH {payload: "ho", packetId: 8}');
  });

  it('fails on an unrelated packet unless its type is skipped', async () => {
    const { client, peer } = await setup();
    peer.write(Buffer.concat([PINGRESP, SUBACK, PINGRESP, SUBACK]));
    const bad = await client.expect({ type: 'suback' }, { timeoutMs: 1000 });
    expect(bad).toMatchObject({ ok: false, reason: 'unexpected', expected: 'SUBACK' });
    expect(!bad.ok && bad.actual?.kind === 'packet' && bad.actual.packet.type).toBe('pingresp');
    // the unexpected PINGRESP was consumed; the SUBACK is next
    expect((await client.expect({ type: 'suback' }, { timeoutMs: 1000 })).ok).toBe(true);
    const skipped = await client.expect(
      { type: 'suback', packetId: 1 },
      { timeoutMs: 1000, skip: ['pingresp'] },
    );
    expect(skipped.ok).toBe(true);
  });

  it('skips by partial match', async () => {
    const { client, peer } = await setup();
    peer.write(Buffer.concat([PUBLISH_Q0, SUBACK]));
    const r = await client.expect(
      { type: 'suback' },
      { timeoutMs: 1000, skip: [{ type: 'publish', topic: 'a/b' }] },
    );
    expect(r.ok).toBe(true);
  });

  it('accepts a predicate', async () => {
    const { client, peer } = await setup();
    peer.write(SUBACK);
    const r = await client.expect((e) => e.kind === 'packet' && e.packet.type === 'suback', {
      timeoutMs: 1000,
    });
    expect(r.ok).toBe(true);
  });

  it('times out when nothing arrives', async () => {
    const { client } = await setup();
    const t0 = performance.now();
    const r = await client.expect({ type: 'connack' }, { timeoutMs: 60 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    expect(r).toEqual({ ok: false, reason: 'timeout', expected: 'CONNACK' });
  });

  it('resolves as soon as the packet arrives, not at the timeout', async () => {
    const { client, peer } = await setup();
    setTimeout(() => peer.write(CONNACK), 20);
    const t0 = performance.now();
    const r = await client.expect({ type: 'connack' }, { timeoutMs: 5000 });
    expect(r.ok).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('gives reason closed when the connection closes first, and at once afterwards', async () => {
    const { client, peer } = await setup();
    peer.end();
    const r = await client.expect({ type: 'connack' }, { timeoutMs: 1000 });
    expect(r).toMatchObject({ ok: false, reason: 'closed', actual: { kind: 'closed', reason: 'end' } });
    const t0 = performance.now();
    const again = await client.expect({ type: 'connack' }, { timeoutMs: 5000 });
    expect(again).toMatchObject({ ok: false, reason: 'closed' });
    expect(performance.now() - t0).toBeLessThan(100);
    expect(await client.next(5000)).toBeUndefined();
  });

  it('expectClosed fails on a packet first unless skipped', async () => {
    const first = await setup();
    first.peer.end(PINGRESP);
    const r1 = await first.client.expectClosed(1000);
    expect(r1).toMatchObject({ ok: false, reason: 'unexpected', expected: 'connection closed' });
    const second = await setup();
    second.peer.end(PINGRESP);
    expect((await second.client.expectClosed(1000, { skip: ['pingresp'] })).ok).toBe(true);
  });

  it('expectClosed times out while the connection stays open', async () => {
    const { client } = await setup();
    expect(await client.expectClosed(50)).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it('expectNothing fails on any event in the window', async () => {
    const { client, peer } = await setup();
    setTimeout(() => peer.write(PINGRESP), 20);
    const r = await client.expectNothing(1000);
    expect(r).toMatchObject({ ok: false, reason: 'unexpected', expected: 'nothing for 1000 ms' });
    peer.end();
    expect(await client.expectNothing(1000)).toMatchObject({ ok: false, reason: 'closed' });
  });
});

describe('sending', () => {
  it('writes encoded packets and raw hex exactly', async () => {
    const { client, server } = await setup();
    const connect = {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 30,
      clientId: 'c1',
    } as const;
    const sent = client.send(connect);
    expect(sent.equals(encode(connect))).toBe(true);
    const raw = client.sendRaw('c0 00');
    expect(raw.equals(Buffer.from([0xc0, 0x00]))).toBe(true);
    await server.until(() => server.received.length === sent.length + 2);
    expect(server.received.equals(Buffer.concat([sent, raw]))).toBe(true);
    expect(() => client.sendRaw('c0 0')).toThrow(InvalidHexError);
    expect(() => client.sendRaw('zz')).toThrow(InvalidHexError);
  });

  it('applies encode overrides', async () => {
    const { client } = await setup();
    const bytes = client.send({ type: 'pingreq' }, { overrides: { flags: 1 } });
    expect(bytes.toString('hex')).toBe('c100');
    expect(client.transcriptText()).toMatch(/PINGREQ \(overrides \{flags: 1\}\)/);
  });

  it('switches to 5.0 decoding when it sends a 5.0 CONNECT', async () => {
    const { client, peer } = await setup();
    expect(client.protocolVersion).toBe(4);
    client.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: 'c5',
      properties: {},
    });
    expect(client.protocolVersion).toBe(5);
    // 5.0 CONNACK with a property block: Receive Maximum 16
    peer.write(Buffer.from('2006' + '0000' + '03' + '210010', 'hex'));
    const r = await client.expect(
      { type: 'connack', reasonCode: 0, properties: { receiveMaximum: 16 } },
      { timeoutMs: 1000 },
    );
    expect(r.ok).toBe(true);
  });

  it('records a send after close as not sent, without throwing', async () => {
    const { client, peer } = await setup();
    peer.end();
    await client.expectClosed(1000);
    client.send({ type: 'pingreq' });
    expect(client.transcriptText()).toMatch(/PINGREQ \(not sent: connection closed\)/);
  });

  it('answers nothing unless autoAck is on', async () => {
    const quiet = await setup();
    quiet.peer.write(PUBLISH_Q1);
    await quiet.client.expect({ type: 'publish' }, { timeoutMs: 1000 });
    await new Promise((r) => setTimeout(r, 50));
    expect(quiet.server.received.length).toBe(0);

    const auto = await setup({ autoAck: true });
    auto.peer.write(PUBLISH_Q1);
    await auto.server.until(() => auto.server.received.length >= 4);
    expect(auto.server.received.toString('hex')).toBe('40020007');
    expect((await auto.client.expect({ type: 'publish', packetId: 7 }, { timeoutMs: 1000 })).ok).toBe(true);
    expect(auto.client.transcriptText()).toMatch(/c1 -> PUBACK \{packetId: 7\} \(auto\)/);
  });
});

describe('closing', () => {
  it('close() ends gracefully and the peer sees FIN', async () => {
    const { client, server } = await setup();
    await client.close();
    await server.until(() => server.peerEnded);
    expect(client.events.at(-1)).toMatchObject({ kind: 'closed', reason: 'local' });
  });

  it('destroy() resets the connection', async () => {
    const { client, server } = await setup();
    await client.destroy();
    await server.until(() => server.peerError !== undefined);
    expect(server.peerError).toBe('ECONNRESET');
  });
});

describe('transcript', () => {
  it('logs packets both ways with hex, decoded form and events', async () => {
    const { client, peer } = await setup();
    client.send({ type: 'pingreq' });
    peer.write(PINGRESP);
    await client.expect({ type: 'pingresp' }, { timeoutMs: 1000 });
    peer.end();
    await client.expectClosed(1000);
    const t = client.transcript();
    expect(t.map((e) => e.dir)).toEqual(['event', 'out', 'in', 'event']);
    expect(t[1]).toMatchObject({ dir: 'out', hex: 'c000', packet: { type: 'pingreq' }, client: 'c1' });
    expect(t[2]).toMatchObject({ dir: 'in', hex: 'd000', packet: { type: 'pingresp' } });
    const lines = client.transcriptText().split('\n');
    expect(lines[0]).toMatch(/^\s+\+\d+\.\dms {2}c1 -- connected to 127\.0\.0\.1:\d+$/);
    expect(lines[1]).toMatch(/^\s+\+\d+\.\dms {2}c1 -> PINGREQ {2}c0 00$/);
    expect(lines[2]).toMatch(/^\s+\+\d+\.\dms {2}c1 <- PINGRESP {2}d0 00$/);
    expect(lines[3]).toMatch(/c1 -- closed \(end\)$/);
  });

  it('logs malformed input with its error code and bytes', async () => {
    const { client, peer } = await setup();
    peer.write(PUBLISH_Q3);
    await client.next(1000);
    expect(client.transcriptText()).toMatch(/c1 <- MALFORMED INVALID_QOS \[MQTT-3\.3\.1-4\].*36 07 00 03/);
  });

  it('annotates raw sends that decode, and those that do not', async () => {
    const { client } = await setup();
    client.sendRaw('c000');
    client.sendRaw(PUBLISH_Q3);
    const text = client.transcriptText();
    expect(text).toMatch(/c1 -> PINGREQ \(raw\) {2}c0 00/);
    expect(text).toMatch(/c1 -> bytes \(raw, does not decode: INVALID_QOS\) {2}36 07/);
  });
});
