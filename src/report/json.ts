import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type RunReport, statementResults, summarize } from './model.js';
import { unmetRequirements } from './verdict.js';

/**
 * The JSON report, in the shape dashboards and scripts read:
 * `{ tool, version, target, protocols, startedAt, durationMs, summary, cases, statements }`.
 * Additions beyond that shape appear only when they apply: `cases[].expectedFailure` (the reason from
 * --expected-failures), `cases[].source` (`file:line` of the case), `cases[].wireLog` (failing cases, every
 * case with --verbose), a top-level `stoppedBy` when the run ended early, `required` (--require) with
 * `unmetRequirements` (one sentence per required version not judged) when it applies. `source` and `wireLog` let
 * `merge` and `matrix` rebuild every report from JSON results.
 */
export function toJsonReport(report: RunReport): Record<string, unknown> {
  const out: Record<string, unknown> = {
    tool: report.tool,
    version: report.version,
    target: report.target,
    protocols: report.protocols,
    startedAt: report.startedAt,
    durationMs: report.durationMs,
    summary: summarize(report.cases),
    cases: report.cases.map((c) => {
      const entry: Record<string, unknown> = {
        id: c.id,
        protocol: c.protocol,
        title: c.title,
        section: c.section,
        statements: c.statements,
        level: c.level,
        status: c.status,
        durationMs: c.durationMs,
      };
      if (c.message !== undefined) entry.message = c.message;
      if (c.expected !== undefined) entry.expected = c.expected;
      if (c.actual !== undefined) entry.actual = c.actual;
      if (c.expectedFailure !== undefined) entry.expectedFailure = c.expectedFailure;
      if (c.source !== undefined) entry.source = c.source;
      if (c.wireLog !== undefined) entry.wireLog = c.wireLog;
      if (c.finding !== undefined) entry.finding = c.finding;
      return entry;
    }),
    statements: statementResults(report.cases),
  };
  if (report.stoppedBy) out.stoppedBy = report.stoppedBy;
  if (report.shard) out.shard = report.shard;
  if (report.selection) out.selection = report.selection;
  if (report.required) {
    out.required = report.required;
    const unmet = unmetRequirements(report);
    if (unmet.length > 0) out.unmetRequirements = unmet;
  }
  return out;
}

export function writeJsonReport(file: string, report: RunReport): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(toJsonReport(report), null, 2)}\n`);
}
