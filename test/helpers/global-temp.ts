import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * vitest globalSetup: the whole test run gets one private temporary folder (TMPDIR, TMP and TEMP point into it,
 * so `os.tmpdir()` in every test worker and every process a test starts lands there). When the run ends,
 * whatever a test left behind is named on stderr and the folder is removed with it: `npm test` leaves nothing
 * in the system temp folder, and a test that forgets to clean up is pointed out. With
 * MQTT_CONFORM_STRICT_TEMP=1 a leftover fails the run. Processes still running with a path inside the folder
 * on their command line (a mosquitto with its config there) are killed and named too.
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
    const processes = killProcessesUsing(root);
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
    const messages: string[] = [];
    if (processes.length > 0) {
      messages.push(
        `tests left ${processes.length} process(es) running (killed now): ${processes.join('; ')}`,
      );
    }
    if (left.length > 0) {
      messages.push(
        `tests left ${left.length} temporary item(s) behind (removed now): ${left.sort().join(', ')}`,
      );
    }
    if (messages.length > 0) {
      if (process.env.MQTT_CONFORM_STRICT_TEMP === '1') throw new Error(messages.join('\n'));
      for (const m of messages) process.stderr.write(`warning: ${m}\n`);
    }
  };
}

/**
 * Processes whose command line names a path inside `root` (a mosquitto whose config file is there, a broker a
 * test spawned with files there): the run's own, still running after every test file ended, e.g. because a
 * worker was killed. They are killed; returns `pid command` of each. Linux only (/proc); elsewhere none.
 */
function killProcessesUsing(root: string): string[] {
  if (!existsSync('/proc')) return [];
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // gone, or not ours to read
    }
    if (!cmd.includes(`${root}/`)) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      found.push(`${entry} ${cmd.slice(0, 120)}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
