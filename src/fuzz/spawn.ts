/**
 * `--spawn "cmd --port {port}"`: the fuzzer owns the broker process. It starts it on a free loopback port
 * (`{port}`; `{config}` is a generated mosquitto configuration listening there), detects an exit by code or
 * signal, keeps the tail of its stderr (sanitizer reports included), samples memory and open files, and
 * restarts it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const MAX_STDERR = 16 * 1024;

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  stderr: string;
}

export interface ResourceSample {
  at: number;
  rssKiB: number;
  fds: number;
}

export class SpawnError extends Error {
  readonly code = 'SPAWN_FAILED';
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** One run of the target process; `SpawnedTarget` restarts it. */
interface Instance {
  child: ChildProcess;
  port: number;
  exit?: ExitInfo;
  exited: Promise<ExitInfo>;
  stderr: string;
}

export class SpawnedTarget {
  readonly host = '127.0.0.1';
  port = 0;
  restarts = 0;
  private inst: Instance | undefined;
  private readonly dir: string;

  constructor(readonly command: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'mqtt-conform-fuzz-'));
  }

  get pid(): number | undefined {
    return this.inst?.child.pid;
  }

  /** The exit of the current instance, once it happened. */
  get exit(): ExitInfo | undefined {
    return this.inst?.exit;
  }

  get exited(): Promise<ExitInfo> | undefined {
    return this.inst?.exited;
  }

  alive(): boolean {
    return this.inst !== undefined && this.inst.exit === undefined;
  }

  stderrTail(): string {
    return this.inst?.stderr ?? '';
  }

  /** Starts the command on a free port and waits until it accepts TCP connections. */
  async start(timeoutMs = 15_000): Promise<void> {
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.startOnce(await freePort(), timeoutMs);
        return;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  private async startOnce(port: number, timeoutMs: number): Promise<void> {
    const config = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      config,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        'log_dest stderr',
        'log_type error',
        '',
      ].join('\n'),
    );
    const cmd = this.command.replaceAll('{port}', String(port)).replaceAll('{config}', config);
    const child = spawn('/bin/sh', ['-c', `exec ${cmd}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const inst: Instance = {
      child,
      port,
      stderr: '',
      exited: Promise.resolve({ code: null, signal: null, stderr: '' }),
    };
    inst.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        inst.exit = { code, signal, stderr: inst.stderr };
        resolve(inst.exit);
      });
      child.once('error', (err) => {
        inst.stderr += String(err);
        inst.exit = { code: null, signal: null, stderr: inst.stderr };
        resolve(inst.exit);
      });
    });
    child.stderr?.on('data', (b: Buffer) => {
      inst.stderr = (inst.stderr + b.toString('utf8')).slice(-MAX_STDERR);
    });
    this.inst = inst;
    this.port = port;
    const deadline = Date.now() + timeoutMs;
    while (!(await canConnect('127.0.0.1', port, 250))) {
      if (inst.exit)
        throw new SpawnError(
          `"${cmd}" exited (code ${inst.exit.code}, signal ${inst.exit.signal}) before listening:\n${inst.stderr}`,
        );
      if (Date.now() > deadline) {
        await this.stop();
        throw new SpawnError(
          `"${cmd}" did not accept connections on ${port} within ${timeoutMs} ms:\n${inst.stderr}`,
        );
      }
      await sleep(20);
    }
  }

  /** Stops the current instance (if running) and starts a new one. */
  async restart(): Promise<void> {
    await this.stop();
    this.restarts++;
    await this.start();
  }

  /** SIGTERM, then SIGKILL after 3 s; by pid only. */
  async stop(): Promise<void> {
    const inst = this.inst;
    if (!inst || inst.exit) return;
    inst.child.kill('SIGTERM');
    const t = setTimeout(() => inst.child.kill('SIGKILL'), 3000);
    await inst.exited;
    clearTimeout(t);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Resident memory and open files of the process (Linux /proc), undefined elsewhere or when gone. */
  sample(): ResourceSample | undefined {
    const pid = this.pid;
    if (pid === undefined || !this.alive()) return undefined;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = /VmRSS:\s+(\d+)/.exec(status);
      const fds = readdirSync(`/proc/${pid}/fd`).length;
      return { at: performance.now(), rssKiB: rss ? Number(rss[1]) : 0, fds };
    } catch {
      return undefined;
    }
  }
}

/**
 * Growth that does not level off: after the first quarter (warm-up), open files grew by 64 or more, or
 * resident memory by 256 MiB and to twice the baseline, and most samples went up.
 */
export function leakVerdict(samples: readonly ResourceSample[]): string | undefined {
  if (samples.length < 8) return undefined;
  const s = samples.slice(Math.floor(samples.length / 4));
  const a = s[0]!;
  const b = s[s.length - 1]!;
  const rising = (key: 'rssKiB' | 'fds'): number => {
    let up = 0;
    for (let i = 1; i < s.length; i++) if (s[i]![key] >= s[i - 1]![key]) up++;
    return up / (s.length - 1);
  };
  const secs = ((b.at - a.at) / 1000).toFixed(1);
  if (b.fds - a.fds >= 64 && rising('fds') >= 0.8) {
    return `open files grew from ${a.fds} to ${b.fds} over ${secs} s and kept growing`;
  }
  // A garbage-collected broker's resident memory grows in steps until its collector catches up (the reference
  // broker's grows by 85 MiB under fuzzing with a steady heap): only growth past 256 MiB and twice the
  // baseline counts.
  if (b.rssKiB - a.rssKiB >= 256 * 1024 && b.rssKiB >= a.rssKiB * 2 && rising('rssKiB') >= 0.8) {
    return `resident memory grew from ${Math.round(a.rssKiB / 1024)} MiB to ${Math.round(b.rssKiB / 1024)} MiB over ${secs} s and kept growing`;
  }
  return undefined;
}
