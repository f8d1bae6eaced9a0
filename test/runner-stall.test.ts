import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import { ConsoleReporter } from '../src/report/console.js';
import type { CaseResult } from '../src/report/model.js';
import { loadScenarioFile, loadScenarios } from '../src/scenario/loader.js';
import { defaultSpecsDir } from '../src/scenario/paths.js';
import { type PlannedCase, runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';
import { startStallingProxy } from './helpers/stalling-proxy.js';

/**
 * A broker that serves nobody while one connection holds an incomplete packet is judged to the end: the
 * stall is attributed to the case that held the packet, the cases it disturbed are run again, and nothing
 * else changes.
 */
let broker: { host: string; port: number; close(): Promise<void> };
let planned: PlannedCase[];

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  planned = planCases(loadScenarios([defaultSpecsDir()]), { protocols: ['3.1.1', '5.0'] });
});
afterAll(async () => {
  await broker?.close();
});

const key = (r: CaseResult): string => `${r.protocol} ${r.id}`;

describe('a broker that stalls while a connection holds an incomplete packet', () => {
  it('is judged to the end: the stall is attributed to its case, every verdict is as without the stall', async () => {
    const direct = await runCases(planned, { target: broker, stepTimeoutMs: 1000 });
    const proxy = await startStallingProxy(broker);
    try {
      const out = await runCases(planned, { target: proxy, stepTimeoutMs: 1000, concurrency: 8 });
      expect(out.stoppedBy).toBeUndefined();
      expect(out.results).toHaveLength(planned.length);
      expect(proxy.stalls).toBeGreaterThan(0);
      const culprits = out.results.filter((r) => /stopped serving other clients/.test(r.message ?? ''));
      expect(culprits.map(key)).toEqual(
        expect.arrayContaining([
          '3.1.1 2.2.3/five-byte-remaining-length',
          '5.0 2.2.3/five-byte-remaining-length',
        ]),
      );
      // The stalled broker never reads the five-byte length to its end, so it never closes that connection:
      // the case fails on its own check, and says that it stalled the broker.
      for (const r of culprits.filter((c) => c.id === '2.2.3/five-byte-remaining-length'))
        expect(r.status).toBe('failed');
      // Every other verdict is the one the broker gets without the stall.
      const before = new Map(direct.results.map((r) => [key(r), r.status]));
      const changed = out.results
        .filter((r) => !culprits.includes(r) && before.get(key(r)) !== r.status)
        .map((r) => `${key(r)}: ${before.get(key(r))} -> ${r.status} ${r.message ?? ''}`);
      expect(changed).toEqual([]);
    } finally {
      await proxy.close();
    }
  }, 240_000);

  it('finds the case that holds the broker while it still does, closes it and goes on', async () => {
    // "holder" keeps an incomplete PUBLISH open for 5 s; "victim" needs the broker meanwhile. The victim's
    // failure makes the runner probe the broker, which answers only once the holder's connection is closed.
    // Both cut cases run again alone at the end, and get the verdicts they get at concurrency 1.
    const file = loadScenarioFile(
      'stall.yaml',
      [
        'section: "9.9.9"',
        'title: stall',
        'cases:',
        '  - id: holder',
        '    title: holds an incomplete packet',
        '    statements: [MQTT-4.8.0-1]',
        '    protocols: ["3.1.1"]',
        '    steps:',
        '      - connect: { as: h }',
        '      - send: { as: h, hex: "30 0a 00 03 61 2f 62" }',
        '      - expect: { as: h, nothing: 5000 }',
        '  - id: victim',
        '    title: needs the broker',
        '    statements: [MQTT-3.12.4-1]',
        '    protocols: ["3.1.1"]',
        '    steps:',
        '      - wait: { ms: 200 }',
        '      - connect: { as: v }',
        '      - send: { as: v, packet: { type: pingreq } }',
        '      - expect: { as: v, pingresp: {} }',
      ].join('\n'),
    );
    const cases = planCases([file], { protocols: ['3.1.1'] });
    const proxy = await startStallingProxy(broker);
    try {
      const out = await runCases(cases, { target: proxy, stepTimeoutMs: 1000, concurrency: 2 });
      expect(out.stoppedBy).toBeUndefined();
      const [holder, victim] = out.results;
      expect(victim?.status, victim?.message).toBe('passed');
      expect(holder?.status).toBe('passed');
      expect(holder?.message).toMatch(/a new CONNECT got no CONNACK until that connection was closed/);
      // A passing case's finding is a field of its own, which the console prints whatever the verdict.
      expect(holder?.finding).toMatch(/^the broker stopped serving other clients/);
      expect(victim?.finding).toBeUndefined();
      const lines: string[] = [];
      const reporter = new ConsoleReporter({
        tty: false,
        color: false,
        verbose: false,
        strict: false,
        write: (t) => lines.push(t),
      });
      reporter.onEnd({
        tool: 'mqtt-conform',
        version: '0',
        target: 'x',
        protocols: ['3.1.1'],
        startedAt: '',
        durationMs: 0,
        cases: out.results,
      });
      expect(lines.join('')).toMatch(
        /finding: 9\.9\.9\/holder \[MQTT 3\.1\.1\] \(passed\): the broker stopped serving other clients/,
      );
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
