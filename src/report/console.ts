import type { PlannedCase } from '../scenario/runner.js';
import { statementsFor } from '../scenario/statements/index.js';
import {
  type CaseResult,
  compareIds,
  isConformanceFailure,
  type RunReport,
  summarize,
  type Verdict,
} from './model.js';
import { runOutcome, unmetRequirements } from './verdict.js';

/** Receives run events; the console, and anything live, implements it. */
export interface Reporter {
  onStart?(info: { target: string; total: number }): void;
  onCaseStart?(c: PlannedCase): void;
  onCaseDone?(r: CaseResult): void;
  onEnd?(report: RunReport): void;
}

export interface ConsoleOptions {
  /** Live progress line (TTY) instead of one line per case. */
  tty: boolean;
  color: boolean;
  verbose: boolean;
  strict: boolean;
  write: (text: string) => void;
}

const LABEL: Record<Verdict, string> = {
  passed: 'PASS',
  failed: 'FAIL',
  'non-strict': 'NON-STRICT',
  info: 'INFO',
  skipped: 'SKIP',
  error: 'ERROR',
};

const COLOR: Record<Verdict, number> = {
  passed: 32,
  failed: 31,
  'non-strict': 33,
  info: 36,
  skipped: 90,
  error: 35,
};

/** Lines of the wire log shown per failure without --verbose. */
const WIRE_LOG_TAIL = 25;

export class ConsoleReporter implements Reporter {
  private done = 0;
  private total = 0;
  private readonly running = new Set<string>();
  private progressShown = false;

  constructor(private readonly opts: ConsoleOptions) {}

  private paint(v: Verdict, text: string): string {
    return this.opts.color ? `\x1b[${COLOR[v]}m${text}\x1b[0m` : text;
  }

  private bold(text: string): string {
    return this.opts.color ? `\x1b[1m${text}\x1b[0m` : text;
  }

  private clearProgress(): void {
    if (this.progressShown) {
      this.opts.write('\r\x1b[K');
      this.progressShown = false;
    }
  }

  private drawProgress(): void {
    if (!this.opts.tty) return;
    const names = [...this.running].slice(0, 2).join(', ');
    const line = `[${this.done}/${this.total}] ${names}`;
    const cols = process.stdout.columns || 100;
    this.opts.write(`\r\x1b[K${line.length > cols - 1 ? `${line.slice(0, cols - 2)}…` : line}`);
    this.progressShown = true;
  }

  onStart(info: { target: string; total: number }): void {
    this.total = info.total;
    this.opts.write(`${this.bold('mqtt-conform')} ${info.target}: ${info.total} case(s)\n`);
  }

  onCaseStart(c: PlannedCase): void {
    this.running.add(`${c.scenario.id} [${c.protocol}]`);
    this.drawProgress();
  }

  onCaseDone(r: CaseResult): void {
    this.done++;
    this.running.delete(`${r.id} [${r.protocol}]`);
    const show = !this.opts.tty || this.opts.verbose || r.status !== 'passed';
    if (show) {
      this.clearProgress();
      const label = this.paint(r.status, LABEL[r.status].padEnd(10));
      const xf =
        r.expectedFailure === undefined
          ? ''
          : r.status === 'failed' || r.status === 'non-strict'
            ? ' (expected failure)'
            : r.status === 'passed'
              ? ' (listed as an expected failure, now passes)'
              : ' (listed as an expected failure)';
      const msg = r.status !== 'passed' && r.message ? ` — ${firstLine(r.message)}` : '';
      this.opts.write(`${label} ${r.protocol.padEnd(5)} ${r.id} (${r.durationMs} ms)${xf}${msg}\n`);
    }
    this.drawProgress();
  }

