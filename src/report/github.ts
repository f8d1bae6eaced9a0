import { sep } from 'node:path';
import { failureText } from './junit.js';
import { type CaseResult, isConformanceFailure, type RunReport } from './model.js';
import { isExpectedFailure, unmetRequirements } from './verdict.js';

/** Data of a workflow command (the text after `::`). */
function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value of a workflow command (`file=`, `title=` ...). */
function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `specs/x.yaml:12` -> file and line; GitHub wants forward slashes, relative to the workspace. */
export function splitSource(source: string): { file: string; line?: number } {
  const m = /^(.*):(\d+)$/.exec(source);
  const file = (m ? m[1]! : source).split(sep).join('/');
  return m ? { file, line: Number(m[2]) } : { file };
}

/** One annotation: `::error file=…,line=…,title=…::text`. */
export function annotation(level: 'error' | 'warning', c: CaseResult): string {
  const props: string[] = [];
  if (c.source) {
    const { file, line } = splitSource(c.source);
    props.push(`file=${escapeProperty(file)}`);
    if (line !== undefined) props.push(`line=${line}`);
  }
  const verdict = c.status === 'error' ? 'could not be carried out' : c.status;
  props.push(`title=${escapeProperty(`${c.id} [MQTT ${c.protocol}] ${verdict}`)}`);
  return `::${level} ${props.join(',')}::${escapeData(failureText(c))}`;
}

/**
 * GitHub Actions annotations (workflow commands on stdout): one `::error` per case that fails the run, pointing
 * at the case in its scenario file, and one `::warning` per non-strict result that does not (without
 * --strict). Expected failures get none. A required version of which nothing was judged gets an `::error`
 * of its own.
 */
export function githubAnnotations(report: RunReport, strict: boolean): string[] {
  const out: string[] = [];
  for (const c of report.cases) {
    if (isConformanceFailure(c, strict)) out.push(annotation('error', c));
    else if (c.status === 'non-strict' && !isExpectedFailure(c)) out.push(annotation('warning', c));
  }
  // A required version not judged (--require) fails the run too; it has no scenario line to point at.
  for (const u of unmetRequirements(report)) {
    out.push(`::error title=${escapeProperty('requirement not met (--require)')}::${escapeData(u)}`);
  }
  return out;
}

/** Markdown table cell: pipes and line breaks would break the row. */
function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * The job summary (`$GITHUB_STEP_SUMMARY`, Markdown): the result line, the counts, and a table of the cases
 * that fail the run with their statements, expected and actual.
 */
export function githubStepSummary(report: RunReport, strict: boolean, resultText: string): string {
  const s = { passed: 0, failed: 0, 'non-strict': 0, error: 0, info: 0, skipped: 0 } as Record<
    string,
    number
  >;
  for (const c of report.cases) s[c.status] = (s[c.status] ?? 0) + 1;
  const failing = report.cases.filter((c) => isConformanceFailure(c, strict));
  const lines = [
    `### MQTT conformance: ${mdCell(report.target)}`,
    '',
    `**RESULT: ${mdCell(resultText)}** — ${report.cases.length} case(s): ${s.passed} passed, ${s.failed} failed, ${s['non-strict']} non-strict, ${s.error} errors, ${s.info} info, ${s.skipped} skipped`,
    '',
  ];
  if (failing.length > 0) {
    lines.push('| case | MQTT | statements | expected | actual |', '| --- | --- | --- | --- | --- |');
    for (const c of failing) {
      const where = c.source ? ` (${mdCell(c.source)})` : '';
      lines.push(
        `| \`${c.id}\`${where} | ${c.protocol} | ${mdCell(c.statements.join(', '))} | ${mdCell(c.expected ?? c.message ?? '')} | ${mdCell(c.actual ?? '')} |`,
      );
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
