import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { statementsFor } from '../scenario/statements/index.js';
import {
  type CatalogueEntry,
  CLIENT_ONLY_REASON,
  type CoverageCase,
  type CoverageData,
  catalogueFile,
  chapterOf,
  computeCoverage,
  docFile,
  formatConsole,
  formatMarkdown,
  loadCoverage,
  parseCatalogue,
  recordCases,
  recordedCatalogue,
  sharedRules,
  summaryLine,
  WRITE_COMMAND,
} from './index.js';

const entry = (
  id: string,
  section: string,
  binds: CatalogueEntry['binds'] = 'server',
  extra: Partial<CatalogueEntry> = {},
): CatalogueEntry => ({ id, section, binds, level: 'must', topic: `topic of ${id}`, ...extra });

const CATALOGUE: CatalogueEntry[] = [
  entry('MQTT-1.5.3-1', '1.5.3', 'both'),
  entry('MQTT-3.1.0-1', '3.1', 'client'),
  entry('MQTT-3.1.2-4', '3.1.2.4', 'both', { cases: ['3.1.2/b', '3.1.2/a'] }),
  entry('MQTT-3.1.2-5', '3.1.2.4'),
  entry('MQTT-3.10.4-1', '3.10.4', 'server', { cases: ['3.10.4/x'] }),
  entry('MQTT-4.8.0-2', '4.8', 'both', { reason: 'a transient error cannot be caused by a client' }),
  entry('MQTT-6.0.0-4', '6', 'server', { reason: 'WebSocket' }),
  entry('MQTT-7.1.1-1', '7.1.1', 'receiver'),
];

const CASES: CoverageCase[] = [
  { id: '3.1.2/b', level: 'must', protocols: ['3.1.1', '5.0'], statements: { '3.1.1': ['MQTT-3.1.2-4'] } },
  {
    id: '3.1.2/a',
    level: 'should',
    protocols: ['3.1.1', '5.0'],
    statements: { '3.1.1': ['MQTT-3.1.2-4', 'MQTT-3.1.2-4'], '5.0': ['MQTT-3.1.2-4'] },
  },
  // info only: names MQTT-3.1.2-5 but checks nothing
  { id: '3.1.2/may', level: 'info', protocols: ['3.1.1'], statements: { '3.1.1': ['MQTT-3.1.2-5'] } },
  // names 3.1.1 ids but does not run for 3.1.1: does not count there
  {
    id: '3.10.4/x',
    level: 'must',
    protocols: ['5.0'],
    statements: { '3.1.1': ['MQTT-3.10.4-1'], '5.0': [] },
  },
];

