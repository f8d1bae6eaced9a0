import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startBundledBroker } from '../bundled-broker.js';
import { ConsoleReporter } from '../report/console.js';
import { type CaseResult, isConformanceFailure, type RunReport } from '../report/model.js';
import { unmetRequirements } from '../report/verdict.js';
import type { Target } from '../scenario/context.js';
import { formatIssue, isScenarioLoadError } from '../scenario/errors.js';
import {
  type ExpectedFailure,
  findExpectedFailure,
  loadExpectedFailures,
} from '../scenario/expected-failures.js';
import { loadScenarios } from '../scenario/loader.js';
import type { ProtocolName } from '../scenario/model.js';
import { defaultSpecsDir, packageVersion } from '../scenario/paths.js';
import { defaultConcurrency, runCases } from '../scenario/runner.js';
import { planCases, splitSelectors, unmatchedSelectors } from '../scenario/select.js';
import { topicPrefixProblem } from '../scenario/template.js';
import { runBrokerCommand } from './broker-command.js';
import { configArguments } from './config-file.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { runFuzzCommand, runReplayCommand } from './fuzz-command.js';
import { runMatrixCommand } from './matrix-command.js';
import { runMergeCommand } from './merge-command.js';
import { displayWithNodes, NodeParseError, parseNodes } from './nodes.js';
import {
  parseReporters,
  parseRequire,
  type ReporterName,
  reporterOutput,
  writeExpectedFailuresFile,
  writeReports,
} from './report-output.js';
import { formatShard, parseShard, type Shard, selectionDigest, shardCases } from './shard.js';
import { applyTlsFlags, parseTarget, TargetParseError } from './target.js';
import { USAGE } from './usage.js';

export { EXIT } from './exit-codes.js';

/** Where the CLI writes and which signals it listens to; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  /** Registers SIGINT/SIGTERM handling; returns the function that removes it. */
  onSignal: (handler: (signal: 'SIGINT' | 'SIGTERM') => void) => () => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Ends the process at once: a second SIGINT/SIGTERM while the first is being handled. */
  exitNow: (code: number) => void;
}

function processIo(): CliIo {
  // `mqtt-conform | head` must not crash the run when the reader goes away.
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  }
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stdout.isTTY),
    onSignal: (handler) => {
      const int = (): void => handler('SIGINT');
      const term = (): void => handler('SIGTERM');
      process.on('SIGINT', int);
      process.on('SIGTERM', term);
      return () => {
        process.off('SIGINT', int);
        process.off('SIGTERM', term);
      };
    },
    env: process.env,
    cwd: process.cwd(),
    exitNow: (code) => process.exit(code),
  };
}

class UsageError extends Error {
  readonly code = 'USAGE';
}

interface Options {
  target?: Target & { display: string };
  protocols: ProtocolName[];
  only: string[];
  exclude: string[];
  list: boolean;
  strict: boolean;
  username?: string;
  password?: string;
  username2?: string;
  password2?: string;
  topicPrefix?: string;
  reportsDir: string;
  junit: string;
  json: string;
  html: string;
  reporters: ReporterName[];
  require: ProtocolName[];
  shard?: Shard;
  /** Where the config file gave a selector (`file:line:col`), for the error when it matches nothing. */
  selectorOrigins?: Map<string, string>;
  concurrency: number;
  timeoutMs: number;
  expectedFailures?: string;
  /** --write-expected-failures: where to write the list this run's failures call for. */
  writeExpectedFailures?: string;
  color: boolean;
  verbose: boolean;
  specs: string[];
}

