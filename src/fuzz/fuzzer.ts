/**
 * The fuzz loop: generates cases from a seed (case i uses a seed derived from the run seed and i, so the
 * same seed gives the same case sequence at any concurrency), runs them concurrently, watches the target
 * (periodic liveness probe; exit, memory and open files of a spawned process), deduplicates findings by
 * oracle, packet type and mutated field, and shrinks each with fast-check to a minimal case that still
 * reproduces it when run alone.
 */
import fc from 'fast-check';
import type { ProtocolVersion } from '../codec/index.js';
import {
  type CaseOutcome,
  DEFAULT_EXEC,
  type Draft,
  type ExecOptions,
  materialise,
  probeLiveness,
  runFuzzCase,
  type TargetAddress,
} from './executor.js';
import { fuzzCaseArbitrary } from './families.js';
import { dedupKey, type FamilyName, type Finding, type FuzzCase } from './model.js';
import { type ExitInfo, leakVerdict, type ResourceSample, SpawnedTarget } from './spawn.js';

export interface FuzzOptions {
  /** A running target; ignored when `spawn` is given. */
  target?: TargetAddress;
  /** Command that starts the broker: `{port}` and `{config}` are filled in (see spawn.ts). */
  spawn?: string;
  seed: number;
  /** Stop generating after this long (default 60 s unless `cases` is given). */
  durationMs?: number;
  /** Stop generating after this many cases. */
  cases?: number;
  protocols: readonly ProtocolVersion[];
  concurrency: number;
  families?: readonly FamilyName[];
  /** Stop generating once this many distinct findings are known (default 100). */
  maxFindings?: number;
  exec?: Partial<ExecOptions>;
  /** Time for shrinking one finding (default 10 s). */
  shrinkBudgetMs?: number;
  /** Interval of the liveness probe (default 1000 ms). */
  livenessEveryMs?: number;
  /** Interval of memory / open-file samples of a spawned target (default 500 ms). */
  sampleEveryMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: FuzzProgress) => void;
}

export interface FuzzProgress {
  cases: number;
  elapsedMs: number;
  casesPerSecond: number;
  findings: number;
  phase: 'fuzzing' | 'shrinking';
}

export interface FuzzResult {
  seed: number;
  protocol: string;
  durationMs: number;
  cases: number;
  casesPerSecond: number;
  findings: Finding[];
  /** Distinct findings that did not reproduce when their case ran alone (concurrency artefacts), by key. */
  unconfirmed: number;
  restarts: number;
  stoppedBy?: 'interrupted' | 'target-died' | 'max-findings';
}

/** Seed of case `i` of a run: fast-check generates case i as the first value of this seed. */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x85ebca6b) + Math.imul(i + 1, 0x9e3779b1)) | 0;
}

export function generateCase(arb: fc.Arbitrary<FuzzCase>, seed: number, path?: string): FuzzCase {
  if (path === undefined) return fc.sample(arb, { seed, numRuns: 1 })[0]!;
  // Replays a shrink path: the counterexample fast-check reaches along it.
  let found: FuzzCase | undefined;
  fc.check(
    fc.property(arb, (c) => {
      found = c;
      return false;
    }),
    { seed, path, numRuns: 1, endOnFailure: true },
  );
  return found!;
}

interface Entry {
  finding: Finding;
  case?: FuzzCase;
  caseSeed?: number;
  /** Reproduced alone (by attribution or the shrink's first run). */
  confirmed: boolean;
  /** The target was gone: it could not be rerun. */
  unrerunnable?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const exec: ExecOptions = { ...DEFAULT_EXEC, ...opts.exec };
  const arb = fuzzCaseArbitrary({
    protocols: opts.protocols,
    ...(opts.families ? { families: opts.families } : {}),
  });
  const maxFindings = opts.maxFindings ?? 100;
  const durationMs = opts.cases === undefined ? (opts.durationMs ?? 60_000) : opts.durationMs;
  const spawned = opts.spawn ? new SpawnedTarget(opts.spawn) : undefined;
  if (spawned) await spawned.start();
  const target = (): TargetAddress =>
    spawned ? { host: spawned.host, port: spawned.port } : (opts.target as TargetAddress);
  if (!spawned && !opts.target) throw new Error('runFuzz: a target or a spawn command is needed');

