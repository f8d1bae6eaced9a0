import { type CaseResult, isConformanceFailure, type RunReport, summarize } from './model.js';

export type RunOutcome = 'conformant' | 'not-conformant' | 'incomplete' | 'nothing-judged';

/** The run's conclusion, worded as the console's RESULT line. */
export function runOutcome(report: RunReport, strict: boolean): { outcome: RunOutcome; text: string } {
  const counted = report.cases.filter((c) => isConformanceFailure(c, strict)).length;
  const s = summarize(report.cases);
  if (report.stoppedBy) {
    const judged = report.cases.filter((c) => c.status !== 'error').length;
    const bad = counted > 0 ? `, ${counted} not conformant or not carried out` : '';
    return {
      outcome: 'incomplete',
      text: `incomplete (${report.stoppedBy}): ${judged} of ${report.cases.length} case(s) judged${bad}`,
    };
  }
  if (counted === 0 && s.passed + s.failed + s.nonStrict + s.errors === 0) {
    return {
      outcome: 'nothing-judged',
      text: `nothing judged: ${s.skipped} case(s) skipped, ${s.info} info`,
    };
  }
  return counted === 0
    ? { outcome: 'conformant', text: 'conformant' }
    : { outcome: 'not-conformant', text: `${counted} case(s) not conformant` };
}

/** A failed or non-strict case listed in --expected-failures. */
export function isExpectedFailure(c: CaseResult): boolean {
  return c.expectedFailure !== undefined && (c.status === 'failed' || c.status === 'non-strict');
}
