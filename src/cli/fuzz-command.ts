import { randomInt } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startBundledBroker } from '../bundled-broker.js';
import type { ProtocolVersion } from '../codec/index.js';
import { runCompare } from '../fuzz/compare.js';
import { runFuzz } from '../fuzz/fuzzer.js';
import { FAMILY_NAMES, type FamilyName } from '../fuzz/model.js';
import { replayFinding } from '../fuzz/replay.js';
import { writeFuzzReport } from '../fuzz/reproducer.js';
import type { Target } from '../scenario/context.js';
import { probeTcp } from '../scenario/runner.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './main.js';
import { applyTlsFlags, parseTarget, TargetParseError } from './target.js';

export const FUZZ_USAGE = `Usage: mqtt-conform fuzz [target] [options]
       mqtt-conform fuzz --spawn "mosquitto -c {config}" [options]
       mqtt-conform fuzz --compare target target [options]

A target is host:port, mqtt://, mqtts://, ws:// or wss:// as in a run (--ca, --cert/--key, --insecure for
TLS).

Sends structure-aware malformed and unusual packet sequences and reports crashes, hangs, malformed packets
the broker accepts, malformed answers, wrong deliveries and (with --spawn) leaks; findings are shrunk and
saved as replayable scenarios. Without a target, the bundled reference broker is fuzzed.

Options:
  --spawn CMD              start the broker yourself: {port} is a free port, {config} a mosquitto config
                           listening on it; exits are crashes, the broker is restarted
  --seed N                 run seed (default random; printed); the same seed gives the same cases
  --duration T             fuzzing time: 500ms, 60s, 5m (default 60s unless --cases is given)
  --cases N                stop after N cases
  --protocol 3.1.1|5|all   (default all)
  --concurrency N          cases in flight (default 64)
  --families A,B           mutation families: ${FAMILY_NAMES.join(', ')} (default all)
  --max-findings N         stop after N distinct findings (default 100)
  --out DIR                reproducers, .hex files and fuzz.json (default reports/fuzz)
  --junit FILE             JUnit XML, one testcase per oracle
  --case-timeout MS        bound for a connection's answer to its stream (default 500)
  --liveness-timeout MS    bound for a fresh client's CONNACK, PUBLISH and PINGRESP (default 2000)
  --shrink-budget MS       time to shrink each finding (default 10000)
  --compare A B            differential mode: the same valid-but-unusual cases against two brokers
  --ca FILE, --cert FILE, --key FILE, --insecure
                           TLS of mqtts:// and wss:// targets (as in a run)
  -h, --help

Exit codes: 0 no finding, 1 findings (or differences), 2 usage error, 3 target unreachable,
130/143 interrupted (the report is written with what ran).
`;

export const REPLAY_USAGE = `Usage: mqtt-conform replay FILE [target] [--spawn CMD] [--timeout MS]
                            [--ca FILE] [--cert FILE --key FILE] [--insecure]

Replays a finding saved by \`mqtt-conform fuzz\` (the .yaml scenario or its .hex) against a target (default:
the bundled reference broker). Exits 1 when the finding reproduces, 0 when it does not, 2 on usage errors.
`;

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration: expected e.g. 500ms, 60s, 5m, got "${text}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
}

function int(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value) || Number(value) < min)
    throw new Error(`--${name}: expected an integer >= ${min}, got "${value}"`);
  return Number(value);
}

function protocolsOf(text: string | undefined): ProtocolVersion[] {
  const p = text ?? 'all';
  if (p === 'all') return [4, 5];
  if (p === '3.1.1' || p === '4') return [4];
  if (p === '5' || p === '5.0') return [5];
  throw new Error(`--protocol: expected 3.1.1, 5 or all, got "${p}"`);
}

