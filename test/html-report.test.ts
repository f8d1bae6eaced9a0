import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import { main } from '../src/cli/main.js';
import { CHROMIUM_MISSING, findChromium, launchChromium, openFile } from './helpers/chromium.js';
import { startFaultyProxy } from './helpers/faulty-proxy.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * The HTML report, loaded in real headless Chromium (Debian `chromium` driven by playwright-core): what the
 * page shows, that it asks for nothing over the network, and that its filters and wire logs work.
 */
const chromiumPath = findChromium();
if (!chromiumPath) console.warn(`html-report.test.ts: ${CHROMIUM_MISSING}`);

let broker: { host: string; port: number; close(): Promise<void> };
let browser: Browser | undefined;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  if (chromiumPath) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await broker?.close();
});

async function cli(args: string[], inDir = false): Promise<{ code: number; dir: string; out: string }> {
  const dir = tempDir('mc-html-');
  let out = '';
  // Subcommands (matrix) take no --reports.
  const code = await main(args[0] === 'matrix' ? args : [...args, '--reports', dir], {
    ...(inDir ? { cwd: dir } : {}),
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      out += t;
    },
    isTTY: false,
    onSignal: () => () => undefined,
  });
  return { code, dir, out };
}

/** The rendered text of an element (what the reader sees). */
function shown(l: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: playwright's innerText is the rendered text, not the DOM property
  return l.innerText();
}

/** Two cases of section 4.3.2 and the PINGREQ section, named so that new cases do not change the counts. */
const CASES = '4.3.2/puback-echoes-packet-id,4.3.2/qos1-delivery,3.12.4';

