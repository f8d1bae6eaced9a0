import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { ScenarioLoadError } from './errors.js';
import type { ProtocolName } from './model.js';
import { check, S, SchemaContext, type SchemaIssue } from './schema.js';

/** One accepted deviation: a case id (optionally one protocol) and why it is accepted. */
export interface ExpectedFailure {
  id: string;
  reason: string;
  protocol?: ProtocolName;
}

const entrySchema = S.object({
  id: S.req(S.string),
  reason: S.req(S.string),
  protocol: S.enum('3.1.1', '5.0', '5'),
});

/**
 * Reads the --expected-failures YAML: a list of `{ id, reason, protocol? }`. Unknown keys, missing reasons
 * and ids that match no loaded case are errors with file:line:col.
 */
export function loadExpectedFailures(
  file: string,
  knownIds: ReadonlySet<string>,
  display = file,
): ExpectedFailure[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter, prettyErrors: false });
  const issues: SchemaIssue[] = [];
  for (const err of doc.errors) {
    const lp = err.linePos?.[0] ?? { line: 1, col: 1 };
    issues.push({
      file: display,
      line: lp.line,
      col: lp.col,
      message: `YAML syntax: ${err.message.split('\n')[0]}`,
    });
  }
  if (issues.length > 0) throw new ScenarioLoadError(issues);
  const ctx = new SchemaContext(display, lineCounter);
  const list = check(ctx, doc.contents, S.array(entrySchema), 'expected-failures') as
    | Array<Record<string, unknown>>
    | undefined;
  const out: ExpectedFailure[] = [];
  /** Index in the file of each entry of `out`. */
  const at: number[] = [];
  if (list && isSeq(doc.contents)) {
    list.forEach((e, i) => {
      if (!e || typeof e.id !== 'string') return;
      if (!knownIds.has(e.id)) {
        ctx.error(
          doc.contents && isSeq(doc.contents) ? doc.contents.items[i] : doc.contents,
          `expected-failures[${i}].id: no case "${e.id}"`,
        );
        return;
      }
      const item = isSeq(doc.contents) ? doc.contents.items[i] : undefined;
      const entry: ExpectedFailure = { id: e.id, reason: String(e.reason ?? '') };
      if (e.protocol !== undefined) entry.protocol = String(e.protocol) === '3.1.1' ? '3.1.1' : '5.0';
      if (entry.reason.trim() === '') {
        const reasonNode = isMap(item) ? item.get('reason', true) : item;
        ctx.error(reasonNode, `expected-failures[${i}].reason: give the reason the deviation is accepted`);
        return;
      }
      // Two entries for the same case and protocol: which reason applies would be a matter of order.
      const clash = out.findIndex(
        (o) => o.id === entry.id && (!o.protocol || !entry.protocol || o.protocol === entry.protocol),
      );
      if (clash >= 0) {
        const which = entry.protocol ?? out[clash]!.protocol;
        ctx.error(
          item,
          `expected-failures[${i}]: ${entry.id}${which ? ` [${which}]` : ''} is already listed at entry ${at[clash]}`,
        );
        return;
      }
      out.push(entry);
      at.push(i);
    });
  }
  if (ctx.issues.length > 0) throw new ScenarioLoadError(ctx.issues);
  return out;
}

export function findExpectedFailure(
  list: readonly ExpectedFailure[],
  id: string,
  protocol: ProtocolName,
): ExpectedFailure | undefined {
  return list.find((e) => e.id === id && (e.protocol === undefined || e.protocol === protocol));
}
