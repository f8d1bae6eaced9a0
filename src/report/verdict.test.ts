import { describe, expect, it } from 'vitest';
import type { CaseResult, RunReport } from './model.js';
import { runOutcome, unmetRequirements } from './verdict.js';

function result(protocol: '3.1.1' | '5.0', status: CaseResult['status'], message?: string): CaseResult {
  return {
    id: '3.12.4/pingresp',
    title: 'PINGREQ answered',
    section: '3.12.4',
    protocol,
    statements: ['MQTT-3.12.4-1'],
    level: 'must',
    status,
    durationMs: 1,
    ...(message ? { message } : {}),
  };
}

function report(cases: CaseResult[], extra: Partial<RunReport> = {}): RunReport {
  return {
    tool: 'mqtt-conform',
    version: '0.1.0',
    target: '127.0.0.1:1883',
    protocols: ['3.1.1', '5.0'],
    startedAt: '2026-12-01T00:00:00.000Z',
    durationMs: 1,
    cases,
    ...extra,
  };
}

describe('unmetRequirements and runOutcome with --require', () => {
  const declined = [
    result('3.1.1', 'passed'),
    result('5.0', 'skipped', 'the broker declines MQTT 5.0 (CONNACK code 132)\nmore'),
  ];

  it('a required version whose cases were all skipped is unmet, with the first reason', () => {
    const r = report(declined, { required: ['3.1.1', '5.0'] });
    expect(unmetRequirements(r)).toEqual([
      'MQTT 5.0 is required (--require) but all 1 of its case(s) were skipped (the broker declines MQTT 5.0 (CONNACK code 132))',
    ]);
    expect(runOutcome(r, false)).toEqual({
      outcome: 'not-conformant',
      text: 'required version(s) not judged: MQTT 5.0',
    });
  });

  it('a required version with no case at all is unmet; failures are counted beside it', () => {
    const r = report([result('3.1.1', 'failed')], { required: ['5.0'] });
    expect(unmetRequirements(r)).toEqual(['MQTT 5.0 is required (--require) but no case of it ran']);
    expect(runOutcome(r, false).text).toBe(
      '1 case(s) not conformant; required version(s) not judged: MQTT 5.0',
    );
  });

  it('met when one case of the version was judged; nothing required, nothing unmet', () => {
    expect(unmetRequirements(report(declined, { required: ['3.1.1'] }))).toEqual([]);
    expect(unmetRequirements(report(declined))).toEqual([]);
    expect(runOutcome(report(declined, { required: ['3.1.1'] }), false).outcome).toBe('conformant');
  });

  it('not judged on a shard nor on a run that stopped early', () => {
    expect(unmetRequirements(report(declined, { required: ['5.0'], shard: '1/2' }))).toEqual([]);
    const stopped = report(declined, { required: ['5.0'], stoppedBy: 'SIGINT' });
    expect(unmetRequirements(stopped)).toEqual([]);
    expect(runOutcome(stopped, false, 10).text).toBe('incomplete (SIGINT): 2 of 10 case(s) judged');
  });
});