describe.skipIf(!chromiumPath)('HTML report in headless Chromium', () => {
  it('shows the summary, failures with expected/actual and wire log, coverage and working filters', async () => {
    const proxy = await startFaultyProxy(broker, 'ack-wrong-id');
    let r: Awaited<ReturnType<typeof cli>>;
    try {
      r = await cli([`127.0.0.1:${proxy.port}`, '--only', CASES, '--timeout', '500']);
    } finally {
      await proxy.close();
    }
    expect(r.code).toBe(1);
    const file = join(r.dir, 'report.html');
    expect(r.out).toContain(file);
    const json = JSON.parse(readFileSync(join(r.dir, 'report.json'), 'utf8'));
    const failedIds = json.cases.filter((c: { status: string }) => c.status === 'failed');
    expect(failedIds.length).toBe(4);

    const { page, requests, errors } = await openFile(browser!, file);
    try {
      // Self-contained: no request beyond the file, no script error.
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      expect(await page.title()).toBe(`mqtt-conform report: mqtt://127.0.0.1:${proxy.port}`);
      expect(await shown(page.locator('#target'))).toBe(`mqtt://127.0.0.1:${proxy.port}`);
      expect(await shown(page.locator('#result'))).toBe('RESULT: 4 case(s) not conformant');
      expect(await shown(page.locator('.count[data-verdict="failed"] b'))).toBe('4');
      expect(await shown(page.locator('.count[data-verdict="passed"] b'))).toBe('2');
      // One line per failing case id, with a link per protocol.
      expect(await page.locator('#failing tr').count()).toBe(2);
      expect(await page.locator('#failing a').count()).toBe(4);

      // One table per section; with failures, passes are hidden at first.
      const sections = await page
        .locator('section.section')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-section')));
      expect(sections).toEqual(['3.12.4', '4.3.2']);
      const visible = page.locator('tbody.case:visible');
      expect(await visible.count()).toBe(4);
      expect(await page.locator('section.section[data-section="3.12.4"]').isVisible()).toBe(false);
      expect(await shown(page.locator('#shown-count'))).toBe('4');

      // A failed case: statements, expected/actual, source, and a wire log collapsed until opened.
      const failed = page.locator(
        'tbody.case[data-id="4.3.2/puback-echoes-packet-id"][data-protocol="3.1.1"]',
      );
      expect(await failed.getAttribute('data-verdict')).toBe('failed');
      const statements = await failed.locator('.case-row code.statement').allInnerTexts();
      expect(statements).toContain('MQTT-2.3.1-6');
      // The catalogue's section and level appear as the statement's tooltip.
      expect(
        await failed.locator('.case-row code.statement', { hasText: 'MQTT-2.3.1-6' }).getAttribute('title'),
      ).toMatch(/^2\.3\.1 \(must\): /);
      expect(await shown(failed.locator('pre.expected'))).toBe('PUBACK {packetId: 4660}');
      expect(await shown(failed.locator('pre.actual'))).toBe('PUBACK {packetId: 4661}');
      expect(await shown(failed.locator('code.source'))).toMatch(/^specs\/4\.3\.2-[^:]+\.yaml:\d+$/);
      const log = failed.locator('details.wire-log');
      const logText = failed.locator('details.wire-log pre');
      expect(await logText.isVisible()).toBe(false);
      await log.locator('summary').click();
      expect(await logText.isVisible()).toBe(true);
      expect(await shown(logText)).toMatch(/c -> CONNECT/);
      expect(await shown(logText)).toMatch(/<- PUBACK \{packetId: 4661\}/);

      // Statement coverage per chapter, for both versions.
      const coverage = page.locator('table.coverage');
      expect(await shown(page.locator('#coverage-summary'))).toMatch(
        /^MQTT 3\.1\.1: \d+ of \d+ observable statements checked \(\d+%\), [1-9]\d* failing; MQTT 5\.0: /,
      );
      expect(await coverage.isVisible()).toBe(false);
      await page.locator('#coverage summary').click();
      expect(await coverage.isVisible()).toBe(true);
      expect(await coverage.locator('tr[data-chapter="3.12"]').count()).toBe(1);
      for (const p of ['3.1.1', '5.0']) {
        const total = (col: string) =>
          shown(coverage.locator(`tr.total td[data-protocol="${p}"][data-col="${col}"]`));
        expect(await total('checked')).toMatch(/^[1-9]\d* \/ [1-9]\d*$/);
        expect(Number(await total('failed'))).toBeGreaterThan(0);
        expect(Number(await total('passed'))).toBeGreaterThan(0);
      }

      // Filters: show passes, then only one section, then one protocol, then none.
      await page.locator('input[data-filter-verdict="passed"]').check();
      expect(await visible.count()).toBe(6);
      await page.locator('#filter-section').selectOption('3.12.4');
      expect(await visible.count()).toBe(2);
      expect(await page.locator('section.section[data-section="4.3.2"]').isVisible()).toBe(false);
      await page.locator('#filter-protocol').selectOption('5.0');
      expect(await visible.count()).toBe(1);
      await page.locator('#filter-section').selectOption('');
      await page.locator('#filter-protocol').selectOption('');
      await page.locator('input[data-filter-verdict="failed"]').uncheck();
      expect(await visible.count()).toBe(2);
      expect(await visible.evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')))).toEqual([
        'passed',
        'passed',
      ]);
      await page.locator('#filter-text').fill('no-such-case');
      expect(await visible.count()).toBe(0);
      expect(await page.locator('#no-match').isVisible()).toBe(true);

      // A link in the failure list clears the filters and opens that case's wire log.
      await page.locator('#failing a').first().click();
      expect(await visible.count()).toBe(6);
      expect(await page.locator('#no-match').isVisible()).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('a conformant run shows every case and says so', async () => {
    const r = await cli([`${broker.host}:${broker.port}`, '--only', '3.12.4', '--html', 'custom.html'], true);
    expect(r.code).toBe(0);
    // --html FILE is relative to the working folder; the default report.html is not written then.
    expect(existsSync(join(r.dir, 'report.html'))).toBe(false);
    const { page, errors } = await openFile(browser!, join(r.dir, 'custom.html'));
    try {
      expect(await shown(page.locator('#result'))).toBe('RESULT: conformant');
      expect(await page.locator('#result').getAttribute('data-outcome')).toBe('conformant');
      expect(await page.locator('tbody.case:visible').count()).toBe(2);
      expect(await page.locator('#failing').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('matrix: cases x brokers from JSON results, differences first, cells open to expected/actual', async () => {
    const qos1 = '4.3.2/puback-echoes-packet-id,4.3.2/qos1-delivery';
    const good = await cli([`${broker.host}:${broker.port}`, '--only', qos1]);
    const proxy = await startFaultyProxy(broker, 'ack-wrong-id');
    let bad: Awaited<ReturnType<typeof cli>>;
    try {
      bad = await cli([`127.0.0.1:${proxy.port}`, '--only', qos1, '--timeout', '500']);
    } finally {
      await proxy.close();
    }
    expect([good.code, bad.code]).toEqual([0, 1]);
    const dir = tempDir('mc-matrix-');
    const a = join(dir, 'reference.json');
    const b = join(dir, 'broken.json');
    copyFileSync(join(good.dir, 'report.json'), a);
    copyFileSync(join(bad.dir, 'report.json'), b);
    const out = join(dir, 'm.html');
    const m = await cli(['matrix', a, b, '--html', out]);
    expect(m.code).toBe(0);
    expect(m.out).toContain('4 case(s), 4 with differing verdicts');
    expect(m.out).toContain('broken: mqtt://127.0.0.1:');
    expect(m.out).toContain(`matrix: ${out}`);

    const { page, requests, errors } = await openFile(browser!, out);
    try {
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      expect(await page.locator('table.brokers tr').first().locator('th').allTextContents()).toEqual([
        '',
        'reference',
        'broken',
      ]);
      expect(await shown(page.locator('#differ-count'))).toBe('4');
      const differs = page.locator('#matrix-differs tr.case');
      expect(await differs.count()).toBe(4);
      const row = page.locator(
        '#matrix-differs tr.case[data-id="4.3.2/puback-echoes-packet-id"][data-protocol="5.0"]',
      );
      const cells = row.locator('td.cell');
      expect(await cells.evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')))).toEqual([
        'passed',
        'failed',
      ]);
      const actual = cells.nth(1).locator('pre.actual');
      expect(await actual.isVisible()).toBe(false);
      await cells.nth(1).locator('summary').click();
      expect(await shown(actual)).toMatch(/^PUBACK {packetId: 4661\b/);
      expect(await shown(cells.nth(1).locator('pre.wire'))).toMatch(/<- PUBACK/);
      expect(await page.locator('#matrix-same tr.case').count()).toBe(0);
      await page.locator('#filter-protocol').selectOption('3.1.1');
      expect(await shown(page.locator('#shown-count'))).toBe('2');
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }

    // A file that is not a results file is a usage error naming it.
    writeFileSync(join(dir, 'junk.json'), '{"tool":"other"}');
    const junk = await cli(['matrix', a, join(dir, 'junk.json')]);
    expect(junk.code).toBe(2);
    expect(junk.out).toContain('junk.json: not an mqtt-conform results file');
  });
});
