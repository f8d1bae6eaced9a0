import { createHash } from 'node:crypto';
import type { PlannedCase } from '../scenario/runner.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** `--shard i/n` with 1 <= i <= n. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new Error(`--shard: expected i/n with 1 <= i <= n (e.g. 2/4), got "${text}"`);
  }
  return { index, count };
}

export function formatShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}

/**
 * The planned cases of one shard. The unit is a scenario case (all its protocol versions go to the same
 * shard). Cases are dealt round-robin in a fixed order, the timing cases first, so every shard gets an equal
 * share of them (they run in a serial phase of their own and dominate a run's wall time), then the others;
 * shard sizes differ by at most one case. The split depends only on the selection (the case ids in file
 * order), so every CI job computes the same one.
 */
export function shardCases(planned: readonly PlannedCase[], shard: Shard): PlannedCase[] {
  const seen = new Set<string>();
  const ids: string[] = [];
  const timing = new Set<string>();
  for (const p of planned) {
    if (!seen.has(p.scenario.id)) ids.push(p.scenario.id);
    seen.add(p.scenario.id);
    if (p.scenario.timing) timing.add(p.scenario.id);
  }
  const order = [...ids.filter((id) => timing.has(id)), ...ids.filter((id) => !timing.has(id))];
  const mine = new Set(order.filter((_, i) => i % shard.count === shard.index - 1));
  return planned.filter((p) => mine.has(p.scenario.id));
}

/**
 * A fingerprint of the whole selection a shard is cut from (every planned case id and version, in order):
 * shards of one split share it, so `merge` can tell shards run with different --only, --exclude, --protocol
 * or scenario files, whose union would silently miss cases or judge some twice.
 */
export function selectionDigest(planned: readonly PlannedCase[]): string {
  const text = planned.map((p) => `${p.scenario.id} ${p.protocol}`).join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
