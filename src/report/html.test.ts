import { describe, expect, it } from 'vitest';
import type { CatalogueEntry } from '../coverage/model.js';
import { buildHtmlReport, caseAnchor, esc } from './html.js';
import type { CaseResult, RunReport } from './model.js';
import { runCoverage } from './run-coverage.js';

function result(over: Partial<CaseResult>): CaseResult {
  return {
    id: '3.3.1/x',
    protocol: '3.1.1',
    title: 'title',
    section: '3.3.1',
    statements: ['MQTT-3.3.1-1'],
    level: 'must',
    status: 'passed',
    durationMs: 1,
    ...over,
  };
}

function report(cases: CaseResult[]): RunReport {
  return {
    tool: 'mqtt-conform',
    version: '0.1.0',
    target: 't',
    protocols: ['3.1.1'],
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 10,
    cases,
  };
}

const entry = (id: string, section: string, binds = 'server'): CatalogueEntry =>
  ({ id, section, binds, level: 'must', topic: `topic of ${id}` }) as unknown as CatalogueEntry;

describe('HTML report', () => {
  it('escapes everything that comes from the broker or the scenarios', () => {
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const html = buildHtmlReport(
      report([
        result({
          status: 'failed',
          title: '<b>t</b>',
          message: '</script><script>alert(1)</script>',
          actual: 'PUBLISH {payload: "<img src=x onerror=alert(1)>"}',
          wireLog: '  +1ms c <- PUBLISH </details></pre><script>x</script>',
        }),
      ]),
    );
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<script>x');
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html).toContain('&lt;/details&gt;&lt;/pre&gt;');
    expect(caseAnchor({ id: '3.3.1/a b"c', protocol: '5.0' })).toBe('case-5_0-3_3_1_a_b_c');
  });

  it('shows a finding in the summary whatever the verdict, linked to its case', () => {
    const html = buildHtmlReport(
      report([
        result({
          id: '2.2.3/five-byte-remaining-length',
          finding:
            "the broker stopped serving other clients while this case's connection held an incomplete packet",
        }),
        result({ id: '3.3.1/plain' }),
      ]),
    );
    expect(html.match(/class="xf finding"/g)).toHaveLength(1);
    expect(html).toContain(
      `Finding: <a href="#${caseAnchor({ id: '2.2.3/five-byte-remaining-length', protocol: '3.1.1' })}">`,
    );
    expect(html).toContain('(passed): the broker stopped serving other clients');
  });

  it("a statement's tooltip comes from its own version's catalogue (ids are reused with other meanings)", () => {
    const html = buildHtmlReport(
      report([
        result({ id: 'k/a', protocol: '3.1.1', statements: ['MQTT-3.1.2-24'] }),
        result({ id: 'k/a', protocol: '5.0', statements: ['MQTT-3.1.2-24'] }),
      ]),
      {
        catalogues: {
          '3.1.1': [entry('MQTT-3.1.2-24', '3.1.2.10')],
          '5.0': [entry('MQTT-3.1.2-24', '3.1.2.11.4')],
        },
      },
    );
    const tips = [
      ...html.matchAll(/<tbody class="case" id="([^"]+)"[\s\S]*?<code class="statement" title="([^"]+)"/g),
    ].map((m) => `${m[1]} ${m[2]}`);
    expect(tips).toEqual([
      'case-3_1_1-k_a 3.1.2.10 (must): topic of MQTT-3.1.2-24',
      'case-5_0-k_a 3.1.2.11.4 (must): topic of MQTT-3.1.2-24',
    ]);
  });

  it('names expected failures and the listed cases that now pass', () => {
    const html = buildHtmlReport(
      report([
        result({ id: 'a/b', status: 'failed', expectedFailure: 'known' }),
        result({ id: 'c/d', status: 'passed', expectedFailure: 'fixed since' }),
      ]),
    );
    expect(html).toContain('RESULT: conformant');
    expect(html).toContain('1 expected failure(s)');
    expect(html).toContain('listed but now passing: <code>c/d</code> [3.1.1]');
  });
});

describe('run coverage', () => {
  it('counts per chapter the observable statements the run checked and how they fared', () => {
    const catalogue = [
      entry('MQTT-3.3.1-1', '3.3.1'),
      entry('MQTT-3.3.1-2', '3.3.1'),
      entry('MQTT-3.3.2-1', '3.3.2'),
      entry('MQTT-3.3.2-2', '3.3.2', 'client'),
      entry('MQTT-4.7.1-1', '4.7.1'),
    ];
    const cases = [
      result({ id: 'a', statements: ['MQTT-3.3.1-1'] }),
      result({ id: 'b', statements: ['MQTT-3.3.1-2', 'MQTT-4.7.1-1'], status: 'failed' }),
      result({ id: 'c', statements: ['MQTT-3.3.1-1'], status: 'non-strict', level: 'should' }),
      result({ id: 'd', statements: ['MQTT-3.3.2-1'], status: 'skipped' }),
      result({ id: 'e', statements: ['MQTT-3.3.2-1'], status: 'info', level: 'info' }),
    ];
    const [v] = runCoverage(cases, { '3.1.1': catalogue });
    expect(v!.protocol).toBe('3.1.1');
    expect(v!.chapters).toEqual([
      // 3.3.1-1: passed by a, non-strict by c -> failing; 3.3.1-2 failed; 3.3.2-1 only skipped/info: not checked.
      { chapter: '3.3', observable: 3, checked: 2, passed: 0, failed: 2 },
      { chapter: '4.7', observable: 1, checked: 1, passed: 0, failed: 1 },
    ]);
    expect(v!.totals).toEqual({ chapter: 'all', observable: 4, checked: 3, passed: 0, failed: 3 });
    // A version without a catalogue has no coverage.
    expect(runCoverage([result({ protocol: '5.0' })], { '3.1.1': catalogue })).toEqual([]);
  });
});