describe('statement coverage (computation)', () => {
  it('groups sections into chapters: two numbers in chapters 1-4, one from 5 on', () => {
    expect(['1.5.3', '3.1', '3.1.2.11.4', '3.10.4', '4.7.3', '6', '7.1.1'].map(chapterOf)).toEqual([
      '1.5',
      '3.1',
      '3.1',
      '3.10',
      '4.7',
      '6',
      '7',
    ]);
  });

  it('classifies each statement and counts checked / observable / server-bound / total per chapter', () => {
    const v = computeCoverage('3.1.1', CATALOGUE, CASES);
    const status = Object.fromEntries(v.statements.map((s) => [s.entry.id, s.status]));
    expect(status).toEqual({
      'MQTT-1.5.3-1': 'gap',
      'MQTT-3.1.0-1': 'client-only',
      'MQTT-3.1.2-4': 'checked',
      'MQTT-3.1.2-5': 'gap',
      'MQTT-3.10.4-1': 'gap',
      'MQTT-4.8.0-2': 'unobservable',
      'MQTT-6.0.0-4': 'unobservable',
      'MQTT-7.1.1-1': 'gap',
    });
    const s = v.statements.find((x) => x.entry.id === 'MQTT-3.1.2-4')!;
    expect(s.cases).toEqual(['3.1.2/a', '3.1.2/b']); // sorted, each case once
    expect(s.checkedBy).toEqual(['3.1.2/a', '3.1.2/b']);
    expect(v.statements.find((x) => x.entry.id === 'MQTT-3.1.0-1')!.reason).toBe(CLIENT_ONLY_REASON);
    expect(v.statements.find((x) => x.entry.id === 'MQTT-3.1.2-5')!.cases).toEqual(['3.1.2/may']);

    expect(v.totals).toEqual({ chapter: 'all', checked: 1, observable: 5, serverBound: 7, total: 8 });
    expect(v.chapters.map((r) => [r.chapter, r.checked, r.observable, r.serverBound, r.total])).toEqual([
      ['1.5', 0, 1, 1, 1],
      ['3.1', 1, 2, 2, 3],
      ['3.10', 0, 1, 1, 1],
      ['4.8', 0, 0, 1, 1],
      ['6', 0, 0, 1, 1],
      ['7', 0, 1, 1, 1],
    ]);
    expect(v.gaps.map((g) => g.entry.id)).toEqual([
      'MQTT-1.5.3-1',
      'MQTT-3.1.2-5',
      'MQTT-3.10.4-1',
      'MQTT-7.1.1-1',
    ]);
    expect(summaryLine(v)).toBe(
      'MQTT 3.1.1: 1 of 5 observable server-bound statements checked (20%); 7 server-bound, 8 total',
    );
    expect(v.problems).toEqual([]);
    // recorded cases differ from the derived ones: 3.1.2-4 (not in case-id order), 3.1.2-5 (none recorded),
    // 3.10.4-1 (recorded, but the case does not run for 3.1.1)
    expect(v.stale).toEqual(['MQTT-3.1.2-4', 'MQTT-3.1.2-5', 'MQTT-3.10.4-1']);
  });

  it('reports contradictions: cases and a reason on one statement, a reason on a client-only one', () => {
    const catalogue = [
      entry('MQTT-3.1.2-4', '3.1.2.4', 'both', { reason: 'internal storage' }),
      entry('MQTT-3.1.0-1', '3.1', 'client', { reason: 'clients' }),
      entry('MQTT-3.1.2-5', '3.1.2.4', 'server', { reason: '  ' }),
    ];
    const cases: CoverageCase[] = [
      ...CASES,
      { id: '9.9/ghost', level: 'must', protocols: ['3.1.1'], statements: { '3.1.1': ['MQTT-9.9.9-9'] } },
    ];
    const v = computeCoverage('3.1.1', catalogue, cases);
    expect(v.problems).toHaveLength(4);
    expect(v.problems.join('\n')).toMatch(/MQTT-9\.9\.9-9: named by 9\.9\/ghost but not in the MQTT 3\.1\.1/);
    expect(v.problems.join('\n')).toMatch(
      /MQTT-3\.1\.2-4 has must\/should cases \(3\.1\.2\/a, 3\.1\.2\/b\) and the reason/,
    );
    expect(v.problems.join('\n')).toMatch(/MQTT-3\.1\.0-1 binds only clients/);
    expect(v.problems.join('\n')).toMatch(/MQTT-3\.1\.2-5: empty reason/);
    // a contradicted statement still counts by its cases
    expect(v.statements[0]!.status).toBe('checked');
  });

  it('counts the cases that check a 3.1.1 statement and also its 5.0 form', () => {
    expect(sharedRules(CASES)).toEqual({
      check311: ['3.1.2/b', '3.1.2/a', '3.1.2/may'],
      alsoFor50: ['3.1.2/a'],
      only311: ['3.1.2/b', '3.1.2/may'],
    });
  });

  it('prints the totals first, then per-chapter tables and the gaps; the doc has the full matrix', () => {
    const versions = [computeCoverage('3.1.1', CATALOGUE, CASES), computeCoverage('5.0', CATALOGUE, CASES)];
    const shared = sharedRules(CASES);
    const text = formatConsole(versions, shared);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^MQTT 3\.1\.1: 1 of 5 observable/);
    expect(lines[1]).toMatch(/^MQTT 5\.0: 1 of 5 observable/);
    expect(lines[2]).toMatch(/^MQTT 5\.0 form of shared rules: 1 of 3 cases/);
    expect(lines[3]).toMatch(
      /^Not observable on the wire .*MQTT 3\.1\.1 2 of 7 server-bound, MQTT 5\.0 2 of 7/,
    );
    expect(text).toContain(`run \`${WRITE_COMMAND}\``);
    expect(text).toMatch(
      /MQTT 3\.1\.1: 4 observable server-bound statements not yet checked\n {2}MQTT-1\.5\.3-1/,
    );
    expect(text).toContain('(info only: 3.1.2/may)');
    const md = formatMarkdown(versions, shared);
    expect(md).toContain(
      '| MQTT-3.1.2-4 | 3.1.2.4 | both | must | topic of MQTT-3.1.2-4 | `3.1.2/a`, `3.1.2/b` |',
    );
    expect(md).toContain(
      '| MQTT-3.1.2-5 | 3.1.2.4 | server | must | topic of MQTT-3.1.2-5 | `3.1.2/may` (info) |',
    );
    expect(md).toContain(
      '| MQTT-6.0.0-4 | 6 | server | must | topic of MQTT-6.0.0-4 | not observable: WebSocket |',
    );
    expect(md).toContain(
      `| MQTT-3.1.0-1 | 3.1 | client | must | topic of MQTT-3.1.0-1 | not observable: ${CLIENT_ONLY_REASON} |`,
    );
    expect(md).toContain('| 3.1 | 1 | 2 | 2 | 3 | 50% |');
  });

  it('records cases in the YAML document, keeping comments, quoting and the other fields', () => {
    const text = [
      '# header comment',
      '',
      '- id: MQTT-1.5.3-1',
      '  section: "1.5.3"',
      '  binds: both',
      '  level: must',
      '  topic: well-formed UTF-8 strings',
      '  cases: [old/case]',
      '# MQTT-3.1.2-7: a per-entry comment',
      '- id: MQTT-3.1.2-7',
      '  section: "3.1.2.4"',
      '  binds: server',
      '  level: must-not',
      '  topic: retained messages outlive session',
      '- id: MQTT-6.0.0-4',
      '  section: "6"',
      '  binds: server',
      '  level: must',
      '  topic: select mqtt subprotocol',
      '  reason: "WebSocket: none"',
      '',
    ].join('\n');
    const cat = parseCatalogue(text);
    expect(cat.entries.map((e) => e.id)).toEqual(['MQTT-1.5.3-1', 'MQTT-3.1.2-7', 'MQTT-6.0.0-4']);
    expect(cat.entries[0]!.cases).toEqual(['old/case']);
    expect(cat.entries[2]!.reason).toBe('WebSocket: none');
    const out = recordCases(cat, new Map([['MQTT-3.1.2-7', ['3.1.2/a', '3.1.2/b']]]));
    expect(out).toBe(
      text
        .replace('  cases: [old/case]\n', '')
        .replace(
          '  topic: retained messages outlive session\n',
          '  topic: retained messages outlive session\n  cases: [3.1.2/a, 3.1.2/b]\n',
        ),
    );
    // writing the same lists again changes nothing
    expect(recordCases(parseCatalogue(out), new Map([['MQTT-3.1.2-7', ['3.1.2/a', '3.1.2/b']]]))).toBe(out);
  });
});

