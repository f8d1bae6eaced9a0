import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The published entry point: bin/mqtt-conform.mjs imports the build in dist/ (made by `npm install` / `npm ci`
 * through the `prepare` script), so `npx mqtt-conform` works straight after cloning.
 */
const root = join(import.meta.dirname, '..');

describe('bin/mqtt-conform.mjs', () => {
  it('runs the built CLI: --list prints the selected cases and exits 0', () => {
    expect(existsSync(join(root, 'dist/src/cli/main.js')), 'dist/ is missing: run `npm run build`').toBe(
      true,
    );
    const r = spawnSync(
      process.execPath,
      [join(root, 'bin/mqtt-conform.mjs'), '--list', '--only', '3.12.4'],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/3\.12\.4\/\S+/);
  });

  it('exits 2 with usage on an unknown option', () => {
    const r = spawnSync(process.execPath, [join(root, 'bin/mqtt-conform.mjs'), '--no-such-flag'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Usage: mqtt-conform');
  });
});
