import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BASE_CSS, esc, VERDICT_LABEL, VERDICTS } from './html.js';
import { type CaseResult, compareIds, type RunReport, summarize, type Verdict } from './model.js';
import { runOutcome } from './verdict.js';

/** One column of the matrix: a broker's results file. */
export interface MatrixColumn {
  /** Column heading (the results file's name without `.json`, unless given). */
  name: string;
  report: RunReport;
}

export interface MatrixRow {
  id: string;
  protocol: CaseResult['protocol'];
  section: string;
  title: string;
  level: CaseResult['level'];
  /** One entry per column; undefined where that run did not have the case. */
  cells: (CaseResult | undefined)[];
  /** The runs that have the case do not all agree on its verdict. */
  differs: boolean;
}

/**
 * Cases x brokers: one row per case id and protocol found in any column, in section order; a row differs when
 * the verdicts of the columns that ran it are not all the same (a case a run did not have is no difference).
 */
export function matrixRows(columns: readonly MatrixColumn[]): MatrixRow[] {
  const rows = new Map<string, MatrixRow>();
  columns.forEach((col, i) => {
    for (const c of col.report.cases) {
      const key = `${c.id}\u0000${c.protocol}`;
      let row = rows.get(key);
      if (!row) {
        row = {
          id: c.id,
          protocol: c.protocol,
          section: c.section,
          title: c.title,
          level: c.level,
          cells: columns.map(() => undefined),
          differs: false,
        };
        rows.set(key, row);
      }
      row.cells[i] = c;
    }
  });
  const out = [...rows.values()];
  for (const r of out)
    r.differs = new Set(r.cells.filter((c) => c !== undefined).map((c) => c.status)).size > 1;
  return out.sort(
    (a, b) =>
      compareIds(a.section, b.section) || a.id.localeCompare(b.id) || a.protocol.localeCompare(b.protocol),
  );
}

function cell(c: CaseResult | undefined): string {
  if (!c)
    return '<td class="cell" data-verdict="none"><span class="muted" title="not in this run">–</span></td>';
  const badge = `<span class="badge v-${c.status}">${VERDICT_LABEL[c.status]}</span>`;
  const xf =
    c.expectedFailure !== undefined
      ? ' <span class="xf" title="listed as an expected failure">(x)</span>'
      : '';
  const detail: string[] = [];
  if (c.expectedFailure !== undefined)
    detail.push(`<div class="xf">Expected failure: ${esc(c.expectedFailure)}</div>`);
  if (c.message) detail.push(`<pre class="message">${esc(c.message)}</pre>`);
  if (c.expected !== undefined)
    detail.push(`<div>Expected: <pre class="expected">${esc(c.expected)}</pre></div>`);
  if (c.actual !== undefined) detail.push(`<div>Actual: <pre class="actual">${esc(c.actual)}</pre></div>`);
  if (c.wireLog) detail.push(`<div>Wire log:<pre class="wire">${esc(c.wireLog)}</pre></div>`);
  const title = c.message ? ` title="${esc(c.message.split('\n')[0]!)}"` : '';
  if (detail.length === 0) return `<td class="cell" data-verdict="${c.status}"${title}>${badge}${xf}</td>`;
  return `<td class="cell" data-verdict="${c.status}"${title}><details><summary>${badge}${xf}</summary>${detail.join('')}</details></td>`;
}

function row(r: MatrixRow): string {
  return `<tr class="case" data-differs="${r.differs}" data-section="${esc(r.section)}" data-protocol="${r.protocol}" data-id="${esc(r.id)}"><td><code>${esc(r.id)}</code><div class="muted">${esc(r.title)}</div></td><td>${r.protocol}</td><td>${r.level}</td>${r.cells.map(cell).join('')}</tr>`;
}

const MATRIX_CSS = `
table.matrix td.cell { min-width: 110px; max-width: 420px; }
table.matrix td.cell details[open] { min-width: 360px; }
table.matrix tr.group th { background: #cfd8dc; }
table.brokers td, table.brokers th { text-align: center; }
`;

const MATRIX_SCRIPT = `
(function () {
  var only = document.getElementById('filter-differs');
  var section = document.getElementById('filter-section');
  var protocol = document.getElementById('filter-protocol');
  var search = document.getElementById('filter-text');
  function apply() {
    var sec = section.value, proto = protocol.value, text = search.value.trim().toLowerCase(), shown = 0;
    document.querySelectorAll('table.matrix tbody').forEach(function (body) {
      var any = 0;
      body.querySelectorAll('tr.case').forEach(function (r) {
        var s = r.getAttribute('data-section');
        var ok = (!only.checked || r.getAttribute('data-differs') === 'true') &&
          (sec === '' || s === sec || s.indexOf(sec + '.') === 0) &&
          (proto === '' || r.getAttribute('data-protocol') === proto) &&
          (text === '' || r.textContent.toLowerCase().indexOf(text) >= 0);
        r.classList.toggle('hidden', !ok);
        if (ok) any++;
      });
      var head = body.querySelector('tr.group');
      if (head) head.classList.toggle('hidden', any === 0);
      shown += any;
    });
    document.getElementById('shown-count').textContent = String(shown);
  }
  [only, section, protocol].forEach(function (e) { e.addEventListener('change', apply); });
  search.addEventListener('input', apply);
  apply();
})();
`;

