import type { ProtocolName } from '../scenario/model.js';
import { type CaseResult, isConformanceFailure, type RunReport, summarize } from './model.js';

/**
 * The required versions (`--require`, `report.required`) of which nothing was judged: no case of the version
 * ran to a verdict other than skipped (the broker declined the version, --protocol left it out, or the
 * selection had none of its cases). Not judged on a shard (it holds part of the cases: `merge` judges the
 * whole run) nor on a run that stopped early (it is incomplete anyway). One sentence per version.
 */
export function unmetRequirements(report: RunReport): string[] {
  return unmetRequirementsByVersion(report).map((u) => u.message);
}

/** The same, with the version each sentence is about. */
export function unmetRequirementsByVersion(
  report: RunReport,
): Array<{ protocol: ProtocolName; message: string }> {
  if (report.shard || report.stoppedBy) return [];
  const out: Array<{ protocol: ProtocolName; message: string }> = [];
  for (const p of report.required ?? []) {
    const cases = report.cases.filter((c) => c.protocol === p);
    const judged = cases.filter((c) => c.status !== 'skipped').length;
    if (judged > 0) continue;
    out.push({
      protocol: p,
      message:
        cases.length === 0
          ? `MQTT ${p} is required (--require) but no case of it ran`
          : `MQTT ${p} is required (--require) but all ${cases.length} of its case(s) were skipped${firstReason(cases.map((c) => c.message))}`,
    });
  }
  return out;
}

function firstReason(messages: readonly (string | undefined)[]): string {
  const m = messages.find((x) => x !== undefined);
  return m ? ` (${m.split('\n')[0]})` : '';
}

export type RunOutcome = 'conformant' | 'not-conformant' | 'incomplete' | 'nothing-judged';

/**
 * The run's conclusion, worded as the console's RESULT line. `planned`: how many cases the run set out to
 * judge, when an interrupted run's report holds fewer.
 */
export function runOutcome(
  report: RunReport,
  strict: boolean,
  planned = 0,
): { outcome: RunOutcome; text: string } {
  const counted = report.cases.filter((c) => isConformanceFailure(c, strict)).length;
  const s = summarize(report.cases);
  if (report.stoppedBy) {
    const judged = report.cases.filter((c) => c.status !== 'error').length;
    const bad = counted > 0 ? `, ${counted} not conformant or not carried out` : '';
    return {
      outcome: 'incomplete',
      text: `incomplete (${report.stoppedBy}): ${judged} of ${Math.max(planned, report.cases.length)} case(s) judged${bad}`,
    };
  }
  const unmet = unmetRequirementsByVersion(report);
  if (unmet.length > 0) {
    const what = `required version(s) not judged: ${unmet.map((u) => `MQTT ${u.protocol}`).join(', ')}`;
    return {
      outcome: 'not-conformant',
      text: counted > 0 ? `${counted} case(s) not conformant; ${what}` : what,
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
