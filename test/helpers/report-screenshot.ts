/**
 * Takes the screenshot of an HTML report that the README shows (docs/html-report.png):
 *
 *   npx mqtt-conform 127.0.0.1:1883 --reports /tmp/r        # e.g. against mosquitto
 *   npx tsx test/helpers/report-screenshot.ts /tmp/r/report.html docs/html-report.png [--open-first]
 *
 * --open-first opens the first failing case's wire log, so that the picture shows one.
 */
import { resolve } from 'node:path';
import { launchChromium, openFile } from './chromium.js';

const [input, output, ...flags] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: report-screenshot.ts REPORT.html OUT.png [--open-first]');
  process.exit(2);
}
const browser = await launchChromium();
try {
  const { page, errors } = await openFile(browser, resolve(input));
  if (flags.includes('--open-first')) {
    await page
      .locator('tbody.case[data-verdict="failed"] details.wire-log')
      .first()
      .evaluate((d) => {
        d.setAttribute('open', '');
      });
  }
  await page.setViewportSize({ width: 1280, height: 1500 });
  await page.screenshot({ path: resolve(output), fullPage: false });
  if (errors.length > 0) console.error(`page errors: ${errors.join('; ')}`);
  console.log(`wrote ${resolve(output)}`);
} finally {
  await browser.close();
}