/** `mqtt-conform fuzz ...` */
export async function runFuzzCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseFuzzArgs>;
  try {
    parsed = parseFuzzArgs(argv);
  } catch (err) {
    io.stderr(`mqtt-conform fuzz: ${(err as Error).message}\n\n${FUZZ_USAGE}`);
    return EXIT.USAGE;
  }
  const v = parsed.values;
  if (v.help) {
    io.stdout(FUZZ_USAGE);
    return EXIT.OK;
  }
  let opts: {
    seed: number;
    durationMs?: number;
    cases?: number;
    protocols: ProtocolVersion[];
    concurrency: number;
    families?: FamilyName[];
    maxFindings: number;
    caseTimeoutMs?: number;
    livenessTimeoutMs?: number;
    shrinkBudgetMs?: number;
  };
  let target: (Target & { display: string }) | undefined;
  let compare: Array<Target & { display: string }> | undefined;
  try {
    const families = v.families
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const f of families ?? []) {
      if (!(FAMILY_NAMES as readonly string[]).includes(f)) {
        throw new Error(`--families: unknown family "${f}" (known: ${FAMILY_NAMES.join(', ')})`);
      }
    }
    if (families?.length === 1 && families[0] === 'properties' && !protocolsOf(v.protocol).includes(5)) {
      throw new Error('--families properties: the properties family is 5.0 only (add --protocol 5 or all)');
    }
    const durationMs = v.duration !== undefined ? parseDuration(v.duration) : undefined;
    const cases = int('cases', v.cases, 1);
    const caseTimeoutMs = int('case-timeout', v['case-timeout'], 10);
    const livenessTimeoutMs = int('liveness-timeout', v['liveness-timeout'], 50);
    const shrinkBudgetMs = int('shrink-budget', v['shrink-budget'], 0);
    opts = {
      seed: int('seed', v.seed, -(2 ** 31)) ?? randomInt(1, 2 ** 31 - 1),
      protocols: protocolsOf(v.protocol),
      concurrency: int('concurrency', v.concurrency, 1) ?? 64,
      maxFindings: int('max-findings', v['max-findings'], 1) ?? 100,
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...(cases !== undefined ? { cases } : {}),
      ...(families ? { families: families as FamilyName[] } : {}),
      ...(caseTimeoutMs !== undefined ? { caseTimeoutMs } : {}),
      ...(livenessTimeoutMs !== undefined ? { livenessTimeoutMs } : {}),
      ...(shrinkBudgetMs !== undefined ? { shrinkBudgetMs } : {}),
    };
    // Any transport of a run: TCP, TLS, WebSocket; the TLS flags apply to every TLS target given.
    const withTls = (t: Target & { display: string }): Target & { display: string } => {
      applyTlsFlags(t, v, io.cwd);
      return t;
    };
    if (v.compare) {
      const rest = parsed.positionals;
      if (rest.length !== 1) throw new Error('--compare needs two targets: --compare host:port host:port');
      compare = [withTls(parseTarget(v.compare)), withTls(parseTarget(rest[0]!))];
    } else {
      if (parsed.positionals.length > 1)
        throw new Error(`expected at most one target, got ${parsed.positionals.join(' ')}`);
      if (parsed.positionals[0] !== undefined) target = withTls(parseTarget(parsed.positionals[0]));
      else applyTlsFlags(undefined, v, io.cwd);
      if (target && v.spawn) throw new Error('give a target or --spawn, not both');
    }
  } catch (err) {
    const msg = err instanceof TargetParseError || err instanceof Error ? err.message : String(err);
    io.stderr(`mqtt-conform fuzz: ${msg}\n\n${FUZZ_USAGE}`);
    return EXIT.USAGE;
  }
  const outDir = resolve(io.cwd, v.out ?? 'reports/fuzz');
  const junit = v.junit ? resolve(io.cwd, v.junit) : undefined;

  const controller = new AbortController();
  let signal: 'SIGINT' | 'SIGTERM' | undefined;
  const removeSignal = io.onSignal((s) => {
    if (signal) {
      io.stderr(`\nmqtt-conform fuzz: second ${s}; exiting without waiting\n`);
      io.exitNow(s === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);
      return;
    }
    signal = s;
    io.stderr(`\nmqtt-conform fuzz: ${s} received; stopping and writing the report\n`);
    controller.abort();
  });

  const progress = (p: { cases: number; casesPerSecond: number; findings: number; phase: string }): void => {
    if (!io.isTTY) return;
    io.stdout(
      `\r${p.phase}: ${p.cases} cases, ${Math.round(p.casesPerSecond)} cases/s, ${p.findings} finding(s)   `,
    );
  };

  try {
    if (compare) {
      io.stdout(
        `mqtt-conform fuzz --compare ${compare[0]!.display} ${compare[1]!.display}, seed ${opts.seed}\n`,
      );
      for (const t of compare) {
        const unreachable = await connectProblem(t);
        if (unreachable) {
          io.stderr(`mqtt-conform fuzz: ${t.display} is unreachable: ${unreachable}\n`);
          return EXIT.UNREACHABLE;
        }
      }
      const r = await runCompare({
        a: compare[0]!,
        b: compare[1]!,
        seed: opts.seed,
        protocols: opts.protocols,
        concurrency: Math.min(opts.concurrency, 16),
        ...(opts.cases !== undefined ? { cases: opts.cases } : {}),
        ...(opts.durationMs !== undefined ? { durationMs: opts.durationMs } : {}),
        ...(opts.families ? { families: opts.families } : {}),
        maxDifferences: opts.maxFindings,
        signal: controller.signal,
        onProgress: progress,
      });
      if (io.isTTY) io.stdout('\n');
      const file = r.write(outDir);
      io.stdout(
        `${r.cases} cases in ${(r.durationMs / 1000).toFixed(1)} s, ${r.differences.length} difference(s)\n`,
      );
      for (const d of r.differences) io.stdout(`  ${d.summary}\n`);
      io.stdout(`report: ${file}\n`);
      if (signal) return signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;
      return r.differences.length > 0 ? EXIT.FAILURES : EXIT.OK;
    }

    let bundled: { close(): Promise<void> } | undefined;
    if (!target && !v.spawn) {
      const b = await startBundledBroker();
      bundled = b;
      target = { host: b.host, port: b.port, display: b.display };
    } else if (target) {
      // A connection as the cases make it (TCP, TLS handshake, WebSocket upgrade): a certificate that is not
      // trusted is the user's to fix, not a crash of the broker.
      const unreachable = await connectProblem(target);
      if (unreachable) {
        io.stderr(`mqtt-conform fuzz: ${target.display} is unreachable: ${unreachable}\n`);
        return EXIT.UNREACHABLE;
      }
    }
    const what = v.spawn ? `spawned "${v.spawn}"` : target!.display;
    const bound =
      opts.cases !== undefined
        ? `${opts.cases} cases`
        : `${((opts.durationMs ?? 60_000) / 1000).toFixed(0)} s`;
    io.stdout(`mqtt-conform fuzz ${what}: seed ${opts.seed}, ${bound}, concurrency ${opts.concurrency}\n`);
    let result: Awaited<ReturnType<typeof runFuzz>>;
    try {
      result = await runFuzz({
        ...(v.spawn ? { spawn: v.spawn } : { target: withoutDisplay(target!) }),
        seed: opts.seed,
        ...(opts.durationMs !== undefined ? { durationMs: opts.durationMs } : {}),
        ...(opts.cases !== undefined ? { cases: opts.cases } : {}),
        protocols: opts.protocols,
        concurrency: opts.concurrency,
        ...(opts.families ? { families: opts.families } : {}),
        maxFindings: opts.maxFindings,
        exec: {
          ...(opts.caseTimeoutMs !== undefined ? { caseTimeoutMs: opts.caseTimeoutMs } : {}),
          ...(opts.livenessTimeoutMs !== undefined ? { livenessTimeoutMs: opts.livenessTimeoutMs } : {}),
        },
        ...(opts.shrinkBudgetMs !== undefined ? { shrinkBudgetMs: opts.shrinkBudgetMs } : {}),
        signal: controller.signal,
        onProgress: progress,
      });
    } catch (err) {
      io.stderr(`mqtt-conform fuzz: ${(err as Error).message}\n`);
      return EXIT.UNREACHABLE;
    } finally {
      await bundled?.close().catch(() => undefined);
    }
    if (io.isTTY) io.stdout('\n');
    const written = writeFuzzReport(outDir, result, junit);
    io.stdout(
      `${result.cases} cases in ${(result.durationMs / 1000).toFixed(1)} s (${Math.round(result.casesPerSecond)} cases/s), seed ${result.seed}${result.restarts ? `, ${result.restarts} restart(s)` : ''}${result.stoppedBy ? `, stopped: ${result.stoppedBy}` : ''}\n`,
    );
    io.stdout(
      `${result.findings.length} finding(s)${result.unconfirmed ? ` (${result.unconfirmed} more did not reproduce alone)` : ''}\n`,
    );
    for (const f of result.findings) {
      io.stdout(
        `  ${f.kind.padEnd(18)} ${(f.protocol === 5 ? '5.0' : '3.1.1').padEnd(5)} ${`${f.packetType} ${f.field}`.padEnd(36)} x${String(f.count).padEnd(5)} ${f.statement ?? ''}\n      ${f.description}\n${f.reproducer ? `      ${f.reproducer}\n` : ''}`,
      );
    }
    io.stdout(`report: ${written.json}${written.junit ? `, ${written.junit}` : ''}\n`);
    if (signal) return signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;
    return result.findings.length > 0 ? EXIT.FAILURES : EXIT.OK;
  } finally {
    removeSignal();
  }
}

function parseFuzzArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      spawn: { type: 'string' },
      seed: { type: 'string' },
      duration: { type: 'string' },
      cases: { type: 'string' },
      protocol: { type: 'string' },
      concurrency: { type: 'string' },
      families: { type: 'string' },
      'max-findings': { type: 'string' },
      out: { type: 'string' },
      junit: { type: 'string' },
      'case-timeout': { type: 'string' },
      'liveness-timeout': { type: 'string' },
      'shrink-budget': { type: 'string' },
      compare: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      insecure: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** Why a connection to `target` (with its transport) cannot be made, or undefined when it can. */
async function connectProblem(target: Target): Promise<string | undefined> {
  const probe = await probeTcp(target, 3000);
  return probe.ok ? undefined : probe.detail;
}

/** The target as the fuzzer and the runner take it: without its display name. */
function withoutDisplay(t: Target & { display: string }): Target {
  const { display: _display, ...rest } = t;
  return rest;
}

/** `mqtt-conform replay FILE [target]` */
export async function runReplayCommand(argv: string[], io: CliIo): Promise<number> {
  let values: {
    spawn?: string;
    timeout?: string;
    help?: boolean;
    ca?: string;
    cert?: string;
    key?: string;
    insecure?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        spawn: { type: 'string' },
        timeout: { type: 'string' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        insecure: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.stderr(`mqtt-conform replay: ${(err as Error).message}\n\n${REPLAY_USAGE}`);
    return EXIT.USAGE;
  }
  if (values.help) {
    io.stdout(REPLAY_USAGE);
    return EXIT.OK;
  }
  if (positionals.length < 1 || positionals.length > 2 || (positionals.length === 2 && values.spawn)) {
    io.stderr(`mqtt-conform replay: expected FILE and at most one target (or --spawn)\n\n${REPLAY_USAGE}`);
    return EXIT.USAGE;
  }
  let target: ReturnType<typeof parseTarget> | undefined;
  let stepTimeoutMs: number | undefined;
  try {
    if (positionals[1] !== undefined) target = parseTarget(positionals[1]);
    applyTlsFlags(target, values, io.cwd);
    stepTimeoutMs = int('timeout', values.timeout, 50);
  } catch (err) {
    io.stderr(`mqtt-conform replay: ${(err as Error).message}\n`);
    return EXIT.USAGE;
  }
  const file = resolve(io.cwd, positionals[0]!);
  try {
    const r = await replayFinding(file, {
      ...(target ? { target: withoutDisplay(target), display: target.display } : {}),
      ...(values.spawn ? { spawn: values.spawn } : {}),
      ...(stepTimeoutMs !== undefined ? { stepTimeoutMs } : {}),
    });
    for (const c of r.results) {
      io.stdout(`${c.status.padEnd(8)} ${c.id} ${c.protocol}${c.message ? `: ${c.message}` : ''}\n`);
      if (c.status !== 'passed' && c.wireLog) io.stdout(`${c.wireLog}\n`);
    }
    if (r.exit)
      io.stdout(`the target exited: code ${r.exit.code}, signal ${r.exit.signal}\n${r.exit.stderr}\n`);
    io.stdout(r.reproduced ? `reproduced against ${r.target}\n` : `not reproduced against ${r.target}\n`);
    return r.reproduced ? EXIT.FAILURES : EXIT.OK;
  } catch (err) {
    const e = err as Error & { issues?: Array<{ file: string; line: number; col: number; message: string }> };
    if (e.issues) {
      io.stderr(
        `mqtt-conform replay: invalid scenario\n${e.issues.map((i) => `${i.file}:${i.line}:${i.col}: ${i.message}`).join('\n')}\n`,
      );
      return EXIT.USAGE;
    }
    io.stderr(`mqtt-conform replay: ${e.message}\n`);
    return EXIT.USAGE;
  }
}
