/**
 * Suite benchmark: the wall time of a full run (every case, both protocols) against the reference broker (in
 * process, as `npx mqtt-conform` runs it) and against mosquitto, at --concurrency 1 and at the default, with
 * the slowest case's time beside it and the time of the serial timing phase. The goal: a full run takes no
 * more than its slowest case plus 2 s on the reference broker.
 * Run: `npx tsx bench/suite.ts`. BENCH_BROKERS=reference,mosquitto picks brokers; BENCH_CONCURRENCY=1,8,32
 * picks the concurrencies.
 */
import { performance } from 'node:perf_hooks';
import { startBroker } from '../reference-broker/index.js';
import type { CaseResult } from '../src/report/model.js';
import { loadScenarios } from '../src/scenario/loader.js';
import { defaultSpecsDir } from '../src/scenario/paths.js';
import { defaultConcurrency, runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';

const BROKERS = (process.env.BENCH_BROKERS ?? 'reference,mosquitto').split(',');
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY ?? `1,${defaultConcurrency()}`).split(',').map(Number);

interface Target {
  host: string;
  port: number;
  stop(): Promise<void>;
}

async function start(kind: string): Promise<Target> {
  if (kind === 'mosquitto') return startMosquitto();
  const b = await startBroker({ host: '127.0.0.1', port: 0 });
  return { host: b.host, port: b.port, stop: () => b.close() };
}

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const files = loadScenarios([defaultSpecsDir()]);
  const planned = planCases(files, { protocols: ['3.1.1', '5.0'] });
  const timingIds = new Set(
    planned.filter((p) => p.scenario.timing).map((p) => `${p.protocol} ${p.scenario.id}`),
  );
  console.log(`${planned.length} case runs (${timingIds.size} in the timing phase)\n`);
  console.log(
    '| broker | concurrency | wall | slowest case | timing cases (sum of their times) | wall - slowest | verdicts |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const kind of BROKERS) {
    for (const concurrency of CONCURRENCIES) {
      const target = await start(kind);
      try {
        const t0 = performance.now();
        const out = await runCases(planned, { target, concurrency });
        const wall = performance.now() - t0;
        const slowest = out.results.reduce<CaseResult | undefined>(
          (a, r) => (!a || r.durationMs > a.durationMs ? r : a),
          undefined,
        );
        const timing = out.results
          .filter((r) => timingIds.has(`${r.protocol} ${r.id}`))
          .reduce((sum, r) => sum + r.durationMs, 0);
        const counts = new Map<string, number>();
        for (const r of out.results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
        const verdicts = [...counts].map(([k, v]) => `${v} ${k}`).join(', ');
        console.log(
          `| ${kind} | ${concurrency} | ${s(wall)} | ${s(slowest?.durationMs ?? 0)} (${slowest?.protocol} ${slowest?.id}) | ${s(timing)} | ${s(wall - (slowest?.durationMs ?? 0))} | ${verdicts} |`,
        );
      } finally {
        await target.stop();
      }
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
