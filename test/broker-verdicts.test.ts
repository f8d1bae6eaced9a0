import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaseResult } from '../src/report/model.js';
import { findExpectedFailure, loadExpectedFailures } from '../src/scenario/expected-failures.js';
import { loadScenarios } from '../src/scenario/loader.js';
import { defaultSpecsDir, packageRoot } from '../src/scenario/paths.js';
import { runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';
import { startAedes } from './helpers/aedes.js';
import { MOSQUITTO_MISSING, mosquittoAvailable, startMosquitto } from './helpers/mosquitto.js';

/**
 * Keeps docs/brokers.md and specs/known-deviations/ true: against mosquitto 2.0.11 and aedes, every listed
 * case fails and every other case passes (or is skipped or informational), at the default concurrency and
 * at 32. A case that fails on one of them because of a mistake in the suite shows up here.
 */
const files = loadScenarios([defaultSpecsDir()]);
const planned = planCases(files, { protocols: ['3.1.1', '5.0'] });
const ids = new Set(files.flatMap((f) => f.cases.map((c) => c.id)));
const brokersDoc = readFileSync(join(packageRoot(), 'docs', 'brokers.md'), 'utf8');

const NOT_CONFORMANT = new Set(['failed', 'non-strict', 'error']);

function check(results: CaseResult[], listFile: string): string[] {
  const list = loadExpectedFailures(
    join(packageRoot(), 'specs', 'known-deviations', listFile),
    ids,
    listFile,
  );
  const problems: string[] = [];
  for (const r of results) {
    const listed = findExpectedFailure(list, r.id, r.protocol);
    const bad = NOT_CONFORMANT.has(r.status);
    if (bad && !listed) {
      problems.push(
        `${r.protocol} ${r.id}: ${r.status} but not listed: ${r.message ?? ''} | ${r.actual ?? ''}`,
      );
    }
    if (!bad && listed) problems.push(`${r.protocol} ${r.id}: listed as a deviation but ${r.status}`);
  }
  for (const e of list) {
    if (!brokersDoc.includes(e.id))
      problems.push(`${e.id}: listed in ${listFile} but not in docs/brokers.md`);
  }
  return problems;
}

describe.skipIf(!mosquittoAvailable())(
  `verdicts on mosquitto${mosquittoAvailable() ? '' : ` (${MOSQUITTO_MISSING})`}`,
  () => {
    it('skips, not fails, the in-flight identifier cases with max_inflight_messages 1 (one message in flight is allowed)', async () => {
      const m = await startMosquitto({
        configure: () => ['allow_anonymous true', 'max_inflight_messages 1'],
      });
      try {
        const ids = ['2.3.1/server-ids-distinct-in-flight', '2.3.1/server-id-held-until-pubcomp'];
        const out = await runCases(
          planned.filter((p) => ids.includes(p.scenario.id)),
          { target: m, stepTimeoutMs: 1000 },
        );
        expect(
          out.results.map((r) => `${r.protocol} ${r.id} ${r.status}`),
          out.results.map((r) => r.message).join('\n'),
        ).toEqual(out.results.map((r) => `${r.protocol} ${r.id} skipped`));
        for (const r of out.results) expect(r.message).toMatch(/in flight/);
      } finally {
        await m.stop();
      }
    }, 60_000);

    for (const concurrency of [8, 32]) {
      it(`match specs/known-deviations/mosquitto-2.0.yaml at concurrency ${concurrency}`, async () => {
        const m = await startMosquitto();
        try {
          const out = await runCases(planned, { target: m, stepTimeoutMs: 2000, concurrency });
          expect(out.stoppedBy).toBeUndefined();
          expect(check(out.results, 'mosquitto-2.0.yaml')).toEqual([]);
        } finally {
          await m.stop();
        }
      }, 180_000);
    }
  },
);

describe('verdicts on aedes', () => {
  it('match specs/known-deviations/aedes-1.yaml (3.1.1; every 5.0 case is skipped)', async () => {
    const a = await startAedes();
    try {
      const out = await runCases(planned, { target: a, stepTimeoutMs: 2000 });
      expect(out.stoppedBy).toBeUndefined();
      expect(check(out.results, 'aedes-1.yaml')).toEqual([]);
      for (const r of out.results.filter((x) => x.protocol === '5.0')) expect(r.status).toBe('skipped');
    } finally {
      await a.stop();
    }
  }, 180_000);
});