  const entries = new Map<string, Entry>();
  /** Distinct findings seen by an event rather than a timeout: they count toward --max-findings. */
  let counted = 0;
  const started = performance.now();
  let nextIndex = 0;
  let done = 0;
  let stoppedBy: FuzzResult['stoppedBy'];
  let pause: Promise<void> | undefined;
  let inFlight = 0;
  const recent: Array<{ seed: number; c: FuzzCase }> = [];
  let samples: ResourceSample[] = [];
  let leakReported = false;
  let phase: FuzzProgress['phase'] = 'fuzzing';

  const stopping = (): boolean => {
    if (opts.signal?.aborted) stoppedBy ??= 'interrupted';
    return (
      stoppedBy !== undefined ||
      (opts.cases !== undefined && nextIndex >= opts.cases) ||
      (durationMs !== undefined && performance.now() - started >= durationMs)
    );
  };

  const record = (
    d: Draft,
    c: FuzzCase | undefined,
    seed: number | undefined,
    streams: Buffer[],
    extra: Partial<Finding> = {},
  ): Entry => {
    const f: Finding = {
      kind: d.kind,
      ...(d.statement ? { statement: d.statement } : {}),
      description: d.description,
      protocol: c?.protocol ?? opts.protocols[0]!,
      packetType: d.packetType,
      field: d.field,
      family: c?.family ?? 'run',
      packetsHex: streams.map((s) => s.toString('hex')),
      count: 0,
      ...extra,
    };
    const key = dedupKey(f);
    let e = entries.get(key);
    if (!e) {
      e = {
        finding: f,
        confirmed: false,
        ...(c ? { case: c } : {}),
        ...(seed !== undefined ? { caseSeed: seed } : {}),
      };
      entries.set(key, e);
      if (!d.timing) counted++;
      if (counted >= maxFindings) stoppedBy ??= 'max-findings';
    }
    e.finding.count++;
    return e;
  };

  // --- target trouble: pause everything, find the culprit alone, restart a spawned target -----------------
  let handling: Promise<void> | undefined;
  const handleTrouble = (
    why: string,
    seen?: { c: FuzzCase; seed: number; streams: Buffer[] },
    seenKind?: Draft['kind'],
  ): Promise<void> => {
    if (handling) return handling;
    let release!: () => void;
    pause = new Promise((r) => (release = r));
    handling = (async () => {
      while (inFlight > 0) await sleep(5);
      const exit = spawned?.exit;
      const live = exit
        ? ({ ok: false, kind: 'crash', detail: 'the process exited' } as const)
        : await probeLiveness(target(), exec.livenessTimeoutMs);
      if (live.ok) {
        // Recovered once the cases' connections closed (a broker blocked by one connection): the case that
        // saw it is run alone, holding its connection open, to confirm and attribute the hang.
        if (seen && (seenKind === 'hang' || seenKind === 'crash')) {
          const candidates = [seen, ...[...recent].reverse().filter((r) => r.c !== seen.c)];
          recent.length = 0;
          for (const cand of candidates) {
            if (opts.signal?.aborted) break;
            const r = await reproduceAlone(cand.c);
            if (r.draft && (r.draft.kind === 'hang' || r.draft.kind === 'crash')) {
              record(r.draft, cand.c, cand.seed, r.streams, r.exit ? { exit: r.exit } : {}).confirmed = true;
              break;
            }
          }
        }
        return;
      }
      const kind = live.kind;
      if (!spawned) {
        // A running target we cannot restart: when it recovers (a hang that ends with its connection), find
        // the culprit alone; when it stays down, the run ends with what is known.
        await sleep(exec.livenessTimeoutMs);
        if (!(await probeLiveness(target(), exec.livenessTimeoutMs)).ok) {
          const c = seen ?? recent[recent.length - 1];
          record(
            {
              kind,
              description: `${live.detail} (${why}); the run stopped`,
              packetType: c?.c.packetType ?? 'unknown',
              field: c?.c.field ?? 'unknown',
            },
            c?.c,
            c?.seed,
            seen?.streams ?? (c ? materialise(c.c) : []),
          ).unrerunnable = true;
          stoppedBy = 'target-died';
          return;
        }
      }
      if (spawned && !spawned.alive()) await spawned.restart();
      else if (spawned) await spawned.restart();
      samples = [];
      // Newest first: the culprit is most likely among the last cases started.
      const candidates = [...(seen ? [seen] : []), ...[...recent].reverse().filter((r) => r.c !== seen?.c)];
      recent.length = 0;
      for (const cand of candidates) {
        if (opts.signal?.aborted) break;
        const r = await reproduceAlone(cand.c);
        if (r.draft && (r.draft.kind === 'crash' || r.draft.kind === 'hang')) {
          const e = record(r.draft, cand.c, cand.seed, r.streams, r.exit ? { exit: r.exit } : {});
          e.confirmed = true;
          return;
        }
      }
      const c = seen ?? candidates[0];
      record(
        {
          kind,
          description: `${live.detail} (${why}); not reproduced by any recent case alone`,
          packetType: 'unknown',
          field: 'unattributed',
        },
        undefined,
        undefined,
        seen?.streams ?? (c ? materialise(c.c) : []),
        exit ? { exit } : {},
      ).unrerunnable = true;
    })().finally(() => {
      handling = undefined;
      pause = undefined;
      release();
    });
    return handling;
  };

