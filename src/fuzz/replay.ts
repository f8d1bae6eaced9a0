/**
 * `mqtt-conform replay FILE [target]`: runs a saved finding (a scenario written by the fuzzer) with the
 * scenario runner and says whether it reproduces: any verdict other than passed or skipped does, and so does
 * a spawned target that exits.
 */
import { existsSync } from 'node:fs';
import { startBundledBroker } from '../bundled-broker.js';
import type { CaseResult } from '../report/model.js';
import type { Target } from '../scenario/context.js';
import { loadScenarios } from '../scenario/loader.js';
import { runCases } from '../scenario/runner.js';
import { planCases } from '../scenario/select.js';
import { type ExitInfo, SpawnedTarget } from './spawn.js';

export interface ReplayOptions {
  target?: Target;
  /** How the target is named in the result (default host:port). */
  display?: string;
  spawn?: string;
  stepTimeoutMs?: number;
}

export interface ReplayResult {
  reproduced: boolean;
  results: CaseResult[];
  exit?: ExitInfo;
  target: string;
}

/** FILE may be the scenario or its `.hex` (the scenario next to it is used). */
export function scenarioPath(file: string): string {
  if (file.endsWith('.hex')) {
    const yaml = `${file.slice(0, -4)}.yaml`;
    if (existsSync(yaml)) return yaml;
  }
  return file;
}

export async function replayFinding(file: string, opts: ReplayOptions): Promise<ReplayResult> {
  const files = loadScenarios([scenarioPath(file)]);
  const planned = planCases(files, { protocols: ['3.1.1', '5.0'], only: [], exclude: [] });
  let spawned: SpawnedTarget | undefined;
  let bundled: { close(): Promise<void> } | undefined;
  let target = opts.target;
  let display: string;
  if (opts.spawn) {
    spawned = new SpawnedTarget(opts.spawn);
    await spawned.start();
    target = { host: spawned.host, port: spawned.port };
    display = `spawned "${opts.spawn}" on ${spawned.port}`;
  } else if (!target) {
    const b = await startBundledBroker();
    bundled = b;
    target = { host: b.host, port: b.port };
    display = b.display;
  } else display = opts.display ?? `${target.host}:${target.port}`;
  try {
    const outcome = await runCases(planned, {
      target,
      concurrency: 1,
      stepTimeoutMs: opts.stepTimeoutMs ?? 2000,
    });
    let exit: ExitInfo | undefined;
    if (spawned) {
      await Promise.race([spawned.exited, new Promise((r) => setTimeout(r, 100))]);
      exit = spawned.exit;
    }
    const bad = outcome.results.some((r) => r.status !== 'passed' && r.status !== 'skipped');
    return {
      reproduced: bad || exit !== undefined || outcome.stoppedBy === 'target-died',
      results: outcome.results,
      ...(exit ? { exit } : {}),
      target: display,
    };
  } finally {
    await spawned?.dispose();
    await bundled?.close();
  }
}
