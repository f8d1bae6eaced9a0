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

/** A case result as the baseline writer needs it. */
interface JudgedCase {
  id: string;
  protocol: ProtocolName;
  status: string;
  message?: string | undefined;
}

export interface ExpectedFailuresUpdate {
  /** The file's new text (YAML, in the --expected-failures format). */
  text: string;
  entries: ExpectedFailure[];
  /** Entries not in `previous`. */
  added: number;
  /** Entries of `previous` whose cases still fail (their reasons kept). */
  kept: number;
  /** Entries of `previous` whose cases ran and no longer fail. */
  dropped: number;
}

/**
 * The --expected-failures list a run's results call for (`--write-expected-failures`): one entry per case
 * that failed or was non-strict, without `protocol` when it failed in every version that ran, per version
 * otherwise. Reasons of `previous` entries are kept; a new entry's reason records what was seen (to be
 * replaced by the real explanation). Previous entries whose cases did not run stay as they were, so a
 * partial run (--only, --protocol) does not forget the rest.
 */
export function updateExpectedFailures(
  results: readonly JudgedCase[],
  previous: readonly ExpectedFailure[],
  recordedAs: string,
): ExpectedFailuresUpdate {
  const failing = (r: JudgedCase): boolean => r.status === 'failed' || r.status === 'non-strict';
  const byId = new Map<string, JudgedCase[]>();
  for (const r of results) {
    const list = byId.get(r.id) ?? [];
    list.push(r);
    byId.set(r.id, list);
  }
  const entries: ExpectedFailure[] = [];
  /** The previous entries whose reasons the new list keeps. */
  const used = new Set<ExpectedFailure>();
  let added = 0;
  for (const [id, runs] of byId) {
    const bad = runs.filter(failing);
    if (bad.length === 0) continue;
    const targets: Array<ProtocolName | undefined> =
      bad.length === runs.length ? [undefined] : bad.map((r) => r.protocol);
    for (const protocol of targets) {
      const old =
        protocol === undefined
          ? previous.find((e) => e.id === id && e.protocol === undefined)
          : findExpectedFailure(previous, id, protocol);
      const first = (protocol === undefined ? bad[0] : bad.find((r) => r.protocol === protocol))!;
      const seen = (first.message ?? first.status).split('\n')[0]!;
      const entry: ExpectedFailure = { id, reason: old?.reason ?? `${recordedAs}: ${seen}` };
      if (protocol !== undefined) entry.protocol = protocol;
      entries.push(entry);
      if (old) used.add(old);
      else added++;
    }
  }
  // Entries about cases that did not run at all are kept as they were.
  const ran = (e: ExpectedFailure): boolean =>
    results.some((r) => r.id === e.id && (e.protocol === undefined || e.protocol === r.protocol));
  const untouched = previous.filter((e) => !ran(e));
  const dropped = previous.filter((e) => ran(e) && !used.has(e)).length;
  const all = [...entries, ...untouched];
  const header = [
    '# Known deviations, in the --expected-failures format: `mqtt-conform TARGET --expected-failures FILE`.',
    '# Written by --write-expected-failures. Replace each recorded reason with why the deviation is accepted;',
    '# a later --write-expected-failures keeps reasons and drops entries whose cases pass.',
  ].join('\n');
  const body =
    all.length === 0
      ? '[]\n'
      : `${all
          .map(
            (e) =>
              `- id: ${JSON.stringify(e.id)}\n${e.protocol ? `  protocol: "${e.protocol}"\n` : ''}  reason: ${JSON.stringify(e.reason)}\n`,
          )
          .join('')}`;
  return { text: `${header}\n${body}`, entries: all, added, kept: used.size, dropped };
}
