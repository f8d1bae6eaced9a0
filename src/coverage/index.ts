import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenarios } from '../scenario/loader.js';
import { ALL_PROTOCOLS, type ProtocolName } from '../scenario/model.js';
import { packageRoot } from '../scenario/paths.js';
import { type Catalogue, catalogueFile, parseCatalogue, recordCases } from './catalogue.js';
import {
  type CoverageCase,
  computeCoverage,
  type SharedRules,
  sharedRules,
  type VersionCoverage,
} from './model.js';

export * from './catalogue.js';
export * from './model.js';
export * from './report.js';

export interface CoverageData {
  catalogues: Record<ProtocolName, Catalogue>;
  cases: CoverageCase[];
  versions: VersionCoverage[];
  shared: SharedRules;
}

export function docFile(root = packageRoot()): string {
  return join(root, 'docs', 'coverage.md');
}

/** Reads both statement catalogues and every bundled scenario case, and computes the coverage. */
export function loadCoverage(root = packageRoot()): CoverageData {
  const cases: CoverageCase[] = loadScenarios([join(root, 'specs')], root).flatMap((f) => f.cases);
  const catalogues = {} as Record<ProtocolName, Catalogue>;
  for (const p of ALL_PROTOCOLS) {
    const file = catalogueFile(p, root);
    catalogues[p] = parseCatalogue(readFileSync(file, 'utf8'), file);
  }
  const versions = ALL_PROTOCOLS.map((p) => computeCoverage(p, catalogues[p].entries, cases));
  return { catalogues, cases, versions, shared: sharedRules(cases) };
}

/** The catalogue text with every statement's `cases` as derived from the scenario files. */
export function recordedCatalogue(data: CoverageData, protocol: ProtocolName): string {
  const v = data.versions.find((x) => x.protocol === protocol)!;
  return recordCases(data.catalogues[protocol], new Map(v.statements.map((s) => [s.entry.id, s.cases])));
}

/** Rewrites specs/statements/*.yaml (the `cases` lists) and docs/coverage.md. */
export function writeCoverage(data: CoverageData, markdown: string, root = packageRoot()): string[] {
  const written: string[] = [];
  for (const p of ALL_PROTOCOLS) {
    const file = catalogueFile(p, root);
    const text = recordedCatalogue(data, p);
    if (text !== readFileSync(file, 'utf8')) {
      writeFileSync(file, text);
      written.push(file);
    }
  }
  const doc = docFile(root);
  let old = '';
  try {
    old = readFileSync(doc, 'utf8');
  } catch {
    // first run: no doc yet
  }
  if (markdown !== old) {
    writeFileSync(doc, markdown);
    written.push(doc);
  }
  return written;
}
