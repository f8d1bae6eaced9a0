import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CatalogueEntry } from '../coverage/model.js';
import {
  type CaseResult,
  compareIds,
  isConformanceFailure,
  type RunReport,
  summarize,
  type Verdict,
} from './model.js';
import { type Catalogues, type RunCoverage, runCoverage } from './run-coverage.js';
import { isExpectedFailure, runOutcome, unmetRequirements } from './verdict.js';

export interface HtmlOptions {
  /** Non-strict results count as failures in the conclusion (as with --strict). */
  strict?: boolean;
  /** Statement catalogues for the coverage table and the statements' tooltips (none: no coverage table). */
  catalogues?: Catalogues;
}

/** Verdicts in the order the summary and the filters show them. */
export const VERDICTS: readonly Verdict[] = ['failed', 'non-strict', 'error', 'passed', 'info', 'skipped'];

export const VERDICT_LABEL: Record<Verdict, string> = {
  failed: 'FAIL',
  'non-strict': 'NON-STRICT',
  error: 'ERROR',
  passed: 'PASS',
  info: 'INFO',
  skipped: 'SKIP',
};

const SUMMARY_KEY: Record<Verdict, keyof ReturnType<typeof summarize>> = {
  failed: 'failed',
  'non-strict': 'nonStrict',
  error: 'errors',
  passed: 'passed',
  info: 'info',
  skipped: 'skipped',
};

