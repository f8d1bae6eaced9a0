import { describe, expect, it } from 'vitest';
import { columnNames } from '../cli/matrix-command.js';
import { buildMatrixHtml, matrixRows } from './matrix.js';
import type { CaseResult, RunReport } from './model.js';

function c(id: string, protocol: CaseResult['protocol'], status: CaseResult['status']): CaseResult {
  return {
    id,
    protocol,
    title: id,
    section: id.split('/')[0]!,
    statements: [],
    level: 'must',
    status,
    durationMs: 1,
  };
}

function run(cases: CaseResult[]): RunReport {
  return {
    tool: 'mqtt-conform',
    version: '0.1.0',
    target: 't',
    protocols: ['3.1.1', '5.0'],
    startedAt: '',
    durationMs: 0,
    cases,
  };
}

describe('matrix', () => {
  it('one row per case and protocol, in section order; a case a run lacks is no difference', () => {
    const a = run([
      c('4.7.1/x', '3.1.1', 'passed'),
      c('3.10.4/y', '3.1.1', 'failed'),
      c('3.3.1/z', '5.0', 'passed'),
    ]);
    const b = run([c('4.7.1/x', '3.1.1', 'failed'), c('3.10.4/y', '3.1.1', 'failed')]);
    const rows = matrixRows([
      { name: 'a', report: a },
      { name: 'b', report: b },
    ]);
    expect(rows.map((r) => [r.id, r.protocol, r.cells.map((x) => x?.status ?? '-'), r.differs])).toEqual([
      ['3.3.1/z', '5.0', ['passed', '-'], false],
      ['3.10.4/y', '3.1.1', ['failed', 'failed'], false],
      ['4.7.1/x', '3.1.1', ['passed', 'failed'], true],
    ]);
    const html = buildMatrixHtml([
      { name: '<a>', report: a },
      { name: 'b', report: b },
    ]);
    expect(html).toContain('<th class="broker">&lt;a&gt;</th>');
    expect(html).toContain('Verdicts differ (1)');
  });

  it('names columns by file, adding the folder where two would clash', () => {
    expect(columnNames(['x/mosquitto.json', 'y/aedes.json'])).toEqual(['mosquitto', 'aedes']);
    expect(columnNames(['run1/report.json', 'run2/report.json', 'z/other.JSON'])).toEqual([
      'run1/report',
      'run2/report',
      'other',
    ]);
  });
});
