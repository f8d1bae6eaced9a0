import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { githubAnnotations, githubStepSummary } from '../report/github.js';
import { writeHtmlReport } from '../report/html.js';
import { writeJsonReport } from '../report/json.js';
import { writeJunitReport } from '../report/junit.js';
import type { RunReport } from '../report/model.js';
import { loadCatalogues } from '../report/run-coverage.js';
import { runOutcome } from '../report/verdict.js';
import { type ExpectedFailure, updateExpectedFailures } from '../scenario/expected-failures.js';
import type { ProtocolName } from '../scenario/model.js';
import { EXIT } from './exit-codes.js';

export const REPORTERS = ['console', 'github'] as const;
export type ReporterName = (typeof REPORTERS)[number];

/** `--reporter console,github` (repeatable): the console always reports; `github` adds annotations. */
export function parseReporters(values: readonly string[] | undefined): ReporterName[] {
  const names = (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(REPORTERS as readonly string[]).includes(n)) {
      throw new Error(`--reporter: expected ${REPORTERS.join(' or ')}, got "${n}"`);
    }
  }
  return [...new Set(names)] as ReporterName[];
}

/** `--require 3.1.1,5.0`: protocol versions that must have been judged. */
export function parseRequire(values: readonly string[] | undefined): ProtocolName[] {
  const out = new Set<ProtocolName>();
  for (const raw of (values ?? []).flatMap((v) => v.split(','))) {
    const v = raw.trim();
    if (v === '') continue;
    if (v === '3.1.1' || v === '4') out.add('3.1.1');
    else if (v === '5' || v === '5.0') out.add('5.0');
    else throw new Error(`--require: expected 3.1.1 or 5.0, got "${v}"`);
  }
  return [...out];
}

export interface OutputPaths {
  junit: string;
  json: string;
  html: string;
}

/** Writes the JUnit, JSON and HTML reports; returns the files written. */
export function writeReports(report: RunReport, paths: OutputPaths, strict: boolean): string[] {
  writeJunitReport(paths.junit, report, { strict });
  writeJsonReport(paths.json, report);
  writeHtmlReport(paths.html, report, { strict, catalogues: loadCatalogues(report.protocols) });
  return [paths.junit, paths.json, paths.html];
}

/**
 * What the non-console reporters print at the end of a run (annotations for `github`). With `github` and
 * GITHUB_STEP_SUMMARY set (inside GitHub Actions), the job summary gets the result and the failing cases too.
 */
export function reporterOutput(
  report: RunReport,
  reporters: readonly ReporterName[],
  strict: boolean,
  env: NodeJS.ProcessEnv = {},
): string {
  if (!reporters.includes('github')) return '';
  const summaryFile = env.GITHUB_STEP_SUMMARY;
  if (summaryFile) {
    try {
      appendFileSync(summaryFile, githubStepSummary(report, strict, runOutcome(report, strict).text));
    } catch {
      // A summary that cannot be written must not fail the run; the annotations still go to stdout.
    }
  }
  const lines = githubAnnotations(report, strict);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/**
 * `--write-expected-failures FILE`: writes the list a run's (or a merge's) failures call for, keeping the
 * reasons of `previous`, and says what changed. A run that stopped early writes nothing. Returns an exit code
 * when the file cannot be written, undefined otherwise.
 */
export function writeExpectedFailuresFile(
  file: string,
  report: RunReport,
  previous: readonly ExpectedFailure[],
  io: { stdout: (text: string) => void; stderr: (text: string) => void },
): number | undefined {
  if (report.stoppedBy) {
    io.stderr(
      `mqtt-conform: ${file} not written: the run stopped early (${report.stoppedBy}), so its failures are not the broker's full list\n`,
    );
    return undefined;
  }
  const update = updateExpectedFailures(
    report.cases,
    previous,
    `recorded ${report.startedAt.slice(0, 10)} against ${report.target}`,
  );
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, update.text);
  } catch (err) {
    io.stderr(`mqtt-conform: cannot write ${file}: ${String(err)}\n`);
    return EXIT.USAGE;
  }
  io.stdout(
    `expected failures: ${file}: ${update.entries.length} entries (${update.added} new, ${update.kept} kept, ${update.dropped} dropped: their cases pass now)\n`,
  );
  return undefined;
}
