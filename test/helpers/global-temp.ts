import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * vitest globalSetup: the whole test run gets one private temporary folder (TMPDIR, TMP and TEMP point into it,
 * so `os.tmpdir()` in every test worker and every process a test starts lands there). When the run ends,
 * whatever a test left behind is named on stderr and the folder is removed with it: `npm test` leaves nothing
 * in the system temp folder, and a test that forgets to clean up is pointed out. With
 * MQTT_CONFORM_STRICT_TEMP=1 (as in CI) a leftover fails the run.
 */
export default function setup(): () => void {
  const previous = { TMPDIR: process.env.TMPDIR, TMP: process.env.TMP, TEMP: process.env.TEMP };
  const root = mkdtempSync(join(tmpdir(), 'mqtt-conform-tests-'));
  // Searchable by other users: mosquitto started as root drops to its own user before it reads the password,
  // ACL and certificate files the tests put in folders below.
  chmodSync(root, 0o755);
  process.env.TMPDIR = root;
  process.env.TMP = root;
  process.env.TEMP = root;
  return () => {
    let left: string[] = [];
    try {
      // Caches of tools the tests start (tsx's compile cache `tsx-<uid>`) are not the tests' leftovers.
      left = readdirSync(root).filter((name) => !/^tsx-\d+$/.test(name));
    } catch {
      // already gone
    }
    rmSync(root, { recursive: true, force: true });
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (left.length > 0) {
      const message = `tests left ${left.length} temporary item(s) behind (removed now): ${left.sort().join(', ')}`;
      if (process.env.MQTT_CONFORM_STRICT_TEMP === '1') throw new Error(message);
      process.stderr.write(`warning: ${message}\n`);
    }
  };
}
