import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import { CaseContext } from '../src/scenario/context.js';
import { findExpectedFailure, loadExpectedFailures } from '../src/scenario/expected-failures.js';
import { loadScenarios } from '../src/scenario/loader.js';
import { defaultSpecsDir, packageRoot } from '../src/scenario/paths.js';
import { type PlannedCase, runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';
import { Templater } from '../src/scenario/template.js';
import { MOSQUITTO_MISSING, mosquittoAvailable, startMosquitto } from './helpers/mosquitto.js';

/** Hostile and dying targets give errors, quickly, without crashing or hanging the runner. */
let planned: PlannedCase[];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
  planned = planCases(loadScenarios([defaultSpecsDir()]), { protocols: ['3.1.1', '5.0'] });
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function hostileServer(onConnection: (s: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as net.AddressInfo).port;
}

async function runAll(port: number) {
  const t0 = Date.now();
  const out = await runCases(planned, { target: { host: '127.0.0.1', port }, stepTimeoutMs: 1000 });
  return { out, ms: Date.now() - t0 };
}

describe('hostile targets', () => {
  it('garbage bytes: every case is an error, no crash', async () => {
    const port = await hostileServer((s) => {
      s.write(randomBytes(512));
      const t = setInterval(() => s.writable && s.write(randomBytes(256)), 20);
      s.on('close', () => clearInterval(t));
    });
    const { out, ms } = await runAll(port);
    expect(out.results).toHaveLength(planned.length);
    expect(new Set(out.results.map((r) => r.status))).toEqual(new Set(['error']));
    expect(ms).toBeLessThan(10_000);
  });

  it('a 256 MB packet announcement: errors without buffering it', async () => {
    const before = process.memoryUsage().heapUsed;
    const port = await hostileServer((s) => {
      // CONNACK type with a remaining length of 268,435,455 bytes, then a stream of zeros.
      s.write(Buffer.from('20ffffff7f', 'hex'));
      const chunk = Buffer.alloc(1024 * 1024);
      let sent = 0;
      const t = setInterval(() => {
        if (!s.writable || sent > 64) return clearInterval(t);
        s.write(chunk);
        sent++;
      }, 5);
      s.on('close', () => clearInterval(t));
    });
    const { out, ms } = await runAll(port);
    expect(new Set(out.results.map((r) => r.status))).toEqual(new Set(['error']));
    expect(out.results[0]?.message).toMatch(/did not answer a valid MQTT/);
    expect(out.results[0]?.actual).toMatch(/PACKET_TOO_LARGE|malformed/i);
    expect(ms).toBeLessThan(10_000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(128 * 1024 * 1024);
  });

  it('accepts TCP and never answers: errors within seconds, not one timeout per case', async () => {
    const port = await hostileServer(() => undefined);
    const { out, ms } = await runAll(port);
    expect(new Set(out.results.map((r) => r.status))).toEqual(new Set(['error']));
    expect(ms).toBeLessThan(5_000);
  });

  it('nothing listening: every case is an error and the run says the target is unreachable', async () => {
    const port = await hostileServer(() => undefined);
    await cleanups.pop()!();
    const { out, ms } = await runAll(port);
    expect(out.stoppedBy).toBe('target-unreachable');
    expect(new Set(out.results.map((r) => r.status))).toEqual(new Set(['error']));
    expect(ms).toBeLessThan(5_000);
  });

  it('a broker that answers CONNECT and then misbehaves mid-case gives errors or failures, never a hang', async () => {
    // Answers CONNECT with a valid CONNACK, then garbage on the next packet.
    const port = await hostileServer((s) => {
      let first = true;
      s.on('data', () => {
        if (first) s.write(Buffer.from('20020000', 'hex'));
        else s.write(randomBytes(64));
        first = false;
      });
    });
    const { out, ms } = await runAll(port);
    expect(out.results).toHaveLength(planned.length);
    // Bounded, not fast: every case fails on its own 1 s step timeout (about 400 case runs, 8 at a time), then
    // the timing cases run one group at a time (a keep-alive case waits 7.75 s for a close that never comes).
    // About 20 s on an idle 2-core machine.
    expect(ms).toBeLessThan(60_000);
  }, 90_000);
});

describe('interruption', () => {
  it('does not wait for a connection attempt that hangs (TLS handshake never answered)', async () => {
    const port = await hostileServer(() => undefined);
    const ac = new AbortController();
    const ctx = new CaseContext({
      target: { host: '127.0.0.1', port, tls: { rejectUnauthorized: false } },
      protocol: '3.1.1',
      stepTimeoutMs: 60_000,
      templater: new Templater({ runId: 'abc123', caseIndex: 0, protocol: '3.1.1' }),
      signal: ac.signal,
      epoch: performance.now(),
    });
    setTimeout(() => ac.abort(), 200);
    const t0 = performance.now();
    await expect(ctx.open('c')).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('target dying mid-run', () => {
  it('reference broker closed mid-run: the remaining cases become errors within seconds', async () => {
    const broker = await startBroker({ host: '127.0.0.1', port: 0 });
    let killedAt = 0;
    // The silent timing cases run first and take 2 s; the kill must come while ordinary cases run: it comes
    // when the first case has passed (a fixed delay raced the start-up checks on a loaded machine).
    const ordinary = planned.filter((p) => !p.scenario.silentTiming);
    const out = await runCases(ordinary, {
      target: broker,
      stepTimeoutMs: 2000,
      concurrency: 4,
      onCaseDone: (r) => {
        if (killedAt || r.status !== 'passed') return;
        killedAt = Date.now();
        void broker.close();
      },
    });
    const doneAt = Date.now();
    expect(killedAt).toBeGreaterThan(0);
    expect(doneAt - killedAt).toBeLessThan(8_000);
    expect(out.stoppedBy).toBe('target-died');
    expect(out.results).toHaveLength(ordinary.length);
    expect(out.results.some((r) => r.status === 'passed')).toBe(true);
    const errors = out.results.filter((r) => r.status === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(out.results.filter((r) => r.status === 'failed')).toEqual([]);
  }, 30_000);

  it('a broker that hangs mid-run (accepts TCP, answers nothing): the remaining cases become errors within seconds', async () => {
    const broker = await startBroker({ host: '127.0.0.1', port: 0 });
    // Forwards the first connections to the broker, then accepts and stays silent: a hung broker.
    let connections = 0;
    let hungAt = 0;
    const port = await hostileServer((s) => {
      connections++;
      if (connections > 25) {
        hungAt ||= Date.now();
        return;
      }
      const up = net.connect({ host: broker.host, port: broker.port });
      up.on('error', () => s.destroy());
      s.on('close', () => up.destroy());
      up.on('close', () => s.destroy());
      s.pipe(up);
      up.pipe(s);
    });
    try {
      const out = await runCases(planned, {
        target: { host: '127.0.0.1', port },
        stepTimeoutMs: 1000,
        concurrency: 4,
      });
      expect(hungAt).toBeGreaterThan(0);
      expect(Date.now() - hungAt).toBeLessThan(8_000);
      expect(out.stoppedBy).toBe('target-died');
      expect(out.results).toHaveLength(planned.length);
      expect(out.results.some((r) => r.status === 'passed')).toBe(true);
      expect(out.results.some((r) => r.message?.includes('the target stopped answering CONNECT'))).toBe(true);
      expect(out.results.filter((r) => r.status === 'failed')).toEqual([]);
    } finally {
      await broker.close();
    }
  }, 30_000);

  it.skipIf(!mosquittoAvailable())(
    `mosquitto killed mid-run${mosquittoAvailable() ? '' : ` (${MOSQUITTO_MISSING})`}`,
    async () => {
      const m = await startMosquitto();
      let killedAt = 0;
      // Killed once the first case is judged.
      const out = await runCases(planned, {
        target: m,
        stepTimeoutMs: 2000,
        concurrency: 4,
        onCaseDone: () => {
          if (killedAt) return;
          killedAt = Date.now();
          void m.stop();
        },
      });
      // The same stop as the one above: its removal of the config folder is over before the test is.
      await m.stop();
      expect(Date.now() - killedAt).toBeLessThan(8_000);
      expect(out.stoppedBy).toBe('target-died');
      expect(out.results).toHaveLength(planned.length);
      // What was judged before the kill keeps its verdict: the only failures are mosquitto's real
      // deviations; nothing cut short by the kill is called a failure.
      const deviations = loadExpectedFailures(
        join(packageRoot(), 'specs', 'known-deviations', 'mosquitto-2.0.yaml'),
        new Set(planned.map((p) => p.scenario.id)),
        'mosquitto-2.0.yaml',
      );
      const unexplained = out.results.filter(
        (r) => r.status === 'failed' && !findExpectedFailure(deviations, r.id, r.protocol),
      );
      expect(unexplained).toEqual([]);
      expect(out.results.some((r) => r.status === 'error')).toBe(true);
    },
    30_000,
  );
});
