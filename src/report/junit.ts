import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import junitModule, { type Builder } from 'junit-report-builder';
import type { CaseResult, RunReport } from './model.js';
import { unmetRequirementsByVersion } from './verdict.js';

export interface JunitOptions {
  /** Non-strict results are failures in JUnit only with --strict (they do not fail the run otherwise). */
  strict?: boolean;
}

// The package is CommonJS with `module.exports = builder`; TypeScript (nodenext) sees its ESM typings.
const junit: Builder =
  (junitModule as unknown as { default?: Builder }).default ?? (junitModule as unknown as Builder);

/**
 * Characters XML 1.0 does not allow, even in CDATA: C0 controls other than tab/LF/CR, U+FFFE, U+FFFF and
 * unpaired surrogates (a JS string can hold them; UTF-8 cannot).
 */
const INVALID_XML =
  /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text safe for an attribute and for a CDATA section. xmlbuilder splits only the first `]]>` of a CDATA
 * text, so a second one (a payload, an expected and an actual value) would end the section early: every
 * `]]>` is written `]]\x3e`, in the same notation as the characters XML cannot hold.
 */
function clean(text: string): string {
  return text
    .replace(INVALID_XML, (ch) => {
      const code = ch.charCodeAt(0);
      return code > 0xff
        ? `\\u${code.toString(16).padStart(4, '0')}`
        : `\\x${code.toString(16).padStart(2, '0')}`;
    })
    .replaceAll(']]>', ']]\\x3e');
}

/** The failure text: statements, message, expected and actual, in h2spec style. */
export function failureText(c: CaseResult): string {
  const lines = [`${c.id} [${c.protocol}] ${c.title}`];
  if (c.statements.length > 0) lines.push(`Statements: ${c.statements.join(', ')} (${c.level})`);
  if (c.message) lines.push(c.message);
  if (c.expected !== undefined) lines.push(`Expected: ${c.expected}`);
  if (c.actual !== undefined) lines.push(`Actual:   ${c.actual}`);
  if (c.source) lines.push(`Defined at ${c.source}`);
  return lines.join('\n');
}

/**
 * JUnit XML (Jenkins / GitLab): one testsuite per spec section and protocol, one testcase per case; a
 * failure names the statements and gives expected/actual; the wire log goes to system-out.
 */
export function buildJunit(report: RunReport, opts: JunitOptions = {}): string {
  const builder = junit.newBuilder().name(clean(`mqtt-conform ${report.target}`));
  const groups = new Map<string, CaseResult[]>();
  for (const c of report.cases) {
    const key = `${c.section} (MQTT ${c.protocol})`;
    let g = groups.get(key);
    if (!g) {
      g = [];
      groups.set(key, g);
    }
    g.push(c);
  }
  for (const [name, cases] of groups) {
    const suite = builder
      .testSuite()
      .name(name)
      .timestamp(new Date(report.startedAt))
      .time(cases.reduce((ms, c) => ms + c.durationMs, 0) / 1000)
      .property('protocol', cases[0]!.protocol)
      .property('target', clean(report.target));
    for (const c of cases) {
      const tc = suite
        .testCase()
        .className(`mqtt-conform.${c.protocol}.${c.section}`)
        .name(`${c.id}: ${clean(c.title)}`)
        .time(c.durationMs / 1000);
      // The Jenkins JUnit schema allows neither properties nor a file attribute on a testcase: statements,
      // level, status and source are in the failure text and system-out instead.
      const text = clean(failureText(c));
      const expectedFailure =
        c.expectedFailure !== undefined && (c.status === 'failed' || c.status === 'non-strict');
      if (expectedFailure) {
        tc.skipped();
      } else if (c.status === 'failed' || (c.status === 'non-strict' && opts.strict)) {
        tc.failure(clean(`${c.statements.join(', ')}: ${c.message ?? c.status}`), c.status).stacktrace(text);
      } else if (c.status === 'error') {
        tc.error(clean(c.message ?? 'error'), 'error', text);
      } else if (c.status === 'skipped') {
        tc.skipped();
      }
      const out: string[] = [];
      if (c.status === 'passed') out.push(`PASSED (${c.level}) ${c.statements.join(', ')}`);
      if (c.status === 'passed' && c.finding) out.push(`Finding: ${c.finding}`);
      if (c.status !== 'passed')
        out.push(
          `${c.status.toUpperCase()}${expectedFailure ? ` (expected failure: ${c.expectedFailure})` : ''}`,
          text,
        );
      if (c.wireLog) out.push('Wire log:', c.wireLog);
      if (out.length > 0) tc.standardOutput(clean(out.join('\n')));
    }
  }
  // --require: a test case per required version, failing when none of its cases was judged, so that the
  // CI's test view shows why the run failed when every case passed.
  const required = report.shard || report.stoppedBy ? [] : (report.required ?? []);
  if (required.length > 0) {
    const unmet = unmetRequirementsByVersion(report);
    const suite = builder
      .testSuite()
      .name('requirements (--require)')
      .timestamp(new Date(report.startedAt))
      .time(0);
    for (const p of required) {
      const tc = suite.testCase().className('mqtt-conform.requirements').name(`MQTT ${p} judged`).time(0);
      const why = unmet.find((u) => u.protocol === p);
      if (why) tc.failure(clean(why.message), 'requirement');
    }
  }
  // junit-report-builder writes `skipped` on <testsuites>, which the Jenkins schema does not allow there
  // (the counts stay on each <testsuite>).
  return builder.build().replace(/<testsuites([^>]*?) skipped="\d+"/, '<testsuites$1');
}

export function writeJunitReport(file: string, report: RunReport, opts: JunitOptions = {}): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, buildJunit(report, opts));
}
