import { describe, expect, it } from 'vitest';
import { runCases } from '../../src/scenario/runner.js';
import { CASE_FAULTS, type Fault, startFaultyProxy } from './faulty-proxy.js';
import { SECOND_IDENTITY, scenarioSetup, summary } from './scenario-setup.js';

/**
 * The proof that every judged case can fail: through each fault of the faulty proxy, every case mapped to it
 * in CASE_FAULTS fails (must) or is non-strict (should), with statements, expected, actual and a wire log.
 * The faults are dealt round-robin over `parts` test files so that vitest runs them side by side; within a
 * file they run concurrently too (each has its own proxy in front of the file's reference broker).
 */
export function faultProofs(part: number, parts: number): void {
  const S = scenarioSetup();
  const byFault = new Map<Fault, string[]>();
  for (const [id, faults] of Object.entries(CASE_FAULTS))
    for (const fault of [faults].flat()) byFault.set(fault, [...(byFault.get(fault) ?? []), id]);
  const mine = [...byFault].sort(([a], [b]) => a.localeCompare(b)).filter((_, i) => i % parts === part);

  describe.concurrent(`fault proofs, part ${part + 1} of ${parts}`, () => {
    for (const [fault, ids] of mine) {
      it(`fails through the faulty proxy with fault ${fault}: ${ids.join(', ')}`, async () => {
        const proxy = await startFaultyProxy(S.broker, fault);
        try {
          const subset = S.planned.filter((p) => ids.includes(p.scenario.id));
          expect(subset.length).toBeGreaterThan(0);
          const out = await runCases(subset, {
            target: proxy,
            stepTimeoutMs: 1000,
            concurrency: 16,
            ...SECOND_IDENTITY,
          });
          for (const r of out.results) {
            const want = r.level === 'should' ? 'non-strict' : 'failed';
            expect(r.status, summary([r])).toBe(want);
            expect(r.statements.length).toBeGreaterThan(0);
            expect(r.expected).toBeDefined();
            expect(r.actual).toBeDefined();
            expect(r.wireLog).toBeTruthy();
            // A broker that does not close says so in those words, not as "nothing".
            if (fault === 'never-close')
              expect(r.actual, summary([r])).toMatch(
                /^connection still open after (\d+ ms|\d+\.\d\d s of silence)$/,
              );
          }
        } finally {
          await proxy.close();
        }
      }, 90_000);
    }
  });
}
