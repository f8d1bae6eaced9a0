/**
 * Verdict stability: runs the full suite several times against one broker at several concurrencies and
 * prints every case whose verdict was not the same in all runs (there should be none), with the verdict
 * counts of each run. Run: `npx tsx bench/stability.ts`. STABILITY_BROKER=mosquitto|reference|aedes
 * (default mosquitto), STABILITY_RUNS=5, STABILITY_CONCURRENCY=1,8,32.
 */
import { performance } from 'node:perf_hooks';
import { startBroker } from '../reference-broker/index.js';
import { loadScenarios } from '../src/scenario/loader.js';
import { defaultSpecsDir } from '../src/scenario/paths.js';
import { runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';
import { startAedes } from '../test/helpers/aedes.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';

const BROKER = process.env.STABILITY_BROKER ?? 'mosquitto';
const RUNS = Number(process.env.STABILITY_RUNS ?? 5);
const CONCURRENCIES = (process.env.STABILITY_CONCURRENCY ?? '1,8,32').split(',').map(Number);

async function start(): Promise<{ host: string; port: number; stop(): Promise<void> }> {
  if (BROKER === 'mosquitto') return startMosquitto();
  if (BROKER === 'aedes') return startAedes();
  const b = await startBroker({ host: '127.0.0.1', port: 0 });
  return { host: b.host, port: b.port, stop: () => b.close() };
}

async function main(): Promise<void> {
  const planned = planCases(loadScenarios([defaultSpecsDir()]), { protocols: ['3.1.1', '5.0'] });
  /** "protocol id" -> verdict per run label. */
  const seen = new Map<string, Map<string, string>>();
  for (let run = 1; run <= RUNS; run++) {
    for (const concurrency of CONCURRENCIES) {
      const label = `run ${run} c${concurrency}`;
      const target = await start();
      try {
        const t0 = performance.now();
        const out = await runCases(planned, { target, concurrency });
        const counts = new Map<string, number>();
        for (const r of out.results) {
          counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
          const key = `${r.protocol} ${r.id}`;
          const m = seen.get(key) ?? new Map<string, string>();
          m.set(label, r.status);
          seen.set(key, m);
        }
        console.log(
          `${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s, ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}${out.stoppedBy ? ` (stopped: ${out.stoppedBy})` : ''}`,
        );
      } finally {
        await target.stop();
      }
    }
  }
  const flipping = [...seen].filter(([, m]) => new Set(m.values()).size > 1);
  console.log(
    `\n${BROKER}: ${flipping.length} case run(s) with differing verdicts over ${RUNS * CONCURRENCIES.length} runs`,
  );
  for (const [key, m] of flipping) console.log(`  ${key}: ${[...m].map(([l, v]) => `${l}=${v}`).join(', ')}`);
  if (flipping.length > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
