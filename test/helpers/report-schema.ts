import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * The results-file schema (docs/report.schema.json) as a check for tests: every report.json a test writes
 * must satisfy it, plus what JSON Schema cannot say (the summary counts the cases, a case's section is the
 * start of its id, the statements list is the one the cases give).
 */
export const SCHEMA_FILE = join(import.meta.dirname, '..', '..', 'docs', 'report.schema.json');

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    // ajv-formats is CommonJS: its default export arrives wrapped under nodenext.
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
      addFormatsModule) as (a: Ajv2020) => Ajv2020;
    addFormats(ajv);
    compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
  }
  return compiled;
}

const SUMMARY_KEYS: Record<string, string> = {
  passed: 'passed',
  failed: 'failed',
  'non-strict': 'nonStrict',
  info: 'info',
  skipped: 'skipped',
  error: 'errors',
};
const SEVERITY = ['failed', 'non-strict', 'error', 'passed', 'info', 'skipped'];

/** The problems of one parsed report (empty when it is valid). */
export function reportProblems(report: unknown): string[] {
  const validate = validator();
  if (!validate(report)) {
    return (validate.errors ?? []).map(
      (e) =>
        `${e.instancePath || '/'} ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
    );
  }
  const r = report as {
    summary: Record<string, number>;
    cases: { id: string; protocol: string; section: string; statements: string[]; status: string }[];
    statements: { id: string; protocol: string; status: string; cases: string[] }[];
  };
  const problems: string[] = [];
  const counts: Record<string, number> = { total: r.cases.length };
  for (const k of Object.values(SUMMARY_KEYS)) counts[k] = 0;
  for (const c of r.cases) counts[SUMMARY_KEYS[c.status]!]!++;
  for (const [k, n] of Object.entries(counts)) {
    if (r.summary[k] !== n) problems.push(`/summary/${k} is ${r.summary[k]}, the cases give ${n}`);
  }
  const seen = new Set<string>();
  const expected = new Map<string, { status: string; cases: string[] }>();
  r.cases.forEach((c, i) => {
    if (!c.id.startsWith(`${c.section}/`))
      problems.push(`/cases/${i}: id ${c.id} is not in section ${c.section}`);
    const key = `${c.id} [${c.protocol}]`;
    if (seen.has(key)) problems.push(`/cases/${i}: ${key} appears twice`);
    seen.add(key);
    for (const s of c.statements) {
      const k = `${c.protocol} ${s}`;
      const e = expected.get(k) ?? { status: c.status, cases: [] };
      e.cases.push(c.id);
      if (SEVERITY.indexOf(c.status) < SEVERITY.indexOf(e.status)) e.status = c.status;
      expected.set(k, e);
    }
  });
  const listed = new Set<string>();
  r.statements.forEach((s, i) => {
    const k = `${s.protocol} ${s.id}`;
    const e = expected.get(k);
    listed.add(k);
    if (!e) problems.push(`/statements/${i}: ${k} is checked by no case`);
    else if (e.status !== s.status || e.cases.join() !== s.cases.join()) {
      problems.push(`/statements/${i}: ${k} should be ${e.status} by ${e.cases.join(', ')}`);
    }
  });
  for (const k of expected.keys()) if (!listed.has(k)) problems.push(`/statements: ${k} is missing`);
  return problems;
}

/** Throws with every problem when the report does not satisfy the schema. */
export function assertValidReport(report: unknown, name = 'report.json'): void {
  const problems = reportProblems(report);
  if (problems.length > 0) {
    throw new Error(`${name} does not match docs/report.schema.json:\n  ${problems.join('\n  ')}`);
  }
}

/** Reads a results file and checks it; returns the parsed report. */
export function assertValidReportFile(file: string): Record<string, unknown> {
  const report = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  assertValidReport(report, file);
  return report;
}

/**
 * Every mqtt-conform results file under `dir` (any `*.json` whose `tool` is `mqtt-conform`; other JSON, e.g.
 * a test's deliberately foreign file, is left alone). Returns the files checked; throws on the first folder
 * with invalid ones, naming each.
 */
export function checkReportsUnder(dir: string): string[] {
  const checked: string[] = [];
  const failures: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(d, name);
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      // Symbolic links (e.g. a staged package's node_modules) and installed packages hold no results.
      if (st.isDirectory()) {
        if (name !== 'node_modules') walk(path);
      } else if (st.isFile() && name.endsWith('.json') && st.size < 64 * 1024 * 1024) {
        let data: unknown;
        try {
          data = JSON.parse(readFileSync(path, 'utf8'));
        } catch {
          continue;
        }
        if (
          typeof data !== 'object' ||
          data === null ||
          (data as { tool?: unknown }).tool !== 'mqtt-conform'
        ) {
          continue;
        }
        checked.push(path);
        const problems = reportProblems(data);
        if (problems.length > 0) failures.push(`${path}:\n  ${problems.slice(0, 20).join('\n  ')}`);
      }
    }
  };
  walk(dir);
  if (failures.length > 0) {
    throw new Error(`results file(s) that do not match docs/report.schema.json:\n${failures.join('\n')}`);
  }
  return checked;
}