  /** Runs a case with nothing else in flight and says which finding (if any) it produced. */
  async function reproduceAlone(
    c: FuzzCase,
  ): Promise<{ draft?: Draft; streams: Buffer[]; exit?: ExitInfo; outcome?: CaseOutcome }> {
    if (spawned && !spawned.alive()) {
      await spawned.restart();
      samples = [];
    }
    const outcome = await runFuzzCase(c, target(), exec);
    if (spawned) {
      // Give an exit a moment to be reported.
      await Promise.race([spawned.exited, sleep(30)]);
      const exit = spawned.exit;
      if (exit) {
        const signal = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
        return {
          draft: {
            kind: 'crash',
            description: `the broker process ended (${signal})${exit.stderr ? `; stderr: ${lastLines(exit.stderr)}` : ''}`,
            packetType: c.packetType,
            field: c.field,
          },
          streams: outcome.streams,
          exit,
          outcome,
        };
      }
    }
    if (outcome.unreachable) {
      return {
        draft: {
          kind: 'crash',
          description: `the target stopped accepting connections (${outcome.unreachable})`,
          packetType: c.packetType,
          field: c.field,
        },
        streams: outcome.streams,
        outcome,
      };
    }
    const draft = outcome.drafts[0] ?? (await livenessDraft(c));
    return { ...(draft ? { draft } : {}), streams: outcome.streams, outcome };
  }

  async function livenessDraft(c: FuzzCase): Promise<Draft | undefined> {
    const live = await probeLiveness(target(), exec.livenessTimeoutMs);
    if (live.ok) return undefined;
    return {
      kind: live.kind,
      description: `${live.detail} after this case`,
      packetType: c.packetType,
      field: c.field,
    };
  }

  const progress = (): FuzzProgress => {
    const elapsedMs = performance.now() - started;
    return {
      cases: done,
      elapsedMs,
      casesPerSecond: done / Math.max(0.001, elapsedMs / 1000),
      findings: entries.size,
      phase,
    };
  };

  // --- background: liveness probe, resource samples, progress ------------------------------------------
  let running = true;
  const background = (async () => {
    let lastProbe = performance.now();
    let lastSample = 0;
    let lastProgress = 0;
    while (running) {
      await sleep(50);
      const now = performance.now();
      if (opts.onProgress && now - lastProgress >= 500) {
        lastProgress = now;
        opts.onProgress(progress());
      }
      if (pause || phase !== 'fuzzing') continue;
      if (spawned && now - lastSample >= (opts.sampleEveryMs ?? 500)) {
        lastSample = now;
        const s = spawned.sample();
        if (s) samples.push(s);
        const leak = !leakReported ? leakVerdict(samples) : undefined;
        if (leak) {
          leakReported = true;
          record(
            {
              kind: 'leak',
              description: `${leak} (${done} cases so far)`,
              packetType: 'process',
              field: samples.length && leak.startsWith('open files') ? 'open files' : 'memory',
            },
            undefined,
            undefined,
            [],
          ).confirmed = true;
        }
      }
      if (spawned && !spawned.alive()) {
        void handleTrouble('the process exited');
        continue;
      }
      if (now - lastProbe >= (opts.livenessEveryMs ?? 1000)) {
        lastProbe = now;
        const live = await probeLiveness(target(), exec.livenessTimeoutMs);
        if (!live.ok && running && !pause) void handleTrouble(`liveness probe: ${live.detail}`);
      }
    }
  })();