describe('statement coverage (the real catalogues and scenario files)', () => {
  let data: CoverageData;
  beforeAll(() => {
    data = loadCoverage();
  });
  const fix = `the statement bookkeeping is out of date: run \`${WRITE_COMMAND}\` and commit specs/statements/*.yaml and docs/coverage.md`;

  it('has no contradictions (cases and a reason on one statement, reasons on client-only ones)', () => {
    expect(data.versions.flatMap((v) => v.problems.map((p) => `MQTT ${v.protocol}: ${p}`))).toEqual([]);
  });

  it('lists the statements the loader reads: same ids, sections, binds, levels', () => {
    for (const v of data.versions) {
      const loader = [...statementsFor(v.protocol).values()].map((s) => [s.id, s.section, s.binds, s.level]);
      expect(v.statements.map((s) => [s.entry.id, s.entry.section, s.entry.binds, s.entry.level])).toEqual(
        loader,
      );
    }
  });

  it('records, for every statement, exactly the cases that name it', () => {
    for (const v of data.versions) {
      expect(v.stale, `MQTT ${v.protocol}: statements whose recorded cases differ; ${fix}`).toEqual([]);
      const recorded = readFileSync(catalogueFile(v.protocol), 'utf8');
      expect(recorded === recordedCatalogue(data, v.protocol), `MQTT ${v.protocol}: ${fix}`).toBe(true);
    }
  });

  it('docs/coverage.md is generated from the same data', () => {
    let doc = '';
    try {
      doc = readFileSync(docFile(), 'utf8');
    } catch {
      // missing: reported by the assertion below
    }
    expect(doc === formatMarkdown(data.versions, data.shared), fix).toBe(true);
  });

  it('puts every server-bound statement in one place: checked, not observable (with a reason), or a gap', () => {
    for (const v of data.versions) {
      const serverBound = v.statements.filter((s) => s.serverBound);
      for (const s of serverBound) {
        expect(['checked', 'unobservable', 'gap'], s.entry.id).toContain(s.status);
        if (s.status === 'unobservable') expect(s.reason, s.entry.id).toMatch(/\S/);
      }
      expect(v.totals.serverBound).toBe(serverBound.length);
      expect(v.totals.observable - v.totals.checked).toBe(v.gaps.length);
      // the gaps are reported, not hidden: each is printed with its topic
      const text = formatConsole(data.versions, data.shared);
      for (const g of v.gaps) expect(text).toContain(`${g.entry.id}`);
    }
  });
});
