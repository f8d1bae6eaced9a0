import { readFileSync } from 'node:fs';
import { catalogueFile, parseCatalogue } from '../coverage/catalogue.js';
import { type CatalogueEntry, type CoverageCase, chapterOf, computeCoverage } from '../coverage/model.js';
import type { ProtocolName } from '../scenario/model.js';
import { type CaseResult, statementResults } from './model.js';

/** One row of the HTML report's coverage table: a chapter of one protocol version. */
export interface RunCoverageRow {
  chapter: string;
  /** Observable server-bound statements of the chapter (the catalogue's count). */
  observable: number;
  /** Those a must/should case of this run checked. */
  checked: number;
  /** Of the checked ones: every case naming them passed (or was skipped / info). */
  passed: number;
  /** Of the checked ones: a case naming them failed, was non-strict or could not be carried out. */
  failed: number;
}

export interface RunCoverage {
  protocol: ProtocolName;
  chapters: RunCoverageRow[];
  totals: RunCoverageRow;
}

export type Catalogues = Partial<Record<ProtocolName, readonly CatalogueEntry[]>>;

/** The bundled statement catalogues; an unreadable one is left out (the report then has no coverage for it). */
export function loadCatalogues(protocols: readonly ProtocolName[]): Catalogues {
  const out: Catalogues = {};
  for (const p of protocols) {
    try {
      const file = catalogueFile(p);
      out[p] = parseCatalogue(readFileSync(file, 'utf8'), file).entries;
    } catch {
      // no catalogue: no coverage table for this version
    }
  }
  return out;
}

/**
 * Statement coverage of one run, per protocol and chapter: the catalogue's observable statements, those the
 * run's must/should cases checked (the same computation as `npm run coverage`, on the cases that ran), and how
 * they fared (a statement takes the most severe verdict among its cases).
 */
export function runCoverage(cases: readonly CaseResult[], catalogues: Catalogues): RunCoverage[] {
  const out: RunCoverage[] = [];
  const protocols = [...new Set(cases.map((c) => c.protocol))].sort();
  for (const protocol of protocols) {
    const entries = catalogues[protocol];
    if (!entries) continue;
    const ran: CoverageCase[] = cases
      .filter((c) => c.protocol === protocol && c.status !== 'skipped')
      .map((c) => ({
        id: c.id,
        level: c.level,
        protocols: [protocol],
        statements: { [protocol]: c.statements },
      }));
    const cov = computeCoverage(protocol, entries, ran);
    const status = new Map(
      statementResults(cases.filter((c) => c.protocol === protocol)).map((s) => [s.id, s.status]),
    );
    const extra = new Map<string, { passed: number; failed: number }>();
    const total = { passed: 0, failed: 0 };
    for (const s of cov.statements) {
      if (s.status !== 'checked') continue;
      const chapter = chapterOf(s.entry.section);
      const row = extra.get(chapter) ?? { passed: 0, failed: 0 };
      extra.set(chapter, row);
      const st = status.get(s.entry.id);
      const bad = st === 'failed' || st === 'non-strict' || st === 'error';
      for (const r of [row, total]) {
        if (bad) r.failed++;
        else r.passed++;
      }
    }
    const row = (r: { chapter: string; observable: number; checked: number }, x = extra.get(r.chapter)) => ({
      chapter: r.chapter,
      observable: r.observable,
      checked: r.checked,
      passed: x?.passed ?? 0,
      failed: x?.failed ?? 0,
    });
    out.push({
      protocol,
      chapters: cov.chapters.filter((c) => c.observable > 0).map((c) => row(c)),
      totals: row(cov.totals, total),
    });
  }
  return out;
}
