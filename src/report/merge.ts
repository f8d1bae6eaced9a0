import { ALL_PROTOCOLS } from '../scenario/model.js';
import type { CaseResult, RunReport } from './model.js';

export class MergeError extends Error {
  readonly code = 'MERGE_INVALID';
  override readonly name = 'MergeError';
}

/** `specs/a.yaml:12` -> path segments and line, for ordering cases as the loader does. */
function sourceKey(c: CaseResult): { segments: string[]; line: number } | undefined {
  const m = c.source ? /^(.*):(\d+)$/.exec(c.source) : null;
  return m ? { segments: m[1]!.split(/[\\/]/), line: Number(m[2]) } : undefined;
}

/**
 * The order of an unsharded run: scenario files in the loader's order (sorted names, folder by folder), cases
 * in file order, protocol versions in order. Cases without a source keep their place at the end.
 */
export function compareRunOrder(a: CaseResult, b: CaseResult): number {
  const ka = sourceKey(a);
  const kb = sourceKey(b);
  if (!ka || !kb) return (ka ? 0 : 1) - (kb ? 0 : 1);
  const n = Math.min(ka.segments.length, kb.segments.length);
  for (let i = 0; i < n; i++) {
    const x = ka.segments[i]!;
    const y = kb.segments[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  if (ka.segments.length !== kb.segments.length) return ka.segments.length - kb.segments.length;
  return ka.line - kb.line || ALL_PROTOCOLS.indexOf(a.protocol) - ALL_PROTOCOLS.indexOf(b.protocol);
}

/**
 * One report from several JSON results (the shards of a split run, or runs of disjoint selections): the
 * cases of all of them in the order one run would have, the union of their protocols, the earliest start and
 * the span to the last end. A case (id and protocol) in two inputs, shards of different splits, and a split
 * with a shard missing are errors.
 */
export function mergeReports(inputs: readonly { file: string; report: RunReport }[]): RunReport {
  if (inputs.length === 0) throw new MergeError('nothing to merge');
  const seen = new Map<string, string>();
  const cases: CaseResult[] = [];
  for (const { file, report } of inputs) {
    for (const c of report.cases) {
      const key = `${c.id} [${c.protocol}]`;
      const other = seen.get(key);
      if (other !== undefined) throw new MergeError(`${key} is in both ${other} and ${file}`);
      seen.set(key, file);
      cases.push(c);
    }
  }
  const shards = inputs.filter((i) => i.report.shard !== undefined);
  if (shards.length > 0) {
    const counts = new Set(shards.map((i) => i.report.shard!.split('/')[1]));
    if (counts.size > 1 || shards.length !== inputs.length) {
      throw new MergeError(
        `the inputs come from different splits: ${inputs.map((i) => `${i.file} (${i.report.shard ? `shard ${i.report.shard}` : 'not sharded'})`).join(', ')}`,
      );
    }
    const selections = new Set(shards.map((i) => i.report.selection));
    if (selections.size > 1) {
      throw new MergeError(
        `the shards were cut from different selections: ${shards
          .map(
            (i) => `${i.file} (shard ${i.report.shard}, selection ${i.report.selection ?? 'not recorded'})`,
          )
          .join(', ')}; run every shard with the same --only, --exclude, --protocol and scenario files`,
      );
    }
    const n = Number([...counts][0]);
    const have = new Set(shards.map((i) => Number(i.report.shard!.split('/')[0])));
    const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !have.has(i));
    if (missing.length > 0) {
      throw new MergeError(
        `shard(s) ${missing.map((i) => `${i}/${n}`).join(', ')} missing (got ${[...have]
          .sort()
          .map((i) => `${i}/${n}`)
          .join(', ')})`,
      );
    }
  }
  cases.sort(compareRunOrder);
  const targets = [...new Set(inputs.map((i) => i.report.target))];
  const protocols = ALL_PROTOCOLS.filter((p) => inputs.some((i) => i.report.protocols.includes(p)));
  const starts = inputs.map((i) => Date.parse(i.report.startedAt)).filter((t) => !Number.isNaN(t));
  const first = starts.length > 0 ? Math.min(...starts) : Number.NaN;
  const end = Math.max(...inputs.map((i) => (Date.parse(i.report.startedAt) || 0) + i.report.durationMs));
  const merged: RunReport = {
    tool: 'mqtt-conform',
    version: inputs[0]!.report.version,
    target: targets.join(', '),
    protocols,
    startedAt: Number.isNaN(first) ? inputs[0]!.report.startedAt : new Date(first).toISOString(),
    durationMs: Number.isNaN(first) ? inputs.reduce((ms, i) => ms + i.report.durationMs, 0) : end - first,
    cases,
  };
  const stopped = inputs.find((i) => i.report.stoppedBy !== undefined);
  if (stopped) merged.stoppedBy = stopped.report.stoppedBy!;
  const required = ALL_PROTOCOLS.filter((p) => inputs.some((i) => i.report.required?.includes(p)));
  if (required.length > 0) merged.required = required;
  return merged;
}
