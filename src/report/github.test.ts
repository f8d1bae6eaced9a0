import { describe, expect, it } from 'vitest';
import { annotation, githubAnnotations, splitSource } from './github.js';
import type { CaseResult, RunReport } from './model.js';

function result(over: Partial<CaseResult>): CaseResult {
  return {
    id: '4.3.2/puback-echoes-packet-id',
    protocol: '3.1.1',
    title: 'PUBACK echoes the id',
    section: '4.3.2',
    statements: ['MQTT-2.3.1-6'],
    level: 'must',
    status: 'failed',
    durationMs: 5,
    source: 'specs/4.3.2-qos-1.yaml:4',
    ...over,
  };
}

function report(cases: CaseResult[]): RunReport {
  return {
    tool: 'mqtt-conform',
    version: '0.1.0',
    target: 'x',
    protocols: ['3.1.1', '5.0'],
    startedAt: '',
    durationMs: 0,
    cases,
  };
}

describe('GitHub annotations', () => {
  it('points at the scenario file and line, and escapes data and properties', () => {
    const a = annotation(
      'error',
      result({ message: '100% wrong\r\nsecond line', expected: 'a', actual: 'b', title: 't: x, y' }),
    );
    expect(a).toBe(
      '::error file=specs/4.3.2-qos-1.yaml,line=4,title=4.3.2/puback-echoes-packet-id [MQTT 3.1.1] failed::' +
        '4.3.2/puback-echoes-packet-id [3.1.1] t: x, y%0AStatements: MQTT-2.3.1-6 (must)%0A100%25 wrong%0D%0Asecond line' +
        '%0AExpected: a%0AActual:   b%0ADefined at specs/4.3.2-qos-1.yaml:4',
    );
    // Property values escape ':' and ','.
    expect(annotation('error', result({ source: 'specs/a,b:c.yaml:7' }))).toMatch(
      /^::error file=specs\/a%2Cb%3Ac\.yaml,line=7,title=/,
    );
    expect(splitSource('specs/x.yaml')).toEqual({ file: 'specs/x.yaml' });
    expect(annotation('error', result({ source: undefined }))).toMatch(/^::error title=/);
  });

  it('one error per case that fails the run, warnings for non-strict, nothing for the rest', () => {
    const cases = [
      result({ id: 'a/failed' }),
      result({ id: 'b/passed', status: 'passed' }),
      result({ id: 'c/non-strict', status: 'non-strict', level: 'should' }),
      result({ id: 'd/expected', expectedFailure: 'known' }),
      result({ id: 'e/error-must', status: 'error', message: 'no CONNACK' }),
      result({ id: 'f/error-info', status: 'error', level: 'info' }),
      result({ id: 'g/skipped', status: 'skipped' }),
      result({ id: 'h/info', status: 'info', level: 'info' }),
    ];
    const lines = githubAnnotations(report(cases), false);
    expect(
      lines.map((l) => l.slice(0, l.indexOf(' ')) + l.slice(l.indexOf('title=') + 6).split(' ')[0]),
    ).toEqual(['::errora/failed', '::warningc/non-strict', '::errore/error-must']);
    expect(lines[2]).toContain('[MQTT 3.1.1] could not be carried out::');
    // With --strict a non-strict result fails the run: an error.
    expect(githubAnnotations(report(cases), true).filter((l) => l.startsWith('::error'))).toHaveLength(3);
  });

  it('an error for a required version of which nothing was judged (--require)', () => {
    const r = { ...report([result({ status: 'passed' })]), required: ['3.1.1', '5.0'] } as RunReport;
    expect(githubAnnotations(r, false)).toEqual([
      '::error title=requirement not met (--require)::MQTT 5.0 is required (--require) but no case of it ran',
    ]);
    expect(githubAnnotations({ ...r, required: ['3.1.1'] }, false)).toEqual([]);
  });
});
