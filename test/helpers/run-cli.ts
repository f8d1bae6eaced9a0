import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliIo, main } from '../../src/cli/main.js';
import type { RunReport } from '../../src/report/model.js';
import { tempDir } from './temp-dir.js';

/** What an in-process run of the command line printed and wrote. */
export interface CliRun {
  code: number;
  /** The reports folder (`--reports`), a fresh temporary folder unless given. */
  dir: string;
  out: string;
  err: string;
  /** stdout and stderr as they came, interleaved. */
  all: string;
  /** The results file the run wrote (`dir/report.json`), or undefined when there is none. */
  report(): RunReport | undefined;
}

export interface CliRunOptions {
  /** Prefix of the temporary reports folder. */
  prefix?: string;
  /** The reports folder to use instead of a temporary one; `false`: no `--reports` argument at all. */
  reports?: string | false;
  /** Called with each piece of stdout as it is written (to act on progress: a signal, a broker kill). */
  onStdout?: (text: string) => void;
  /** Replaces parts of the I/O (env, onSignal, exitNow, isTTY...). */
  io?: Partial<CliIo>;
}

/**
 * Runs `mqtt-conform ARGS --reports DIR` in this process (`main`), capturing its output; no TTY, and signal
 * handlers are not installed unless `io.onSignal` says otherwise.
 */
export async function runCli(args: string[], opts: CliRunOptions = {}): Promise<CliRun> {
  const dir = opts.reports === false ? '' : (opts.reports ?? tempDir(opts.prefix ?? 'mc-cli-'));
  let out = '';
  let err = '';
  let all = '';
  const code = await main([...args, ...(dir ? ['--reports', dir] : [])], {
    stdout: (t) => {
      out += t;
      all += t;
      opts.onStdout?.(t);
    },
    stderr: (t) => {
      err += t;
      all += t;
    },
    isTTY: false,
    onSignal: () => () => undefined,
    ...opts.io,
  });
  return {
    code,
    dir,
    out,
    err,
    all,
    report() {
      if (!dir) return undefined;
      try {
        return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as RunReport;
      } catch {
        return undefined;
      }
    },
  };
}
