import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningReferenceBroker, startBroker } from '../reference-broker/index.js';
import { startBuggyProxy } from './helpers/buggy-target.js';
import { makeCerts, opensslAvailable, type TestCerts } from './helpers/certs.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { startWsBridge } from './helpers/ws-bridge.js';

/**
 * The fuzzer and replay over every transport of a run: WebSocket (a bridge in front of a broker that
 * accepts malformed packets, and the reference broker's WS listener), TLS and WSS with --ca.
 */
const CASES = Number(process.env.MQTT_CONFORM_FUZZ_CASES ?? 4000);

const tls = opensslAvailable();
let certs: TestCerts;
let broker: RunningReferenceBroker;
const port = (type: string): number => broker.listeners.find((l) => l.type === type)!.port;

beforeAll(async () => {
  if (tls) certs = makeCerts(tempDir('mc-fuzz-certs-'));
  broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    config: {
      listeners: [
        { type: 'ws', port: 0 },
        ...(tls
          ? [
              { type: 'tls' as const, port: 0, cert: certs.serverCert, key: certs.serverKey },
              { type: 'wss' as const, port: 0, cert: certs.serverCert, key: certs.serverKey },
            ]
          : []),
      ],
    },
  });
});
afterAll(async () => {
  await broker?.close();
});

function fuzzJson(dir: string): { cases: number; findings: Array<{ kind: string; reproducer: string }> } {
  return JSON.parse(readFileSync(join(dir, 'fuzz.json'), 'utf8'));
}

describe('fuzz over WebSocket', () => {
  it('finds a malformed packet a broker accepts over ws://, and replay reproduces it over ws:// only there', async () => {
    const buggy = await startBuggyProxy(broker, 'no-close');
    const bridge = await startWsBridge(buggy);
    const clean = await startWsBridge(broker);
    try {
      const out = tempDir('mc-fuzz-ws-');
      const r = await runCli(
        [
          'fuzz',
          `ws://127.0.0.1:${bridge.port}/mqtt`,
          '--cases',
          String(CASES),
          '--seed',
          '1',
          '--families',
          'fields',
          '--max-findings',
          '1',
          '--out',
          out,
        ],
        { reports: false },
      );
      expect(r.code, r.all).toBe(1);
      expect(r.out).toContain(`mqtt-conform fuzz ws://127.0.0.1:${bridge.port}/mqtt`);
      const json = fuzzJson(out);
      expect(json.findings[0]?.kind).toBe('no-close');
      const file = join(out, json.findings[0]!.reproducer);
      const there = await runCli(['replay', file, `ws://127.0.0.1:${bridge.port}/mqtt`], { reports: false });
      expect(there.code, there.all).toBe(1);
      expect(there.out).toContain(`reproduced against ws://127.0.0.1:${bridge.port}/mqtt`);
      const elsewhere = await runCli(['replay', file, `ws://127.0.0.1:${clean.port}/`], { reports: false });
      expect(elsewhere.code, elsewhere.all).toBe(0);
    } finally {
      await clean.close();
      await bridge.close();
      await buggy.close();
    }
  }, 90_000);

  it("runs against the reference broker's WS listener with no finding", async () => {
    const out = tempDir('mc-fuzz-ws-ref-');
    const r = await runCli(
      ['fuzz', `ws://127.0.0.1:${port('ws')}/mqtt`, '--cases', '300', '--seed', '7', '--out', out],
      { reports: false },
    );
    expect(r.code, r.all).toBe(0);
    expect(fuzzJson(out)).toMatchObject({ cases: 300, findings: [] });
  }, 60_000);
});

describe.skipIf(!tls)('fuzz over TLS', () => {
  for (const scheme of ['mqtts', 'wss'] as const) {
    it(`${scheme}:// with --ca: cases run, no finding; without --ca the certificate is refused (exit 3)`, async () => {
      const target = `${scheme}://127.0.0.1:${port(scheme === 'mqtts' ? 'tls' : 'wss')}${scheme === 'wss' ? '/mqtt' : ''}`;
      const out = tempDir('mc-fuzz-tls-');
      const r = await runCli(
        ['fuzz', target, '--ca', certs.ca, '--cases', '200', '--seed', '3', '--out', out],
        {
          reports: false,
        },
      );
      expect(r.code, r.all).toBe(0);
      expect(fuzzJson(out)).toMatchObject({ cases: 200, findings: [] });
      const untrusted = await runCli(['fuzz', target, '--cases', '20', '--out', tempDir('mc-fuzz-tls-')], {
        reports: false,
      });
      expect(untrusted.code, untrusted.all).toBe(3);
    }, 60_000);
  }

  it('TLS flags without a TLS target are usage errors (exit 2)', async () => {
    for (const args of [
      ['fuzz', '127.0.0.1:1', '--ca', 'ca.pem'],
      ['fuzz', 'ws://127.0.0.1:1/', '--insecure'],
      ['replay', 'x.yaml', '127.0.0.1:1', '--cert', 'c.pem'],
    ]) {
      const r = await runCli(args, { reports: false });
      expect(r.code, args.join(' ')).toBe(2);
    }
  });
});
