/**
 * Statement bookkeeping: which normative statements the scenario cases check, per protocol version, and why
 * the others cannot be checked. Pure functions over a statement catalogue and a case list (no I/O), so the
 * same computation feeds `npm run coverage`, docs/coverage.md and the consistency test.
 */
import type { CaseLevel, ProtocolName } from '../scenario/model.js';
import type { Statement } from '../scenario/statements/index.js';

/** One catalogue entry as recorded in specs/statements/*.yaml (the loader's fields plus the bookkeeping). */
export interface CatalogueEntry extends Statement {
  /** Why a client cannot see the rule on the wire (server-bound statements only; one line). */
  reason?: string;
  /** The case ids naming it, as last written by `npm run coverage -- --write`. */
  cases?: string[];
}

/** The part of a loaded scenario case the bookkeeping needs. */
export interface CoverageCase {
  id: string;
  level: CaseLevel;
  protocols: readonly ProtocolName[];
  statements: Partial<Record<ProtocolName, readonly string[]>>;
}

/** Client-only statements get this reason without writing it down. */
export const CLIENT_ONLY_REASON = 'binds only clients';

export const WRITE_COMMAND = 'npm run coverage -- --write';

export type StatementStatus = 'checked' | 'gap' | 'unobservable' | 'client-only';

export interface StatementCoverage {
  entry: CatalogueEntry;
  serverBound: boolean;
  /** Every case naming the statement in this version (derived from the scenario files), sorted. */
  cases: string[];
  /** The must/should cases among them: an info case observes a MAY and checks nothing. */
  checkedBy: string[];
  /** The written reason, or CLIENT_ONLY_REASON for a client-only statement. */
  reason?: string;
  status: StatementStatus;
}

export interface CountRow {
  /** A chapter (`3.1`, `4.7`, `6`) or `all`. */
  chapter: string;
  checked: number;
  observable: number;
  serverBound: number;
  total: number;
}

export interface VersionCoverage {
  protocol: ProtocolName;
  statements: StatementCoverage[];
  chapters: CountRow[];
  totals: CountRow;
  /** Observable server-bound statements that no must/should case checks yet. */
  gaps: StatementCoverage[];
  /** Contradictions in the data (a reason and cases on one statement, a reason on a client-only one, ...). */
  problems: string[];
  /** Statements whose recorded `cases` differ from the derived ones (fixed by WRITE_COMMAND). */
  stale: string[];
}

export interface SharedRules {
  /** Cases that run for 3.1.1 and name a 3.1.1 statement. */
  check311: string[];
  /** Those of them that also run for 5.0 and name a 5.0 statement. */
  alsoFor50: string[];
  /** The rest: 3.1.1-only checks (a 5.0 form may be missing). */
  only311: string[];
}

const byId = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/**
 * The chapter a section belongs to in the tables: its first two numbers (1.5, 3.10, 4.7) in chapters 1-4,
 * the chapter number alone from 5 on (6 WebSocket, 7 conformance), where the spec has no numbered subsections
 * worth a row.
 */
export function chapterOf(section: string): string {
  const parts = section.split('.');
  const top = parts[0] ?? section;
  return Number(top) >= 5 || parts.length < 2 ? top : `${top}.${parts[1]}`;
}