  // --- workers -------------------------------------------------------------------------------------------
  const worker = async (): Promise<void> => {
    for (;;) {
      while (pause) await pause;
      if (stopping()) return;
      const i = nextIndex++;
      const seed = caseSeed(opts.seed, i);
      const c = generateCase(arb, seed);
      recent.push({ seed, c });
      if (recent.length > opts.concurrency * 2) recent.shift();
      inFlight++;
      let out: CaseOutcome;
      try {
        out = await runFuzzCase(c, target(), exec);
      } finally {
        inFlight--;
      }
      done++;
      const troubled =
        out.unreachable !== undefined ||
        (spawned !== undefined && !spawned.alive()) ||
        out.drafts.some((d) => d.kind === 'hang' || d.kind === 'crash');
      for (const d of out.drafts)
        if (d.kind !== 'hang' && d.kind !== 'crash') record(d, c, seed, out.streams);
      if (troubled)
        await handleTrouble(
          out.unreachable ?? out.drafts.find((d) => d.kind === 'hang')?.description ?? 'the process exited',
          { c, seed, streams: out.streams },
          out.drafts.find((d) => d.kind === 'hang' || d.kind === 'crash')?.kind ?? 'crash',
        );
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    while (handling) await handling;
    const fuzzMs = performance.now() - started;
    const fuzzed = done;

    // --- shrinking -------------------------------------------------------------------------------------
    phase = 'shrinking';
    for (const [key, e] of entries) {
      if (!e.case || e.caseSeed === undefined || e.unrerunnable) continue;
      if (opts.signal?.aborted) break;
      if (stoppedBy === 'target-died') break;
      await shrink(key, e);
    }
    const findings = [...entries.values()]
      .filter(
        (e) =>
          e.confirmed ||
          e.unrerunnable ||
          e.finding.kind === 'leak' ||
          stoppedBy === 'target-died' ||
          opts.signal?.aborted,
      )
      .map((e) => e.finding);
    return {
      seed: opts.seed,
      protocol: opts.protocols.map((v) => (v === 5 ? '5.0' : '3.1.1')).join(','),
      durationMs: Math.round(fuzzMs),
      cases: fuzzed,
      casesPerSecond: Math.round((fuzzed / Math.max(0.001, fuzzMs / 1000)) * 10) / 10,
      findings,
      unconfirmed: [...entries.values()].filter(
        (e) => !(e.confirmed || e.unrerunnable || e.finding.kind === 'leak'),
      ).length,
      restarts: spawned?.restarts ?? 0,
      ...(stoppedBy ? { stoppedBy } : {}),
    };
  } finally {
    running = false;
    await background;
    await spawned?.dispose();
  }

  async function shrink(key: string, e: Entry): Promise<void> {
    const deadline = performance.now() + (opts.shrinkBudgetMs ?? 10_000);
    const lastStreams = new WeakMap<FuzzCase, { streams: Buffer[]; draft: Draft; exit?: ExitInfo }>();
    let first = true;
    const reproduces = async (c: FuzzCase): Promise<boolean> => {
      if (!first && (performance.now() > deadline || opts.signal?.aborted)) return false;
      first = false;
      const r = await reproduceAlone(c);
      if (!r.draft) return false;
      const k = dedupKey({
        kind: r.draft.kind,
        protocol: c.protocol,
        packetType: r.draft.packetType,
        field: r.draft.field,
      });
      if (k !== key) return false;
      lastStreams.set(c, { streams: r.streams, draft: r.draft, ...(r.exit ? { exit: r.exit } : {}) });
      return true;
    };
    const result = await fc.check(
      fc.asyncProperty(arb, async (c) => !(await reproduces(c))),
      { seed: e.caseSeed!, numRuns: 1 },
    );
    if (!result.failed || result.counterexample === null) return;
    e.confirmed = true;
    const shrunk = result.counterexample[0];
    const last = lastStreams.get(shrunk);
    e.case = shrunk;
    e.finding.caseSeed = e.caseSeed!;
    e.finding.path = result.counterexamplePath ?? undefined;
    e.finding.shrinks = result.numShrinks;
    e.finding.family = shrunk.family;
    if (last) {
      e.finding.packetsHex = last.streams.map((s) => s.toString('hex'));
      e.finding.description = last.draft.description;
      if (last.draft.statement) e.finding.statement = last.draft.statement;
      if (last.exit) e.finding.exit = last.exit;
    }
    if (spawned && !spawned.alive()) await spawned.restart();
  }
}

function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join(' | ').slice(0, 400);
}
