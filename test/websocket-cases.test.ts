import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { startBroker } from '../reference-broker/index.js';
import type { CaseResult } from '../src/report/model.js';
import { loadScenarios } from '../src/scenario/loader.js';
import { defaultSpecsDir } from '../src/scenario/paths.js';
import { type PlannedCase, runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';
import { startWsFaultyProxy, WS_CASE_FAULTS, type WsFault } from './helpers/ws-faulty-proxy.js';

/**
 * The MQTT over WebSocket cases (specs/6.0.0-websocket.yaml, `transport: websocket`): they pass against the
 * reference broker's WS listener and through a transparent WebSocket proxy, and each fails through the
 * WebSocket fault that breaks its rule (the TCP faulty proxy of test/scenario-faults-*.test.ts cannot).
 */
const files = loadScenarios([defaultSpecsDir()]);
const planned: PlannedCase[] = planCases(files, { protocols: ['3.1.1', '5.0'] }).filter(
  (p) => p.scenario.transport === 'websocket',
);

let broker: Awaited<ReturnType<typeof startBroker>>;
let wsUrl = '';
beforeAll(async () => {
  broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    config: { listeners: [{ type: 'ws', port: 0 }] },
  });
  wsUrl = `ws://127.0.0.1:${broker.listeners.find((l) => l.type === 'ws')!.port}/mqtt`;
});
afterAll(async () => {
  await broker?.close();
});

function summary(results: CaseResult[]): string {
  return results
    .map((r) => `${r.status} ${r.protocol} ${r.id}: ${r.message ?? ''} | ${r.actual ?? ''}`)
    .join('\n');
}

const target = (port: number) => ({ host: '127.0.0.1', port, websocket: { path: '/mqtt' } });

describe('MQTT over WebSocket cases', () => {
  it('every judged case is mapped to a WebSocket fault', () => {
    expect(planned.length).toBeGreaterThan(0);
    for (const p of planned)
      if (p.scenario.level !== 'info') expect(WS_CASE_FAULTS[p.scenario.id], p.scenario.id).toBeDefined();
  });

  it('pass against the reference broker over ws:// and through a transparent proxy; skipped over TCP', async () => {
    const direct = await runCases(planned, {
      target: target(Number(new URL(wsUrl).port)),
      stepTimeoutMs: 2000,
    });
    expect(
      direct.results.filter((r) => r.status !== 'passed'),
      summary(direct.results),
    ).toEqual([]);
    const proxy = await startWsFaultyProxy(wsUrl, 'none');
    try {
      const out = await runCases(planned, { target: target(proxy.port), stepTimeoutMs: 2000 });
      expect(
        out.results.filter((r) => r.status !== 'passed'),
        summary(out.results),
      ).toEqual([]);
    } finally {
      await proxy.close();
    }
    const tcp = await runCases(planned, { target: broker, stepTimeoutMs: 2000 });
    for (const r of tcp.results) expect(r.status).toBe('skipped');
  });

  it('a server that does not select the mqtt subprotocol: the run stops (exit 3) naming MQTT-6.0.0-4', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, handleProtocols: () => false });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (http.address() as AddressInfo).port;
      const out = await runCases(planned, { target: target(port), stepTimeoutMs: 1000 });
      expect(out.stoppedBy).toBe('target-unreachable');
      expect(out.results[0]?.message).toMatch(/did not select the mqtt subprotocol \[MQTT-6\.0\.0-4\]/);
    } finally {
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  const byFault = new Map<WsFault, string[]>();
  for (const [id, fault] of Object.entries(WS_CASE_FAULTS))
    byFault.set(fault, [...(byFault.get(fault) ?? []), id]);
  for (const [fault, ids] of byFault) {
    it(`fail through the WebSocket fault ${fault}: ${ids.join(', ')}`, async () => {
      const proxy = await startWsFaultyProxy(wsUrl, fault);
      try {
        const subset = planned.filter((p) => ids.includes(p.scenario.id));
        expect(subset.length).toBeGreaterThan(0);
        const out = await runCases(subset, { target: target(proxy.port), stepTimeoutMs: 1000 });
        for (const r of out.results) {
          expect(r.status, summary([r])).toBe('failed');
          expect(r.expected).toBeDefined();
          expect(r.actual).toBeDefined();
        }
      } finally {
        await proxy.close();
      }
    });
  }
});
