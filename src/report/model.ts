import type { CaseLevel, ProtocolName, Verdict } from '../scenario/model.js';

export type { Verdict };

/** The outcome of one case on one protocol version. */
export interface CaseResult {
  /** `<section>/<slug>`. */
  id: string;
  protocol: ProtocolName;
  title: string;
  section: string;
  /** Statement ids of this protocol version that the case checks. */
  statements: string[];
  level: CaseLevel;
  status: Verdict;
  durationMs: number;
  message?: string;
  expected?: string;
  actual?: string;
  /** Merged transcript of the case's clients. */
  wireLog?: string;
  /** Where the case is defined (`file:line`). */
  source?: string;
  /** Set when the case is listed in --expected-failures: the reason given there. */
  expectedFailure?: string;
  /**
   * What the run found about the broker beside the case's own verdict, whatever that verdict: the broker
   * stopped serving other clients while this case's connection held an incomplete packet. Also appended
   * to `message`.
   */
  finding?: string;
}

export interface Summary {
  total: number;
  passed: number;
  failed: number;
  nonStrict: number;
  info: number;
  skipped: number;
  errors: number;
}

export interface StatementResult {
  id: string;
  protocol: ProtocolName;
  status: Verdict;
  cases: string[];
}

export interface RunReport {
  tool: 'mqtt-conform';
  version: string;
  /** `host:port` (or URL) of the broker under test. */
  target: string;
  protocols: ProtocolName[];
  startedAt: string;
  durationMs: number;
  cases: CaseResult[];
  /** Why the run ended early, if it did: 'SIGINT', 'SIGTERM', 'target-died', 'target-unreachable'. */
  stoppedBy?: string;
  /** `i/n` when the run was one shard of a split (--shard); merge checks that every shard is there. */
  shard?: string;
  /** With `shard`: a digest of the whole selection the shard was cut from; the shards of one split share it. */
  selection?: string;
  /**
   * `--require`: the versions that must have been judged. A run in which one of them had no case judged
   * (all skipped, or none ran) fails; a shard records them and `merge` judges them over the whole run.
   */
  required?: ProtocolName[];
}

export function summarize(cases: readonly CaseResult[]): Summary {
  const s: Summary = {
    total: cases.length,
    passed: 0,
    failed: 0,
    nonStrict: 0,
    info: 0,
    skipped: 0,
    errors: 0,
  };
  for (const c of cases) {
    switch (c.status) {
      case 'passed':
        s.passed++;
        break;
      case 'failed':
        s.failed++;
        break;
      case 'non-strict':
        s.nonStrict++;
        break;
      case 'info':
        s.info++;
        break;
      case 'skipped':
        s.skipped++;
        break;
      case 'error':
        s.errors++;
        break;
    }
  }
  return s;
}

/** Worst first: a statement takes the most severe status among the cases that check it. */
const SEVERITY: readonly Verdict[] = ['failed', 'non-strict', 'error', 'passed', 'info', 'skipped'];

/** Per statement and protocol: status and the cases that check it, in spec-id order. */
export function statementResults(cases: readonly CaseResult[]): StatementResult[] {
  const map = new Map<string, StatementResult>();
  for (const c of cases) {
    for (const id of c.statements) {
      const key = `${c.protocol} ${id}`;
      let r = map.get(key);
      if (!r) {
        r = { id, protocol: c.protocol, status: c.status, cases: [] };
        map.set(key, r);
      }
      r.cases.push(c.id);
      if (SEVERITY.indexOf(c.status) < SEVERITY.indexOf(r.status)) r.status = c.status;
    }
  }
  return [...map.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || compareIds(a.id, b.id));
}

export function compareIds(a: string, b: string): number {
  const pa = a.match(/\d+/g)?.map(Number) ?? [];
  const pb = b.match(/\d+/g)?.map(Number) ?? [];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return a.localeCompare(b);
}

/** Does this result count against the exit code? */
export function isConformanceFailure(c: CaseResult, strict: boolean): boolean {
  if (c.expectedFailure !== undefined && (c.status === 'failed' || c.status === 'non-strict')) return false;
  if (c.status === 'failed') return true;
  if (c.status === 'non-strict') return strict;
  // A case that could not be carried out did not pass either; it counts at the level it checks.
  if (c.status === 'error') return c.level === 'must' || (strict && c.level === 'should');
  return false;
}
