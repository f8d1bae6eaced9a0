/**
 * Fuzzer throughput: cases per second against the reference broker and Eclipse Mosquitto in one run, each
 * started by the fuzzer itself (`--spawn`) on a free loopback port, so the broker never shares the fuzzer's
 * event loop.
 *
 *   npx tsx bench/fuzz.ts [--duration 10s] [--concurrency 64] [--seed 1] [--families a,b] [--json]
 *
 * Every case is a full fuzz case with its oracles (sentinel PINGREQ, strict decoding of the answers,
 * liveness probe every second); findings are counted, not shrunk (shrinking would stop the clock).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runFuzz } from '../src/fuzz/fuzzer.js';
import { FAMILY_NAMES, type FamilyName } from '../src/fuzz/model.js';

interface Options {
  durationMs: number;
  concurrency: number;
  seed: number;
  families?: FamilyName[];
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { durationMs: 10_000, concurrency: 64, seed: 1, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => argv[++i] ?? '';
    if (a === '--duration') {
      const m = /^(\d+)(ms|s|m)?$/.exec(next());
      if (!m) throw new Error('--duration: e.g. 10s');
      o.durationMs = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
    } else if (a === '--concurrency') o.concurrency = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--families') o.families = next().split(',') as FamilyName[];
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown option ${a}`);
  }
  for (const f of o.families ?? []) if (!FAMILY_NAMES.includes(f)) throw new Error(`unknown family ${f}`);
  return o;
}

const opts = parse(process.argv.slice(2));
const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const targets: Array<{ name: string; spawn: string }> = [
  {
    name: 'reference broker',
    spawn: `${process.execPath} --import ${tsx} ${root}src/cli/run.ts broker --port {port} --log-level silent`,
  },
];
const mosquitto = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => existsSync(p));
if (mosquitto) targets.push({ name: 'mosquitto', spawn: `${mosquitto} -c {config}` });

const rows: Array<Record<string, unknown>> = [];
for (const t of targets) {
  const r = await runFuzz({
    spawn: t.spawn,
    seed: opts.seed,
    durationMs: opts.durationMs,
    protocols: [4, 5],
    concurrency: opts.concurrency,
    ...(opts.families ? { families: opts.families } : {}),
    maxFindings: 100_000,
    shrinkBudgetMs: 0,
  });
  rows.push({
    target: t.name,
    cases: r.cases,
    seconds: Number((r.durationMs / 1000).toFixed(1)),
    casesPerSecond: Math.round(r.casesPerSecond),
    distinctFindings: r.findings.length + r.unconfirmed,
    restarts: r.restarts,
  });
}
if (opts.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log(
    `fuzz throughput, seed ${opts.seed}, concurrency ${opts.concurrency}, ${opts.durationMs / 1000} s per target`,
  );
  console.log('target            cases   seconds   cases/s   distinct findings');
  for (const r of rows) {
    console.log(
      `${String(r.target).padEnd(16)} ${String(r.cases).padStart(7)} ${String(r.seconds).padStart(9)} ${String(r.casesPerSecond).padStart(9)} ${String(r.distinctFindings).padStart(19)}`,
    );
  }
}
