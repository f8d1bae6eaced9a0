import { readFileSync } from 'node:fs';
import type { CaseResult, RunReport, Verdict } from './model.js';

export class ResultsFileError extends Error {
  readonly code = 'RESULTS_FILE_INVALID';
  override readonly name = 'ResultsFileError';
}

const VERDICTS = new Set<Verdict>(['passed', 'failed', 'non-strict', 'info', 'skipped', 'error']);
const LEVELS = new Set(['must', 'should', 'info']);
const PROTOCOLS = new Set(['3.1.1', '5.0']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a report.json written by mqtt-conform back into the run model; throws ResultsFileError. */
export function parseJsonReport(text: string, file = 'report.json'): RunReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ResultsFileError(`${file}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const fail = (what: string): never => {
    throw new ResultsFileError(`${file}: ${what}`);
  };
  if (!isObject(data) || data.tool !== 'mqtt-conform')
    fail('not an mqtt-conform results file (no "tool": "mqtt-conform")');
  const d = data as Record<string, unknown>;
  if (!Array.isArray(d.cases)) fail('"cases" must be a list');
  const str = (o: Record<string, unknown>, k: string, where: string): string => {
    const v = o[k];
    if (typeof v !== 'string') fail(`${where}: "${k}" must be a string`);
    return v as string;
  };
  const cases = (d.cases as unknown[]).map((raw, i): CaseResult => {
    const where = `cases[${i}]`;
    if (!isObject(raw)) fail(`${where} must be an object`);
    const o = raw as Record<string, unknown>;
    const protocol = str(o, 'protocol', where);
    if (!PROTOCOLS.has(protocol)) fail(`${where}: unknown protocol "${protocol}"`);
    const status = str(o, 'status', where);
    if (!VERDICTS.has(status as Verdict)) fail(`${where}: unknown status "${status}"`);
    const level = str(o, 'level', where);
    if (!LEVELS.has(level)) fail(`${where}: unknown level "${level}"`);
    if (!Array.isArray(o.statements) || !o.statements.every((s) => typeof s === 'string')) {
      fail(`${where}: "statements" must be a list of statement ids`);
    }
    const c: CaseResult = {
      id: str(o, 'id', where),
      protocol: protocol as CaseResult['protocol'],
      title: str(o, 'title', where),
      section: str(o, 'section', where),
      statements: o.statements as string[],
      level: level as CaseResult['level'],
      status: status as Verdict,
      durationMs: typeof o.durationMs === 'number' ? o.durationMs : 0,
    };
    for (const k of [
      'message',
      'expected',
      'actual',
      'wireLog',
      'source',
      'expectedFailure',
      'finding',
    ] as const) {
      if (o[k] !== undefined) c[k] = str(o, k, where);
    }
    return c;
  });
  const protocols = Array.isArray(d.protocols)
    ? (d.protocols.filter((p) => typeof p === 'string' && PROTOCOLS.has(p)) as RunReport['protocols'])
    : [...new Set(cases.map((c) => c.protocol))];
  const report: RunReport = {
    tool: 'mqtt-conform',
    version: typeof d.version === 'string' ? d.version : '0.0.0',
    target: typeof d.target === 'string' ? d.target : file,
    protocols,
    startedAt: typeof d.startedAt === 'string' ? d.startedAt : new Date(0).toISOString(),
    durationMs: typeof d.durationMs === 'number' ? d.durationMs : 0,
    cases,
  };
  if (typeof d.stoppedBy === 'string') report.stoppedBy = d.stoppedBy;
  if (typeof d.shard === 'string') report.shard = d.shard;
  if (typeof d.selection === 'string') report.selection = d.selection;
  if (Array.isArray(d.required)) {
    const required = d.required.filter((p) => typeof p === 'string' && PROTOCOLS.has(p));
    if (required.length > 0) report.required = required as RunReport['protocols'];
  }
  return report;
}

export function readJsonReport(file: string): RunReport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ResultsFileError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseJsonReport(text, file);
}