/** Text for HTML element content and attribute values. */
export function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A stable element id for a case on one protocol. */
export function caseAnchor(c: { id: string; protocol: string }): string {
  return `case-${c.protocol}-${c.id}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Shared look of the HTML reports (run report and matrix): no external resources, works offline. */
export const BASE_CSS = `
:root { --fail:#c62828; --ns:#ef6c00; --err:#8e24aa; --pass:#2e7d32; --info:#00838f; --skip:#757575; --line:#ddd; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #263238; color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header .meta { opacity: .85; font-size: 13px; }
main { padding: 16px 24px 48px; max-width: 1400px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eceff1; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
pre { white-space: pre-wrap; word-break: break-all; background: #f5f5f5; padding: 8px; margin: 4px 0; border: 1px solid var(--line); }
.badge { display: inline-block; min-width: 84px; text-align: center; border-radius: 3px; padding: 0 6px; color: #fff; font-weight: 600; font-size: 12px; }
.v-failed { background: var(--fail); } .v-non-strict { background: var(--ns); } .v-error { background: var(--err); }
.v-passed { background: var(--pass); } .v-info { background: var(--info); } .v-skipped { background: var(--skip); }
.result { font-size: 16px; font-weight: 600; padding: 8px 12px; border-radius: 4px; display: inline-block; color: #fff; }
.result.conformant { background: var(--pass); } .result.not-conformant { background: var(--fail); }
.result.incomplete { background: var(--err); } .result.nothing-judged { background: var(--skip); }
.counts { display: flex; gap: 8px; flex-wrap: wrap; margin: 12px 0; }
.count { border-radius: 4px; padding: 6px 12px; color: #fff; min-width: 96px; }
.count b { display: block; font-size: 20px; }
.filters { position: sticky; top: 0; background: #fafafa; padding: 8px 0; border-bottom: 1px solid var(--line); z-index: 1; display: flex; gap: 16px; flex-wrap: wrap; align-items: center; }
.filters label { white-space: nowrap; }
.muted { color: #666; }
.xf { color: var(--ns); font-weight: 600; }
details > summary { cursor: pointer; color: #1565c0; }
tr.case-detail td { background: #fcfcfc; }
.hidden { display: none !important; }
table.coverage { width: auto; }
table.coverage th.group { text-align: center; border-left: 2px solid var(--line); }
table.coverage td[data-col="checked"] { border-left: 2px solid var(--line); }
td.bad { color: var(--fail); font-weight: 600; }
.bar { display: inline-block; width: 60px; height: 8px; background: #e0e0e0; border-radius: 4px; vertical-align: middle; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--pass); }
#coverage summary h2 { display: inline; }
code.statement { white-space: nowrap; }
#failing td { white-space: nowrap; }
#failing td:last-child { white-space: normal; width: 100%; }
`;

function badge(v: Verdict): string {
  return `<span class="badge v-${v}">${VERDICT_LABEL[v]}</span>`;
}

/** Catalogue entries by `<protocol> <id>`: the same id can name different rules in 3.1.1 and 5.0. */
type Entries = ReadonlyMap<string, CatalogueEntry>;

function statementList(ids: readonly string[], protocol: string, entries: Entries): string {
  return ids
    .map((id) => {
      const e = entries.get(`${protocol} ${id}`);
      const tip = e ? ` title="${esc(`${e.section} (${e.level}): ${e.topic}`)}"` : '';
      return `<code class="statement"${tip}>${esc(id)}</code>`;
    })
    .join(' ');
}

function caseDetail(c: CaseResult, entries: Entries): string {
  const parts: string[] = [`<div class="title">${esc(c.title)}</div>`];
  if (c.statements.length > 0) {
    parts.push(
      `<div>Statements (${esc(c.level)}): ${statementList(c.statements, c.protocol, entries)}</div>`,
    );
  }
  if (c.expectedFailure !== undefined) {
    parts.push(`<div class="xf">Listed as an expected failure: ${esc(c.expectedFailure)}</div>`);
  }
  if (c.message) parts.push(`<pre class="message">${esc(c.message)}</pre>`);
  if (c.expected !== undefined)
    parts.push(`<div>Expected: <pre class="expected">${esc(c.expected)}</pre></div>`);
  if (c.actual !== undefined) parts.push(`<div>Actual: <pre class="actual">${esc(c.actual)}</pre></div>`);
  if (c.source)
    parts.push(`<div class="muted">Defined at <code class="source">${esc(c.source)}</code></div>`);
  if (c.wireLog) {
    const lines = c.wireLog.split('\n').length;
    parts.push(
      `<details class="wire-log"><summary>Wire log (${lines} line${lines === 1 ? '' : 's'})</summary><pre>${esc(c.wireLog)}</pre></details>`,
    );
  }
  return parts.join('\n');
}

function caseRows(c: CaseResult, entries: Entries): string {
  const xf = isExpectedFailure(c) ? ' <span class="xf" title="expected failure">(expected)</span>' : '';
  return `<tbody class="case" id="${caseAnchor(c)}" data-verdict="${c.status}" data-section="${esc(c.section)}" data-protocol="${c.protocol}" data-id="${esc(c.id)}">
<tr class="case-row"><td>${badge(c.status)}${xf}</td><td><code>${esc(c.id)}</code></td><td>${c.protocol}</td><td>${esc(c.level)}</td><td>${statementList(c.statements, c.protocol, entries)}</td><td class="num">${c.durationMs} ms</td></tr>
<tr class="case-detail"><td></td><td colspan="5">${caseDetail(c, entries)}</td></tr>
</tbody>`;
}

function coverageTable(cov: readonly RunCoverage[]): string {
  if (cov.length === 0) return '';
  const pct = (a: number, b: number): string => (b === 0 ? '-' : `${Math.floor((a * 100) / b)}%`);
  const chapters: string[] = [];
  for (const v of cov)
    for (const r of v.chapters) if (!chapters.includes(r.chapter)) chapters.push(r.chapter);
  chapters.sort(compareIds);
  const cells = (v: RunCoverage, r: RunCoverage['totals'] | undefined): string => {
    const td = (col: string, text: string, cls = 'num'): string =>
      `<td class="${cls}" data-protocol="${v.protocol}" data-col="${col}">${text}</td>`;
    if (!r) return ['checked', 'percent', 'passed', 'failed'].map((c) => td(c, '-')).join('');
    const share = r.observable === 0 ? 0 : Math.round((r.checked * 100) / r.observable);
    return [
      td('checked', `${r.checked} / ${r.observable}`),
      td(
        'percent',
        `<span class="bar"><span style="width:${share}%"></span></span> ${pct(r.checked, r.observable)}`,
      ),
      td('passed', String(r.passed)),
      td('failed', String(r.failed), r.failed > 0 ? 'num bad' : 'num'),
    ].join('');
  };
  const rows = chapters.map(
    (ch) =>
      `<tr data-chapter="${esc(ch)}"><td>${esc(ch)}</td>${cov
        .map((v) =>
          cells(
            v,
            v.chapters.find((r) => r.chapter === ch),
          ),
        )
        .join('')}</tr>`,
  );
  rows.push(
    `<tr class="total" data-chapter="all"><td><b>all</b></td>${cov.map((v) => cells(v, v.totals)).join('')}</tr>`,
  );
  return [
    `<section id="coverage"><details><summary><h2>Statement coverage</h2> <span class="muted" id="coverage-summary">${cov
      .map((v) => {
        const t = v.totals;
        return `MQTT ${v.protocol}: ${t.checked} of ${t.observable} observable statements checked (${pct(t.checked, t.observable)}), ${t.failed} failing`;
      })
      .join('; ')}</span></summary>`,
    '<p class="muted">Per chapter and version: the observable server-bound statements that a must- or should-level case of this run checked, and how they fared (a statement takes the worst verdict of its cases).</p>',
    '<table class="coverage"><thead>',
    `<tr><th rowspan="2">chapter</th>${cov.map((v) => `<th colspan="4" class="group">MQTT ${v.protocol}</th>`).join('')}</tr>`,
    `<tr>${cov.map(() => '<th class="num">checked / observable</th><th></th><th class="num">passed</th><th class="num">failed</th>').join('')}</tr>`,
    '</thead><tbody>',
    ...rows,
    '</tbody></table></details></section>',
  ].join('\n');
}

/** The script behind the filters: verdict checkboxes, section and protocol menus and a text search. */
const RUN_SCRIPT = `
(function () {
  var boxes = document.querySelectorAll('input[data-filter-verdict]');
  var section = document.getElementById('filter-section');
  var protocol = document.getElementById('filter-protocol');
  var search = document.getElementById('filter-text');
  function apply() {
    var verdicts = {};
    boxes.forEach(function (b) { verdicts[b.getAttribute('data-filter-verdict')] = b.checked; });
    var sec = section.value, proto = protocol.value, text = search.value.trim().toLowerCase();
    var shown = 0;
    document.querySelectorAll('section.section').forEach(function (s) {
      var secOk = sec === '' || s.getAttribute('data-section') === sec;
      var any = 0;
      s.querySelectorAll('tbody.case').forEach(function (c) {
        var ok = secOk && verdicts[c.getAttribute('data-verdict')] &&
          (proto === '' || c.getAttribute('data-protocol') === proto) &&
          (text === '' || c.textContent.toLowerCase().indexOf(text) >= 0);
        c.classList.toggle('hidden', !ok);
        if (ok) any++;
      });
      s.classList.toggle('hidden', any === 0);
      shown += any;
    });
    document.getElementById('shown-count').textContent = String(shown);
    document.getElementById('no-match').classList.toggle('hidden', shown !== 0);
  }
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  section.addEventListener('change', apply);
  protocol.addEventListener('change', apply);
  search.addEventListener('input', apply);
  document.querySelectorAll('a[data-show-case]').forEach(function (a) {
    a.addEventListener('click', function () {
      boxes.forEach(function (b) { b.checked = true; });
      section.value = ''; protocol.value = ''; search.value = '';
      apply();
      var d = document.getElementById(a.getAttribute('data-show-case'));
      var log = d && d.querySelector('details.wire-log');
      if (log) log.open = true;
    });
  });
  apply();
})();
`;

/**
 * The HTML report of one run: a single self-contained file (inline CSS and script, no external resources)
 * with the summary and conclusion, the failures first, statement coverage per chapter, and a table per spec
 * section with every case's statements, expected/actual and collapsible wire log; filters by verdict,
 * section, protocol and text.
 */
export function buildHtmlReport(report: RunReport, opts: HtmlOptions = {}): string {
  const strict = opts.strict ?? false;
  const entries = new Map<string, CatalogueEntry>();
  for (const [protocol, list] of Object.entries(opts.catalogues ?? {})) {
    for (const e of list ?? []) entries.set(`${protocol} ${e.id}`, e);
  }
  const s = summarize(report.cases);
  const outcome = runOutcome(report, strict);
  const sections = new Map<string, CaseResult[]>();
  for (const c of report.cases) {
    const list = sections.get(c.section) ?? [];
    list.push(c);
    sections.set(c.section, list);
  }
  const sectionIds = [...sections.keys()].sort(compareIds);
  const failing = report.cases.filter((c) => isConformanceFailure(c, strict));
  // Verdicts that show at first: everything except passes when there is something else to look at.
  const problems = s.failed + s.nonStrict + s.errors > 0;
  const body: string[] = [];

  body.push(
    '<section id="summary"><h2>Summary</h2>',
    `<div id="result" class="result ${outcome.outcome}" data-outcome="${outcome.outcome}">RESULT: ${esc(outcome.text)}</div>`,
    '<div class="counts">',
    ...VERDICTS.map(
      (v) =>
        `<div class="count v-${v}" data-verdict="${v}"><b>${s[SUMMARY_KEY[v]]}</b>${VERDICT_LABEL[v].toLowerCase()}</div>`,
    ),
    '</div>',
    `<p>${s.total} case(s) in ${(report.durationMs / 1000).toFixed(1)} s${strict ? ' (strict: non-strict results fail the run)' : ''}.</p>`,
  );
  if (report.stoppedBy) body.push(`<p class="xf">Run stopped early: ${esc(report.stoppedBy)}</p>`);
  for (const u of unmetRequirements(report)) {
    body.push(`<p class="xf requirement">Requirement not met: ${esc(u)}</p>`);
  }
  // Findings stand out whatever the case's verdict: a case can pass and still have stalled the broker.
  for (const c of report.cases.filter((x) => x.finding)) {
    body.push(
      `<p class="xf finding">Finding: <a href="#${caseAnchor(c)}"><code>${esc(c.id)}</code> [MQTT ${c.protocol}]</a> (${esc(c.status)}): ${esc(c.finding!)}</p>`,
    );
  }
  const expected = report.cases.filter(isExpectedFailure);
  const nowPassing = report.cases.filter((c) => c.expectedFailure !== undefined && c.status === 'passed');
  if (expected.length > 0 || nowPassing.length > 0) {
    body.push(
      `<p id="expected-failures" class="muted">${expected.length} expected failure(s) (listed with --expected-failures: reported, not counted)${
        nowPassing.length > 0
          ? `; listed but now passing: ${nowPassing.map((c) => `<code>${esc(c.id)}</code> [${c.protocol}]`).join(', ')}`
          : ''
      }.</p>`,
    );
  }
  if (failing.length > 0) {
    // One line per case id: the protocols it failed on link to their rows.
    const byId = new Map<string, CaseResult[]>();
    for (const c of failing) byId.set(c.id, [...(byId.get(c.id) ?? []), c]);
    body.push(
      `<h3>Not conformant (${failing.length})</h3><table id="failing"><tbody>`,
      ...[...byId.values()].map((list) => {
        const first = list[0]!;
        const links = list
          .map((c) => `<a href="#${caseAnchor(c)}" data-show-case="${caseAnchor(c)}">${c.protocol}</a>`)
          .join(' ');
        return `<tr><td>${badge(first.status)}</td><td><code>${esc(first.id)}</code></td><td>MQTT ${links}</td><td>${statementList(first.statements, first.protocol, entries)}</td><td>${esc(first.message?.split('\n')[0] ?? first.title)}</td></tr>`;
      }),
      '</tbody></table>',
    );
  }
  body.push('</section>');
  body.push(coverageTable(opts.catalogues ? runCoverage(report.cases, opts.catalogues) : []));

  const protocols = [...new Set(report.cases.map((c) => c.protocol))];
  body.push(
    '<h2>Cases</h2>',
    '<div class="filters" id="filters">',
    ...VERDICTS.map(
      (v) =>
        `<label><input type="checkbox" data-filter-verdict="${v}"${!problems || v !== 'passed' ? ' checked' : ''}> ${badge(v)} ${s[SUMMARY_KEY[v]]}</label>`,
    ),
    `<label>Section <select id="filter-section"><option value="">all</option>${sectionIds
      .map((id) => `<option value="${esc(id)}">${esc(id)}</option>`)
      .join('')}</select></label>`,
    `<label>Protocol <select id="filter-protocol"><option value="">all</option>${protocols
      .map((p) => `<option value="${p}">${p}</option>`)
      .join('')}</select></label>`,
    '<label>Search <input type="search" id="filter-text" placeholder="id, statement, text"></label>',
    '<span class="muted"><span id="shown-count"></span> shown</span>',
    '</div>',
    '<p id="no-match" class="muted hidden">No case matches the filters.</p>',
  );
  for (const id of sectionIds) {
    const cases = sections.get(id)!;
    const ss = summarize(cases);
    const tally = VERDICTS.filter((v) => ss[SUMMARY_KEY[v]] > 0)
      .map((v) => `${ss[SUMMARY_KEY[v]]} ${VERDICT_LABEL[v].toLowerCase()}`)
      .join(', ');
    body.push(
      `<section class="section" data-section="${esc(id)}"><h3>${esc(id)} <span class="muted">${tally}</span></h3>`,
      '<table><thead><tr><th style="width:130px">verdict</th><th>case</th><th>protocol</th><th>level</th><th>statements</th><th class="num">time</th></tr></thead>',
      ...cases.map((c) => caseRows(c, entries)),
      '</table></section>',
    );
  }

  const title = `mqtt-conform report: ${report.target}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${BASE_CSS}</style>
</head>
<body>
<header><h1>MQTT conformance report</h1>
<div class="meta">Target <b id="target">${esc(report.target)}</b> · MQTT ${report.protocols.map(esc).join(', ')} · started ${esc(report.startedAt)} · mqtt-conform ${esc(report.version)}</div></header>
<main>
${body.join('\n')}
</main>
<script>${RUN_SCRIPT}</script>
</body>
</html>
`;
}

export function writeHtmlReport(file: string, report: RunReport, opts: HtmlOptions = {}): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, buildHtmlReport(report, opts));
}
