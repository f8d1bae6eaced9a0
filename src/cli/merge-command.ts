import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConsoleReporter } from '../report/console.js';
import { MergeError, mergeReports } from '../report/merge.js';
import { isConformanceFailure, type RunReport } from '../report/model.js';
import { ResultsFileError, readJsonReport } from '../report/read-json.js';
import { unmetRequirements } from '../report/verdict.js';
import { formatIssue, isScenarioLoadError } from '../scenario/errors.js';
import { type ExpectedFailure, loadExpectedFailures } from '../scenario/expected-failures.js';
import { loadScenarios } from '../scenario/loader.js';
import { ALL_PROTOCOLS } from '../scenario/model.js';
import { defaultSpecsDir } from '../scenario/paths.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import {
  parseReporters,
  parseRequire,
  reporterOutput,
  writeExpectedFailuresFile,
  writeReports,
} from './report-output.js';

export const MERGE_USAGE = `Usage: mqtt-conform merge RESULTS.json [RESULTS.json ...] [options]

Combines the JSON results of the shards of a split run (--shard i/n) into one report, as if one run had run
every case: the console summary, JUnit XML, JSON and HTML reports, and the exit code of that run.

Options:
  --reports DIR              folder for junit.xml, report.json, report.html (default reports/)
  --junit FILE, --json FILE, --html FILE   explicit report paths
  --strict                   should-level (non-strict) results fail the run too
  --reporter github          also write GitHub Actions annotations (one per failing case)
  --require 3.1.1,5.0        fail when a listed version was skipped entirely
  --write-expected-failures FILE
                             write the --expected-failures list the merged failures call for
  --no-color
  -h, --help
`;

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** `mqtt-conform merge a.json b.json ...`; returns the exit code a single run of all the cases would give. */
export function runMergeCommand(argv: string[], io: Io): number {
  const fail = (msg: string, usage = false): number => {
    io.stderr(`mqtt-conform merge: ${msg}\n${usage ? `\n${MERGE_USAGE}` : ''}`);
    return EXIT.USAGE;
  };
  let parsed: ReturnType<typeof parse>;
  let reporters: ReturnType<typeof parseReporters>;
  let required: ReturnType<typeof parseRequire>;
  try {
    parsed = parse(argv);
    reporters = parseReporters(parsed.values.reporter);
    required = parseRequire(parsed.values.require);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err), true);
  }
  const v = parsed.values;
  if (v.help) {
    io.stdout(MERGE_USAGE);
    return EXIT.OK;
  }
  if (parsed.positionals.length === 0) return fail('give the JSON results to merge', true);
  let report: RunReport;
  try {
    report = mergeReports(
      parsed.positionals.map((f) => {
        const file = resolve(io.cwd, f);
        return { file: f, report: readJsonReport(file) };
      }),
    );
  } catch (err) {
    if (err instanceof ResultsFileError || err instanceof MergeError) return fail(err.message);
    throw err;
  }
  // What the shards were asked to require, and what the merge is asked to: judged over the whole run.
  const allRequired = ALL_PROTOCOLS.filter((p) => report.required?.includes(p) || required.includes(p));
  if (allRequired.length > 0) report.required = allRequired;
  const strict = Boolean(v.strict);
  const reportsDir = resolve(io.cwd, v.reports ?? 'reports');
  const paths = {
    junit: v.junit ? resolve(io.cwd, v.junit) : join(reportsDir, 'junit.xml'),
    json: v.json ? resolve(io.cwd, v.json) : join(reportsDir, 'report.json'),
    html: v.html ? resolve(io.cwd, v.html) : join(reportsDir, 'report.html'),
  };
  const reporter = new ConsoleReporter({
    tty: false,
    color: !v['no-color'] && io.isTTY && io.env.NO_COLOR === undefined,
    verbose: false,
    strict,
    write: io.stdout,
  });
  io.stdout(
    `mqtt-conform merge: ${parsed.positionals.length} result file(s), ${report.cases.length} case(s)\n`,
  );
  reporter.onEnd(report);
  try {
    const written = writeReports(report, paths, strict);
    io.stdout(reporterOutput(report, reporters, strict, io.env));
    io.stdout(`reports: ${written.join(', ')}\n`);
  } catch (err) {
    return fail(`cannot write reports: ${String(err)}`);
  }
  const baseline = v['write-expected-failures'];
  if (baseline) {
    const file = resolve(io.cwd, baseline);
    let previous: ExpectedFailure[];
    try {
      previous = existsSync(file)
        ? loadExpectedFailures(file, knownCaseIds(report), baseline)
        : expectedFailuresOf(report);
    } catch (err) {
      if (isScenarioLoadError(err)) return fail(err.issues.map(formatIssue).join('\n'));
      throw err;
    }
    const problem = writeExpectedFailuresFile(file, report, previous, io);
    if (problem) return problem;
  }
  const unmet = unmetRequirements(report);
  return exitCodeFor({
    ...(report.stoppedBy === 'SIGINT' || report.stoppedBy === 'SIGTERM' ? { signal: report.stoppedBy } : {}),
    ...(report.stoppedBy ? { stoppedBy: report.stoppedBy } : {}),
    failures: report.cases.filter((c) => isConformanceFailure(c, strict)).length + unmet.length,
  });
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      reports: { type: 'string' },
      junit: { type: 'string' },
      json: { type: 'string' },
      html: { type: 'string' },
      strict: { type: 'boolean' },
      reporter: { type: 'string', multiple: true },
      require: { type: 'string', multiple: true },
      'write-expected-failures': { type: 'string' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** The case ids a baseline may name: the bundled scenarios' and those of the merged results. */
function knownCaseIds(report: RunReport): Set<string> {
  const ids = new Set(report.cases.map((c) => c.id));
  for (const f of loadScenarios([defaultSpecsDir()])) for (const c of f.cases) ids.add(c.id);
  return ids;
}

/**
 * The expected failures the shards were run with (each case's `expectedFailure`): one entry per case, without
 * `protocol` when every version of it that ran gives the same reason.
 */
function expectedFailuresOf(report: RunReport): ExpectedFailure[] {
  const out: ExpectedFailure[] = [];
  const ids = [...new Set(report.cases.map((c) => c.id))];
  for (const id of ids) {
    const runs = report.cases.filter((c) => c.id === id);
    const listed = runs.filter((c) => c.expectedFailure !== undefined);
    if (listed.length === 0) continue;
    const reasons = new Set(listed.map((c) => c.expectedFailure));
    if (listed.length === runs.length && reasons.size === 1) {
      out.push({ id, reason: listed[0]!.expectedFailure! });
    } else {
      for (const c of listed) out.push({ id, protocol: c.protocol, reason: c.expectedFailure! });
    }
  }
  return out;
}
