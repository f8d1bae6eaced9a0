import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { checkReportsUnder } from './report-schema.js';

/** Folders made by tempDir in this test file, removed when the file's tests are done. */
const made: string[] = [];

afterAll(() => {
  const dirs = made.splice(0);
  try {
    // Every results file a test wrote must match the published schema (docs/report.schema.json).
    for (const dir of dirs) checkReportsUnder(dir);
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});

/** A new folder in the system temp folder, removed after the test file (import this module at top level). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
