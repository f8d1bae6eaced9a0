/**
 * Differential mode (`mqtt-conform fuzz --compare A B`): the same valid-but-unusual cases (every stream
 * valid up to its sentinel) against two brokers; where their answers differ, the difference is reported with
 * the statement that decides who is right, where one applies.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientEvent } from '../client/index.js';
import type { ProtocolVersion } from '../codec/index.js';
import { DEFAULT_EXEC, materialise, runFuzzCase, type TargetAddress } from './executor.js';
import { fuzzCaseArbitrary } from './families.js';
import { caseSeed, type FuzzProgress, generateCase } from './fuzzer.js';
import type { FamilyName, FuzzCase } from './model.js';
import { expectationOf } from './oracle.js';

export interface CompareOptions {
  a: TargetAddress & { display: string };
  b: TargetAddress & { display: string };
  seed: number;
  protocols: readonly ProtocolVersion[];
  concurrency: number;
  cases?: number;
  durationMs?: number;
  families?: readonly FamilyName[];
  maxDifferences?: number;
  signal?: AbortSignal;
  onProgress?: (p: FuzzProgress) => void;
}

export interface Difference {
  summary: string;
  statement?: string;
  protocol: string;
  family: string;
  packetType: string;
  field: string;
  variant: string;
  caseSeed: number;
  packetsHex: string[];
  a: string[][];
  b: string[][];
  count: number;
}

export interface CompareResult {
  seed: number;
  cases: number;
  durationMs: number;
  differences: Difference[];
  write(dir: string): string;
}

/** One token per event: the packet type with its reason codes, a delivery by topic level count, the close. */
function token(ev: ClientEvent, prefixes: readonly string[]): string {
  if (ev.kind === 'closed') return 'closed';
  if (ev.kind === 'malformed') return `malformed ${ev.error.code}`;
  const p = ev.packet;
  const rc = (x: number | undefined) => (x === undefined ? '' : ` 0x${x.toString(16).padStart(2, '0')}`);
  switch (p.type) {
    case 'connack':
      return `CONNACK${rc(p.reasonCode)}`;
    case 'suback':
      return `SUBACK ${p.reasonCodes.map((c) => `0x${c.toString(16)}`).join(',')}`;
    case 'unsuback':
      return `UNSUBACK${p.reasonCodes ? ` ${p.reasonCodes.map((c) => `0x${c.toString(16)}`).join(',')}` : ''}`;
    case 'publish': {
      let t = p.topic;
      for (const pre of prefixes) t = t.replaceAll(pre, '{prefix}');
      return `PUBLISH q${p.qos} ${t}`;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return `${p.type.toUpperCase()}${rc(p.reasonCode)}`;
    case 'disconnect':
      return `DISCONNECT${rc(p.reasonCode)}`;
    default:
      return p.type.toUpperCase();
  }
}

/** The statement that decides a difference, where one applies. */
function decidingStatement(a: string[], b: string[], v: ProtocolVersion): string | undefined {
  const has = (xs: string[], t: string) => xs.some((x) => x.startsWith(t));
  const closed = (xs: string[]) => xs.includes('closed');
  // A broker may close a connection for its own limits: then no statement decides the difference.
  if (closed(a) || closed(b)) return undefined;
  if (has(a, 'PINGRESP') !== has(b, 'PINGRESP')) return 'MQTT-3.12.4-1';
  if (has(a, 'SUBACK') !== has(b, 'SUBACK')) return 'MQTT-3.8.4-1';
  const codes = (xs: string[]) =>
    xs.filter((x) => x.startsWith('SUBACK')).map((x) => x.split(' ')[1]?.split(',').length);
  if (JSON.stringify(codes(a)) !== JSON.stringify(codes(b))) return v === 5 ? 'MQTT-3.8.4-6' : 'MQTT-3.8.4-5';
  if (has(a, 'UNSUBACK') !== has(b, 'UNSUBACK')) return 'MQTT-3.10.4-4';
  return undefined;
}

export async function runCompare(opts: CompareOptions): Promise<CompareResult> {
  const arb = fuzzCaseArbitrary({
    protocols: opts.protocols,
    families: opts.families ?? ['valid', 'sequences', 'fields', 'properties'],
  });
  const exec = { ...DEFAULT_EXEC, caseTimeoutMs: 1000 };
  const started = performance.now();
  const durationMs = opts.cases === undefined ? (opts.durationMs ?? 60_000) : opts.durationMs;
  const diffs = new Map<string, Difference>();
  let next = 0;
  let done = 0;
  let lastProgress = 0;

  const observeRun = async (c: FuzzCase, t: TargetAddress): Promise<string[][]> => {
    const used: { prefix?: string } = {};
    const streams = materialise(c, used);
    const prefixes = used.prefix ? [used.prefix] : [];
    const seen: string[][] = streams.map(() => []);
    await runFuzzCase(c, t, exec, streams, (i, ev) => seen[i]!.push(token(ev, prefixes)));
    return seen.map((xs) => normalise(xs));
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      if (opts.signal?.aborted || diffs.size >= (opts.maxDifferences ?? 20)) return;
      if (opts.cases !== undefined && next >= opts.cases) return;
      if (durationMs !== undefined && performance.now() - started >= durationMs) return;
      const i = next++;
      const seed = caseSeed(opts.seed, i);
      const c = generateCase(arb, seed);
      // Valid-but-unusual only: every stream decodes as valid up to its sentinel.
      const probe = materialise(c);
      if (!probe.every((s) => expectationOf(s, c.protocol).kind === 'open')) continue;
      const [a, b] = await Promise.all([observeRun(c, opts.a), observeRun(c, opts.b)]);
      done++;
      if (opts.onProgress && performance.now() - lastProgress > 500) {
        lastProgress = performance.now();
        const elapsedMs = performance.now() - started;
        opts.onProgress({
          cases: done,
          elapsedMs,
          casesPerSecond: done / (elapsedMs / 1000),
          findings: diffs.size,
          phase: 'fuzzing',
        });
      }
      const at = a.findIndex((xs, k) => JSON.stringify(xs) !== JSON.stringify(b[k]));
      if (at < 0) continue;
      const statement = decidingStatement(a[at]!, b[at]!, c.protocol);
      const key = `${c.protocol}|${c.packetType}|${c.field}|${statement ?? ''}|${firstDiff(a[at]!, b[at]!)}`;
      const d = diffs.get(key);
      if (d) {
        d.count++;
        continue;
      }
      diffs.set(key, {
        summary: `${c.protocol === 5 ? '5.0' : '3.1.1'} ${c.packetType} ${c.field} (${c.variant}), connection ${at + 1}: ${opts.a.display} [${a[at]!.join(', ')}] vs ${opts.b.display} [${b[at]!.join(', ')}]${statement ? ` (decided by ${statement})` : ''}`,
        ...(statement ? { statement } : {}),
        protocol: c.protocol === 5 ? '5.0' : '3.1.1',
        family: c.family,
        packetType: c.packetType,
        field: c.field,
        variant: c.variant,
        caseSeed: seed,
        packetsHex: probe.map((s) => s.toString('hex')),
        a,
        b,
        count: 1,
      });
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const elapsed = Math.round(performance.now() - started);
  const differences = [...diffs.values()];
  return {
    seed: opts.seed,
    cases: done,
    durationMs: elapsed,
    differences,
    write(dir: string): string {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'compare.json');
      writeFileSync(
        file,
        `${JSON.stringify({ seed: opts.seed, a: opts.a.display, b: opts.b.display, cases: done, durationMs: elapsed, differences }, null, 2)}\n`,
      );
      return file;
    },
  };
}

/** Deliveries may interleave with acknowledgements differently: compare them as sorted groups. */
function normalise(xs: string[]): string[] {
  const pubs = xs.filter((x) => x.startsWith('PUBLISH')).sort();
  const rest = xs.filter((x) => !x.startsWith('PUBLISH'));
  return [...rest, ...pubs];
}

function firstDiff(a: string[], b: string[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if (a[i] !== b[i]) return `${a[i] ?? '-'}/${b[i] ?? '-'}`;
  return '';
}