function parseOptions(argv: string[], io: CliIo): Options | 'help' | 'version' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.values.help) return 'help';
  if (parsed.values.version) return 'version';
  // The config file (--config FILE or ./mqtt-conform.config.yaml) supplies what the command line does not.
  const config = configArguments(parsed.values.config, parsed, io.cwd, io.env);
  if (config.args.length > 0) {
    try {
      parsed = parse([...config.args, ...argv]);
    } catch (err) {
      throw new UsageError(`${config.file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const v = parsed.values;
  const selectorOrigins = config.origins;
  if (parsed.positionals.length > 1) {
    throw new UsageError(`expected at most one target, got ${parsed.positionals.join(' ')}`);
  }
  const protocolArg = v.protocol ?? 'all';
  const protocols: ProtocolName[] =
    protocolArg === 'all'
      ? ['3.1.1', '5.0']
      : protocolArg === '3.1.1' || protocolArg === '4'
        ? ['3.1.1']
        : protocolArg === '5' || protocolArg === '5.0'
          ? ['5.0']
          : [];
  if (protocols.length === 0)
    throw new UsageError(`--protocol: expected 3.1.1, 5 or all, got "${protocolArg}"`);
  const int = (name: string, value: string | undefined, def: number, min: number): number => {
    if (value === undefined) return def;
    if (!/^\d+$/.test(value) || Number(value) < min) {
      throw new UsageError(`--${name}: expected an integer >= ${min}, got "${value}"`);
    }
    return Number(value);
  };
  const reportsDir = resolve(io.cwd, v.reports ?? 'reports');
  const usage = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  };
  const opts: Options = {
    protocols,
    only: splitSelectors(v.only),
    exclude: splitSelectors(v.exclude),
    list: Boolean(v.list),
    strict: Boolean(v.strict),
    reportsDir,
    junit: v.junit ? resolve(io.cwd, v.junit) : join(reportsDir, 'junit.xml'),
    json: v.json ? resolve(io.cwd, v.json) : join(reportsDir, 'report.json'),
    html: v.html ? resolve(io.cwd, v.html) : join(reportsDir, 'report.html'),
    reporters: usage(() => parseReporters(v.reporter)),
    require: usage(() => parseRequire(v.require)),
    concurrency: int('concurrency', v.concurrency, defaultConcurrency(), 1),
    timeoutMs: int('timeout', v.timeout, 5000, 50),
    color: !v['no-color'] && io.isTTY && io.env.NO_COLOR === undefined,
    verbose: Boolean(v.verbose),
    specs: v.specs && v.specs.length > 0 ? v.specs.map((s) => resolve(io.cwd, s)) : [defaultSpecsDir()],
  };
  if (v.shard !== undefined) opts.shard = usage(() => parseShard(v.shard!));
  if (selectorOrigins.size > 0) opts.selectorOrigins = selectorOrigins;
  if (v.username !== undefined) opts.username = v.username;
  if (v.password !== undefined) opts.password = v.password;
  if (v.password !== undefined && v.username === undefined) {
    throw new UsageError('--password needs --username');
  }
  if (v.username2 !== undefined) opts.username2 = v.username2;
  if (v.password2 !== undefined) opts.password2 = v.password2;
  if (v.password2 !== undefined && v.username2 === undefined) {
    throw new UsageError('--password2 needs --username2');
  }
  if (v['topic-prefix'] !== undefined) {
    const problem = topicPrefixProblem(v['topic-prefix']);
    if (problem) throw new UsageError(`--topic-prefix "${v['topic-prefix']}": ${problem}`);
    opts.topicPrefix = v['topic-prefix'];
  }
  if (v['expected-failures']) opts.expectedFailures = resolve(io.cwd, v['expected-failures']);
  if (v['write-expected-failures'])
    opts.writeExpectedFailures = resolve(io.cwd, v['write-expected-failures']);
  const t = parsed.positionals[0];
  if (t !== undefined) {
    try {
      opts.target = parseTarget(t);
    } catch (err) {
      if (err instanceof TargetParseError) throw new UsageError(err.message);
      throw err;
    }
  }
  try {
    applyTlsFlags(opts.target, v, io.cwd);
  } catch (err) {
    if (err instanceof TargetParseError) throw new UsageError(err.message);
    throw err;
  }
  if (v.node !== undefined && v.node.length > 0) {
    // A clustered broker: the target is node 1, --node adds the others (src/cli/nodes.ts).
    if (!opts.target) throw new UsageError('--node needs a target: the first node of the cluster');
    try {
      opts.target.nodes = parseNodes(v.node, opts.target);
    } catch (err) {
      if (err instanceof NodeParseError) throw new UsageError(err.message);
      throw err;
    }
    opts.target.display = displayWithNodes(opts.target.display, opts.target.nodes);
  }
  return opts;
}

/** `--only "X"`, or `file:line:col: select.only "X"` when the config file gave it. */
function fromConfig(opts: Options, kind: 'only' | 'exclude', selector: string): string {
  const at = opts.selectorOrigins?.get(`${kind} ${selector}`);
  return at ? `${at}: select.${kind} "${selector}"` : `--${kind} "${selector}"`;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      protocol: { type: 'string' },
      only: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      list: { type: 'boolean' },
      strict: { type: 'boolean' },
      username: { type: 'string' },
      password: { type: 'string' },
      username2: { type: 'string' },
      password2: { type: 'string' },
      'topic-prefix': { type: 'string' },
      reports: { type: 'string' },
      junit: { type: 'string' },
      json: { type: 'string' },
      html: { type: 'string' },
      reporter: { type: 'string', multiple: true },
      require: { type: 'string', multiple: true },
      shard: { type: 'string' },
      config: { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      'expected-failures': { type: 'string' },
      'write-expected-failures': { type: 'string' },
      'no-color': { type: 'boolean' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      insecure: { type: 'boolean' },
      node: { type: 'string', multiple: true },
      verbose: { type: 'boolean' },
      specs: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}

/**
 * `mqtt-conform [target] [options]`. Returns the exit code (see exit-codes.ts); never calls process.exit.
 */
export async function main(argv: string[], ioOverride?: Partial<CliIo>): Promise<number> {
  const io: CliIo = { ...processIo(), ...ioOverride };
  if (argv[0] === 'broker') return runBrokerCommand(argv.slice(1), io);
  if (argv[0] === 'fuzz') return runFuzzCommand(argv.slice(1), io);
  if (argv[0] === 'replay') return runReplayCommand(argv.slice(1), io);
  if (argv[0] === 'matrix') return runMatrixCommand(argv.slice(1), io);
  if (argv[0] === 'merge') return runMergeCommand(argv.slice(1), io);
  let opts: Options | 'help' | 'version';
  try {
    opts = parseOptions(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`mqtt-conform: ${err.message}\n\n${USAGE}`);
      return EXIT.USAGE;
    }
    if (isScenarioLoadError(err)) {
      io.stderr(`mqtt-conform: invalid config file\n${err.issues.map(formatIssue).join('\n')}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  if (opts === 'help') {
    io.stdout(USAGE);
    return EXIT.OK;
  }
  if (opts === 'version') {
    io.stdout(`${packageVersion()}\n`);
    return EXIT.OK;
  }

  // Scenarios and the expected-failures file: any error is a usage/scenario error (2) with file:line:col.
  let planned: ReturnType<typeof planCases>;
  let expected: ExpectedFailure[] = [];
  let previousExpected: ExpectedFailure[] = [];
  try {
    const files = loadScenarios(opts.specs, io.cwd);
    const unmatched = [
      ...unmatchedSelectors(files, opts.only).map((s) => fromConfig(opts, 'only', s)),
      ...unmatchedSelectors(files, opts.exclude).map((s) => fromConfig(opts, 'exclude', s)),
    ];
    if (unmatched.length > 0) {
      io.stderr(`mqtt-conform: ${unmatched.map((u) => `${u} matches no case`).join('; ')} (see --list)\n`);
      return EXIT.USAGE;
    }
    planned = planCases(files, { protocols: opts.protocols, only: opts.only, exclude: opts.exclude });
    const ids = new Set(files.flatMap((f) => f.cases.map((c) => c.id)));
    if (opts.expectedFailures) expected = loadExpectedFailures(opts.expectedFailures, ids);
    // The reasons to keep when the list is rewritten: those of the list in use, else of the file there.
    if (opts.writeExpectedFailures) {
      previousExpected = opts.expectedFailures
        ? expected
        : existsSync(opts.writeExpectedFailures)
          ? loadExpectedFailures(opts.writeExpectedFailures, ids)
          : [];
    }
  } catch (err) {
    if (isScenarioLoadError(err)) {
      io.stderr(`mqtt-conform: invalid scenario data\n${err.issues.map(formatIssue).join('\n')}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof Error && 'code' in err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      io.stderr(`mqtt-conform: ${err.message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  if (planned.length === 0) {
    io.stderr('mqtt-conform: no case matches the selection (--only / --exclude / --protocol)\n');
    return EXIT.USAGE;
  }
  let selection: string | undefined;
  if (opts.shard) {
    const all = planned.length;
    selection = selectionDigest(planned);
    planned = shardCases(planned, opts.shard);
    if (planned.length === 0) {
      io.stderr(`mqtt-conform: shard ${formatShard(opts.shard)} has no case (the selection has ${all})\n`);
      return EXIT.USAGE;
    }
  }

  if (opts.list) {
    for (const p of planned) {
      const c = p.scenario;
      io.stdout(
        `${c.id.padEnd(48)} ${p.protocol.padEnd(5)} ${c.level.padEnd(6)} ${(c.statements[p.protocol] ?? []).join(',')}  ${c.title}\n`,
      );
    }
    io.stdout(`${planned.length} case(s)\n`);
    return EXIT.OK;
  }

  // No target: the bundled reference broker on a free loopback port.
  let bundled: { close(): Promise<void> } | undefined;
  let target = opts.target;
  if (!target) {
    try {
      const b = await startBundledBroker();
      bundled = b;
      target = { host: b.host, port: b.port, display: b.display };
    } catch (err) {
      io.stderr(`mqtt-conform: cannot start the bundled reference broker: ${String(err)}\n`);
      return EXIT.UNREACHABLE;
    }
  }

  const controller = new AbortController();
  let signal: 'SIGINT' | 'SIGTERM' | undefined;
  const removeSignal = io.onSignal((s) => {
    if (signal) {
      // The usual way out when stopping takes too long: a second signal does not wait for anything.
      io.stderr(`\nmqtt-conform: second ${s}; exiting without waiting\n`);
      io.exitNow(s === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);
      return;
    }
    signal = s;
    io.stderr(`\nmqtt-conform: ${s} received; stopping and writing reports\n`);
    controller.abort();
  });

  const reporter = new ConsoleReporter({
    tty: io.isTTY,
    color: opts.color,
    verbose: opts.verbose,
    strict: opts.strict,
    write: io.stdout,
  });
  const startedAt = new Date();
  const started = performance.now();
  reporter.onStart({ target: target.display, total: planned.length });
  let results: CaseResult[] = [];
  let stoppedBy: string | undefined;
  try {
    const outcome = await runCases(planned, {
      target: {
        host: target.host,
        port: target.port,
        ...(target.tls ? { tls: target.tls } : {}),
        ...(target.websocket ? { websocket: target.websocket } : {}),
        ...(target.nodes ? { nodes: target.nodes } : {}),
      },
      concurrency: opts.concurrency,
      stepTimeoutMs: opts.timeoutMs,
      signal: controller.signal,
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(opts.username2 !== undefined ? { username2: opts.username2 } : {}),
      ...(opts.password2 !== undefined ? { password2: opts.password2 } : {}),
      ...(opts.topicPrefix !== undefined ? { topicPrefix: opts.topicPrefix } : {}),
      keepAllWireLogs: opts.verbose,
      onCaseStart: (p) => reporter.onCaseStart(p),
      onCaseDone: (r) => {
        const xf = findExpectedFailure(expected, r.id, r.protocol);
        if (xf) r.expectedFailure = xf.reason;
        reporter.onCaseDone(r);
      },
    });
    results = outcome.results;
    stoppedBy = signal ?? outcome.stoppedBy;
    if (outcome.detail) io.stderr(`mqtt-conform: ${outcome.detail}\n`);
  } finally {
    removeSignal();
    await bundled?.close().catch(() => undefined);
  }

  const report: RunReport = {
    tool: 'mqtt-conform',
    version: packageVersion(),
    target: target.display,
    protocols: opts.protocols,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    cases: results,
    ...(stoppedBy ? { stoppedBy } : {}),
    ...(opts.shard ? { shard: formatShard(opts.shard) } : {}),
    ...(selection ? { selection } : {}),
    ...(opts.require.length > 0 ? { required: opts.require } : {}),
  };
  reporter.onEnd(report);
  try {
    const written = writeReports(report, opts, opts.strict);
    io.stdout(reporterOutput(report, opts.reporters, opts.strict, io.env));
    io.stdout(`reports: ${written.join(', ')}\n`);
  } catch (err) {
    io.stderr(`mqtt-conform: cannot write reports: ${String(err)}\n`);
    return EXIT.USAGE;
  }
  if (opts.writeExpectedFailures) {
    const problem = writeExpectedFailuresFile(opts.writeExpectedFailures, report, previousExpected, io);
    if (problem) return problem;
  }
  // --require: a version of which nothing was judged fails the run instead of passing it (the reports say
  // so). A shard holds part of the cases: `mqtt-conform merge` judges the whole run.
  const unmet = unmetRequirements(report);
  return exitCodeFor({
    signal,
    stoppedBy,
    failures: results.filter((r) => isConformanceFailure(r, opts.strict)).length + unmet.length,
  });
}
