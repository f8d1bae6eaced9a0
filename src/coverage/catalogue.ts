import { join } from 'node:path';
import { type Document, isMap, isSeq, parseDocument } from 'yaml';
import type { ProtocolName } from '../scenario/model.js';
import { packageRoot } from '../scenario/paths.js';
import type { CatalogueEntry } from './model.js';

export function catalogueFile(protocol: ProtocolName, root = packageRoot()): string {
  return join(root, 'specs', 'statements', `mqtt-${protocol}.yaml`);
}

export class CatalogueError extends Error {
  readonly code = 'CATALOGUE_INVALID';
  override readonly name = 'CatalogueError';
}

/** A statement catalogue kept as a YAML Document, so that rewriting it keeps its comments and quoting. */
export interface Catalogue {
  doc: Document;
  entries: CatalogueEntry[];
}

export function parseCatalogue(text: string, file = 'catalogue'): Catalogue {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new CatalogueError(`${file}: ${doc.errors[0]!.message}`);
  const list = doc.toJS() as unknown;
  if (!Array.isArray(list)) throw new CatalogueError(`${file}: expected a list of statements`);
  const entries = list.map((raw, i) => {
    const e = raw as Partial<CatalogueEntry> | null;
    if (!e || typeof e.id !== 'string' || typeof e.section !== 'string') {
      throw new CatalogueError(`${file}: entry ${i + 1} has no id or section`);
    }
    if (e.cases !== undefined && !(Array.isArray(e.cases) && e.cases.every((c) => typeof c === 'string'))) {
      throw new CatalogueError(`${file}: ${e.id}: cases must be a list of case ids`);
    }
    if (e.reason !== undefined && typeof e.reason !== 'string') {
      throw new CatalogueError(`${file}: ${e.id}: reason must be a string`);
    }
    return e as CatalogueEntry;
  });
  return { doc, entries };
}

/**
 * Writes `cases: [...]` on every statement from the derived lists (removing it where a statement has none)
 * and returns the new text. Everything else in the document (header comments, per-entry comments, reasons,
 * key order) stays as it was.
 */
export function recordCases(cat: Catalogue, derived: ReadonlyMap<string, readonly string[]>): string {
  const seq = cat.doc.contents;
  if (!isSeq(seq)) throw new CatalogueError('expected a list of statements');
  for (const item of seq.items) {
    if (!isMap(item)) continue;
    const id = String(item.get('id'));
    const ids = derived.get(id) ?? [];
    if (ids.length === 0) {
      item.delete('cases');
    } else {
      item.set('cases', cat.doc.createNode([...ids], { flow: true }));
    }
  }
  return cat.doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
