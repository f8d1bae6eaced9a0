import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The published entry point: bin/mqtt-conform.mjs imports the build in dist/ (made by `npm install` / `npm ci`
 * through the `prepare` script), so `npx mqtt-conform` works straight after cloning.
 */
const root = join(import.meta.dirname, '..');

/** The newest modification time of the .ts files below `dir` (ms). */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

// A checkout whose sources changed since the last build (an edit, a pull) would test yesterday's CLI:
// rebuild first, as `npm install` did. A fresh install is up to date and skips this.
beforeAll(() => {
  const built = join(root, 'dist/src/cli/main.js');
  const stale =
    !existsSync(built) ||
    Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'reference-broker'))) >
      statSync(built).mtimeMs;
  if (!stale) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}, 130_000);

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