/**
 * The broker matrix (Autobahn style): one column per results file, one row per case and protocol, the rows
 * whose verdicts differ first, then the others by section; every non-passing cell opens to its message,
 * expected/actual and wire log. Self-contained like the run report.
 */
export function buildMatrixHtml(columns: readonly MatrixColumn[]): string {
  const rows = matrixRows(columns);
  const differing = rows.filter((r) => r.differs);
  const same = rows.filter((r) => !r.differs);
  const head = `<thead><tr><th>case</th><th>protocol</th><th>level</th>${columns
    .map((c) => `<th class="broker">${esc(c.name)}</th>`)
    .join('')}</tr></thead>`;
  const width = 3 + columns.length;
  const sameBySection: string[] = [];
  let current: string | undefined;
  for (const r of same) {
    if (r.section !== current) {
      if (current !== undefined) sameBySection.push('</tbody>');
      current = r.section;
      sameBySection.push(
        `<tbody class="same" data-section="${esc(r.section)}"><tr class="group"><th colspan="${width}">${esc(r.section)}</th></tr>`,
      );
    }
    sameBySection.push(row(r));
  }
  if (current !== undefined) sameBySection.push('</tbody>');

  const sections = [...new Set(rows.map((r) => r.section))].sort(compareIds);
  const protocols = [...new Set(rows.map((r) => r.protocol))].sort();
  const brokerRows = [
    `<tr><th></th>${columns.map((c) => `<th>${esc(c.name)}</th>`).join('')}</tr>`,
    `<tr><td>target</td>${columns.map((c) => `<td class="target">${esc(c.report.target)}</td>`).join('')}</tr>`,
    `<tr><td>run</td>${columns.map((c) => `<td>${esc(c.report.startedAt)} · mqtt-conform ${esc(c.report.version)}</td>`).join('')}</tr>`,
    `<tr><td>result</td>${columns
      .map((c) => {
        const o = runOutcome(c.report, false);
        return `<td class="outcome"><span class="result ${o.outcome}">${esc(o.text)}</span></td>`;
      })
      .join('')}</tr>`,
    ...VERDICTS.map((v: Verdict) => {
      const key = {
        failed: 'failed',
        'non-strict': 'nonStrict',
        error: 'errors',
        passed: 'passed',
        info: 'info',
        skipped: 'skipped',
      } as const;
      return `<tr data-verdict="${v}"><td><span class="badge v-${v}">${VERDICT_LABEL[v]}</span></td>${columns
        .map((c) => `<td class="num">${summarize(c.report.cases)[key[v]]}</td>`)
        .join('')}</tr>`;
    }),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mqtt-conform matrix: ${esc(columns.map((c) => c.name).join(', '))}</title>
<style>${BASE_CSS}${MATRIX_CSS}</style>
</head>
<body>
<header><h1>MQTT conformance matrix</h1>
<div class="meta">${columns.length} broker(s) · ${rows.length} case(s) · <b id="differ-count">${differing.length}</b> with differing verdicts</div></header>
<main>
<h2>Brokers</h2>
<table class="brokers" style="width:auto">${brokerRows.join('\n')}</table>
<h2>Cases</h2>
<div class="filters">
<label><input type="checkbox" id="filter-differs"> only differences</label>
<label>Section <select id="filter-section"><option value="">all</option>${sections.map((s) => `<option value="${esc(s)}">${esc(s)}</option>`).join('')}</select></label>
<label>Protocol <select id="filter-protocol"><option value="">all</option>${protocols.map((p) => `<option value="${p}">${p}</option>`).join('')}</select></label>
<label>Search <input type="search" id="filter-text" placeholder="id, text"></label>
<span class="muted"><span id="shown-count"></span> shown</span>
</div>
<h3 id="differences">Verdicts differ (${differing.length})</h3>
${
  differing.length === 0
    ? '<p class="muted" id="no-differences">Every case has the same verdict on every broker that ran it.</p>'
    : `<table class="matrix" id="matrix-differs">${head}<tbody class="differs">${differing.map(row).join('\n')}</tbody></table>`
}
<h3>Same verdict everywhere (${same.length})</h3>
<table class="matrix" id="matrix-same">${head}${sameBySection.join('\n')}</table>
</main>
<script>${MATRIX_SCRIPT}</script>
</body>
</html>
`;
}

export function writeMatrixHtml(file: string, columns: readonly MatrixColumn[]): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, buildMatrixHtml(columns));
}
