import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { canConnect, freePort } from './free-port.js';

export interface RunningMosquitto {
  host: string;
  port: number;
  pid: number;
  /** What mosquitto printed so far (stdout and stderr), for failure messages. */
  logs(): string;
  /** Kills the broker by pid, waits for it to exit and removes its temporary directory. */
  stop(): Promise<void>;
}

export class MosquittoStartError extends Error {
  readonly code = 'MOSQUITTO_START_FAILED';
  override readonly name = 'MosquittoStartError';
}

const STANDARD_PATHS = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/opt/homebrew/sbin/mosquitto'];
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const MAX_LOG_CHARS = 64 * 1024;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of the mosquitto binary: $MOSQUITTO_BIN, the Debian/Homebrew locations, then $PATH. */
export function findMosquitto(): string | undefined {
  const fromEnv = process.env.MOSQUITTO_BIN;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const candidates = [...STANDARD_PATHS, ...pathDirs.map((d) => join(d, 'mosquitto'))];
  return candidates.find(isExecutable);
}

export function mosquittoAvailable(): boolean {
  return findMosquitto() !== undefined;
}

/** Why mosquitto tests are skipped, for `describe.skipIf(...)` titles and logs. */
export const MOSQUITTO_MISSING =
  'mosquitto not found (install it with `apt-get install -y mosquitto`, or set MOSQUITTO_BIN)';

/**
 * Starts mosquitto on a free 127.0.0.1 port with a generated config (anonymous, no persistence, logging to
 * stdout) and resolves once the port accepts connections. Retries on another port if the first one was
 * taken in the meantime.
 */
export interface MosquittoOptions {
  /**
   * Config lines in place of `allow_anonymous true` (users, ACLs, more listeners...), written with the files
   * they need into `dir`, the broker's temporary folder (removed on stop); `port` is the main listener's.
   */
  configure?: (dir: string, port: number) => Promise<string[]> | string[];
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<RunningMosquitto> {
  const bin = findMosquitto();
  if (!bin) throw new MosquittoStartError(MOSQUITTO_MISSING);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(bin, await freePort(), opts);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function startOnce(bin: string, port: number, opts: MosquittoOptions): Promise<RunningMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'mqtt-conform-mosquitto-'));
  const configPath = join(dir, 'mosquitto.conf');
  let extra: string[];
  try {
    extra = opts.configure ? await opts.configure(dir, port) : ['allow_anonymous true'];
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  await writeFile(
    configPath,
    [
      `listener ${port} 127.0.0.1`,
      ...extra,
      'persistence false',
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  trackForExit(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < MAX_LOG_CHARS) output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited = true;
      resolve();
    });
  });
  const cleanup = async (): Promise<void> => {
    await killAndWait(child, exitPromise, () => exited);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  let backoff = 10;
  for (;;) {
    if (exited) {
      await cleanup();
      const why = spawnError ? spawnError.message : `exited with code ${child.exitCode}`;
      throw new MosquittoStartError(`mosquitto ${why} before listening on ${port}:\n${output}`);
    }
    if (await canConnect('127.0.0.1', port, 250)) break;
    if (Date.now() > deadline) {
      await cleanup();
      throw new MosquittoStartError(
        `mosquitto did not accept connections on ${port} within ${START_TIMEOUT_MS} ms:\n${output}`,
      );
    }
    // Wake early if the process dies; otherwise retry after a short, growing backoff.
    await Promise.race([sleep(backoff), exitPromise]);
    backoff = Math.min(backoff * 2, 200);
  }

  const pid = child.pid;
  if (pid === undefined) {
    await cleanup();
    throw new MosquittoStartError('mosquitto started without a pid');
  }
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    pid,
    logs: () => output,
    stop() {
      stopped ??= cleanup();
      return stopped;
    },
  };
}

/** Brokers still running; killed if the test process exits without stopping them (e.g. a worker crash). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function trackForExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) if (c.pid !== undefined) c.kill('SIGKILL');
  });
}

async function killAndWait(
  child: ChildProcess,
  exit: Promise<void>,
  hasExited: () => boolean,
): Promise<void> {
  if (hasExited() || child.pid === undefined) return;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exit.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut && !hasExited()) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      return;
    }
    await exit;
  }
}
