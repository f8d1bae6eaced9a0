import { describe, expect, it } from 'vitest';
import type { ScenarioCase } from '../scenario/model.js';
import type { PlannedCase } from '../scenario/runner.js';
import { parseShard, shardCases } from './shard.js';

function plan(n: number, timingEvery: number): PlannedCase[] {
  const out: PlannedCase[] = [];
  for (let i = 0; i < n; i++) {
    const scenario = { id: `s/${i}`, timing: i % timingEvery === 0 } as unknown as ScenarioCase;
    out.push({ scenario, protocol: '3.1.1' }, { scenario, protocol: '5.0' });
  }
  return out;
}

describe('--shard', () => {
  it('parses i/n and refuses the rest', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3'])
      expect(() => parseShard(bad)).toThrow(/--shard/);
  });

  it('splits deterministically into disjoint, covering, even parts with the timing cases spread', () => {
    const planned = plan(23, 4); // 6 timing cases
    for (const n of [1, 2, 3, 4, 7]) {
      const parts = Array.from({ length: n }, (_, i) => shardCases(planned, { index: i + 1, count: n }));
      // Same input, same split.
      expect(parts).toEqual(
        Array.from({ length: n }, (_, i) => shardCases(planned, { index: i + 1, count: n })),
      );
      const all = parts.flat();
      expect(all).toHaveLength(planned.length);
      expect(new Set(all)).toEqual(new Set(planned));
      // Both versions of a case stay together, in the planned order.
      for (const part of parts) {
        expect(part).toEqual(planned.filter((p) => part.includes(p)));
        for (const p of part) expect(part.filter((q) => q.scenario === p.scenario)).toHaveLength(2);
      }
      const sizes = parts.map((p) => p.length / 2);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      const timing = parts.map((p) => p.filter((c) => c.scenario.timing).length / 2);
      expect(Math.max(...timing) - Math.min(...timing)).toBeLessThanOrEqual(1);
    }
  });
});