  onEnd(report: RunReport): void {
    this.clearProgress();
    const w = this.opts.write;
    const problems = report.cases.filter(
      (c) => c.status === 'failed' || c.status === 'non-strict' || c.status === 'error',
    );
    if (problems.length > 0) {
      w(`\n${this.bold('Failures')}\n`);
      for (const c of problems) this.writeFailure(c);
    }
    // No case ran (credentials refused, target unreachable at the start, interrupted at once): no table and
    // no coverage of nothing, only the counts and the RESULT line.
    const ran = report.cases.length > 0;
    if (ran) w(`\n${this.bold('Summary by section')}\n`);
    const sections = new Map<string, CaseResult[]>();
    for (const c of report.cases) {
      const key = `${c.section} [${c.protocol}]`;
      const list = sections.get(key) ?? [];
      list.push(c);
      sections.set(key, list);
    }
    const keys = [...sections.keys()].sort(compareIds);
    const width = Math.max(12, ...keys.map((k) => k.length));
    if (ran) w(`  ${'section'.padEnd(width)}  pass  fail  n-s  info  skip  err\n`);
    for (const key of keys) {
      const s = summarize(sections.get(key)!);
      const cells = [s.passed, s.failed, s.nonStrict, s.info, s.skipped, s.errors].map((n, i) =>
        String(n).padStart(i === 2 ? 3 : 4),
      );
      w(`  ${key.padEnd(width)}  ${cells.join('  ')}\n`);
    }
    const s = summarize(report.cases);
    const counted = report.cases.filter((c) => isConformanceFailure(c, this.opts.strict)).length;
    const expected = report.cases.filter(
      (c) => c.expectedFailure !== undefined && (c.status === 'failed' || c.status === 'non-strict'),
    ).length;
    const nowPassing = report.cases.filter((c) => c.expectedFailure !== undefined && c.status === 'passed');
    w(
      `\n${s.total} case(s): ${this.paint('passed', `${s.passed} passed`)}, ${this.paint('failed', `${s.failed} failed`)}, ` +
        `${this.paint('non-strict', `${s.nonStrict} non-strict`)}, ${this.paint('info', `${s.info} info`)}, ` +
        `${this.paint('skipped', `${s.skipped} skipped`)}, ${this.paint('error', `${s.errors} errors`)}` +
        `${expected > 0 ? `; ${expected} expected failure(s)` : ''} in ${(report.durationMs / 1000).toFixed(1)} s\n`,
    );
    const coverage = report.protocols
      .map((p) => {
        const checked = new Set(report.cases.filter((c) => c.protocol === p).flatMap((c) => c.statements));
        return `MQTT ${p} ${checked.size}/${statementsFor(p).size}`;
      })
      .join(', ');
    if (ran) w(`statements checked: ${coverage}\n`);
    // Findings stand out whatever the case's verdict: a case can pass and still have stalled the broker.
    for (const c of report.cases) {
      if (c.finding)
        w(this.paint('non-strict', `finding: ${c.id} [MQTT ${c.protocol}] (${c.status}): ${c.finding}\n`));
    }
    for (const c of nowPassing) {
      w(
        `note: ${c.id} [${c.protocol}] is listed as an expected failure but now passes (${c.expectedFailure})\n`,
      );
    }
    if (report.stoppedBy) w(`run stopped early: ${report.stoppedBy}\n`);
    for (const u of unmetRequirements(report)) w(this.paint('failed', `requirement not met: ${u}\n`));
    const { outcome, text } = runOutcome(report, this.opts.strict, this.total);
    // An interrupted run, or a target that could not be tested, is no verdict on conformance; neither is a
    // run of skips and observations only (e.g. the broker declines the protocol asked for).
    const colour: Verdict =
      outcome === 'conformant'
        ? 'passed'
        : outcome === 'nothing-judged'
          ? 'skipped'
          : outcome === 'incomplete' && counted === 0
            ? 'error'
            : 'failed';
    w(this.paint(colour, `RESULT: ${text}\n`));
  }

  private writeFailure(c: CaseResult): void {
    const w = this.opts.write;
    const xf = c.expectedFailure !== undefined ? ` (expected failure: ${c.expectedFailure})` : '';
    w(`\n${this.paint(c.status, LABEL[c.status])} ${c.id} [MQTT ${c.protocol}] ${c.title}${xf}\n`);
    if (c.statements.length > 0) w(`  Statements: ${c.statements.join(', ')} (${c.level})\n`);
    if (c.message) w(`  ${c.message.split('\n').join('\n  ')}\n`);
    if (c.expected !== undefined) w(`  Expected: ${c.expected}\n`);
    if (c.actual !== undefined) w(`  Actual:   ${c.actual}\n`);
    if (c.source) w(`  Defined at ${c.source}\n`);
    if (c.wireLog) {
      const lines = c.wireLog.split('\n');
      const shown = this.opts.verbose ? lines : lines.slice(-WIRE_LOG_TAIL);
      w(
        `  Wire log${shown.length < lines.length ? ` (last ${shown.length} of ${lines.length} lines; --verbose for all)` : ''}:\n`,
      );
      for (const l of shown) w(`    ${l}\n`);
    }
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