function compareChapters(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** statement id -> the cases naming it for this protocol (only cases that run for it), sorted. */
export function deriveCases(
  cases: readonly CoverageCase[],
  protocol: ProtocolName,
): Map<string, CoverageCase[]> {
  const out = new Map<string, CoverageCase[]>();
  for (const c of cases) {
    if (!c.protocols.includes(protocol)) continue;
    for (const id of new Set(c.statements[protocol] ?? [])) {
      const list = out.get(id) ?? [];
      list.push(c);
      out.set(id, list);
    }
  }
  for (const list of out.values()) list.sort((a, b) => byId(a.id, b.id));
  return out;
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  const x = a ?? [];
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

export function computeCoverage(
  protocol: ProtocolName,
  catalogue: readonly CatalogueEntry[],
  cases: readonly CoverageCase[],
): VersionCoverage {
  const derived = deriveCases(cases, protocol);
  const problems: string[] = [];
  const stale: string[] = [];
  const known = new Set(catalogue.map((e) => e.id));
  for (const [id, list] of derived) {
    if (!known.has(id)) {
      problems.push(
        `${id}: named by ${list.map((c) => c.id).join(', ')} but not in the MQTT ${protocol} catalogue`,
      );
    }
  }

  const statements = catalogue.map((entry): StatementCoverage => {
    const named = derived.get(entry.id) ?? [];
    const ids = named.map((c) => c.id);
    const checkedBy = named.filter((c) => c.level !== 'info').map((c) => c.id);
    const serverBound = entry.binds !== 'client';
    const written = entry.reason?.trim();
    if (!sameList(entry.cases, ids)) stale.push(entry.id);
    if (entry.reason !== undefined && !written) problems.push(`${entry.id}: empty reason`);
    if (written?.includes('\n')) problems.push(`${entry.id}: the reason must be one line`);
    let status: StatementStatus;
    if (!serverBound) {
      if (written) {
        problems.push(`${entry.id} binds only clients: its reason is implied, remove "reason: ${written}"`);
      }
      status = 'client-only';
    } else if (checkedBy.length > 0) {
      status = 'checked';
    } else if (written) {
      // Not observable as a MUST; info cases may still observe what the server does around it.
      status = 'unobservable';
    } else {
      status = 'gap';
    }
    if (serverBound && written && checkedBy.length > 0) {
      problems.push(
        `${entry.id} has must/should cases (${checkedBy.join(', ')}) and the reason "${written}": a checked statement is observable; remove the reason (or the statement from the cases)`,
      );
    }
    const sc: StatementCoverage = { entry, serverBound, cases: ids, checkedBy, status };
    const reason = serverBound ? written : CLIENT_ONLY_REASON;
    if (reason) sc.reason = reason;
    return sc;
  });

  const rows = new Map<string, CountRow>();
  const totals: CountRow = { chapter: 'all', checked: 0, observable: 0, serverBound: 0, total: 0 };
  for (const s of statements) {
    const chapter = chapterOf(s.entry.section);
    let row = rows.get(chapter);
    if (!row) {
      row = { chapter, checked: 0, observable: 0, serverBound: 0, total: 0 };
      rows.set(chapter, row);
    }
    for (const r of [row, totals]) {
      r.total++;
      if (s.serverBound) r.serverBound++;
      if (s.status === 'checked' || s.status === 'gap') r.observable++;
      if (s.status === 'checked') r.checked++;
    }
  }
  const chapters = [...rows.values()].sort((a, b) => compareChapters(a.chapter, b.chapter));
  const gaps = statements.filter((s) => s.status === 'gap');
  return { protocol, statements, chapters, totals, gaps, problems, stale };
}

/** How many cases that check a 3.1.1 statement also check the 5.0 form of their rule. */
export function sharedRules(cases: readonly CoverageCase[]): SharedRules {
  const names = (c: CoverageCase, p: ProtocolName): boolean =>
    c.protocols.includes(p) && (c.statements[p]?.length ?? 0) > 0;
  const check311 = cases.filter((c) => names(c, '3.1.1')).map((c) => c.id);
  const alsoFor50 = cases.filter((c) => names(c, '3.1.1') && names(c, '5.0')).map((c) => c.id);
  const both = new Set(alsoFor50);
  return { check311, alsoFor50, only311: check311.filter((id) => !both.has(id)) };
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${Math.floor((part * 100) / whole)}%`;
}

/** The headline of one version, e.g. `MQTT 3.1.1: 101 of 104 observable server-bound statements checked (97%); ...`. */
export function summaryLine(v: VersionCoverage): string {
  const t = v.totals;
  return `MQTT ${v.protocol}: ${t.checked} of ${t.observable} observable server-bound statements checked (${percent(t.checked, t.observable)}); ${t.serverBound} server-bound, ${t.total} total`;
}

export function sharedLine(s: SharedRules): string {
  return `MQTT 5.0 form of shared rules: ${s.alsoFor50.length} of ${s.check311.length} cases that check a 3.1.1 statement also run for 5.0 naming a 5.0 statement (${s.only311.length} run for 3.1.1 only)`;
}

export function unobservableLine(versions: readonly VersionCoverage[]): string {
  const parts = versions.map(
    (v) =>
      `MQTT ${v.protocol} ${v.statements.filter((s) => s.status === 'unobservable').length} of ${v.totals.serverBound} server-bound`,
  );
  return `Not observable on the wire (reason recorded): ${parts.join(', ')} (see specs/statements/*.yaml)`;
}
