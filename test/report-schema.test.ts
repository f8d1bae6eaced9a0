import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import type { CliIo } from '../src/cli/main.js';
import { packageVersion } from '../src/scenario/paths.js';
import { startFaultyProxy } from './helpers/faulty-proxy.js';
import { assertValidReportFile, reportProblems, SCHEMA_FILE } from './helpers/report-schema.js';
import { type CliRun, runCli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * docs/report.schema.json against the results files real runs write: a run with failures, expected failures
 * and wire logs, an interrupted run, a run whose target died, and a merge of a sharded run. (Every other
 * results file a test writes into a tempDir folder is checked against the schema too, by temp-dir.ts.)
 */
let broker: { host: string; port: number; close(): Promise<void> };
let target: string;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  target = `127.0.0.1:${broker.port}`;
});
afterAll(async () => {
  await broker?.close();
});

function cli(args: string[], io: Partial<CliIo> = {}): Promise<CliRun> {
  return runCli(args, { prefix: 'mc-schema-', io });
}

const QOS1 = '4.3.2/puback-echoes-packet-id,4.3.2/qos1-delivery';

describe('docs/report.schema.json', () => {
  it('is a JSON Schema 2020-12 document whose $id carries its version', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/:\d+\.\d+\.\d+$/);
    expect(schema.title).toContain(schema.$id.split(':').pop());
  });

  it('accepts a run with failures, an expected failure, wire logs and sources', async () => {
    const proxy = await startFaultyProxy(broker, 'ack-wrong-id');
    try {
      const xfDir = tempDir('mc-schema-xf-');
      const xf = join(xfDir, 'expected.yaml');
      writeFileSync(xf, '- id: 4.3.2/qos1-delivery\n  reason: listed to carry a reason\n');
      const r = await cli([
        `127.0.0.1:${proxy.port}`,
        '--only',
        `${QOS1},3.12.4`,
        '--verbose',
        '--expected-failures',
        xf,
        '--timeout',
        '500',
      ]);
      expect(r.code).toBe(1);
      const json = assertValidReportFile(join(r.dir, 'report.json')) as {
        version: string;
        cases: Record<string, unknown>[];
      };
      expect(json.version).toBe(packageVersion());
      const failed = json.cases.find((c) => c.status === 'failed');
      expect(failed).toMatchObject({ message: expect.any(String), expected: expect.any(String) });
      expect(failed?.actual).toEqual(expect.any(String));
      expect(json.cases.every((c) => typeof c.wireLog === 'string' && typeof c.source === 'string')).toBe(
        true,
      );
      expect(json.cases.some((c) => c.expectedFailure === 'listed to carry a reason')).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('accepts a run of both versions with info and skipped cases (no --verbose: wire logs only where not passed)', async () => {
    const r = await cli([target, '--only', '3.11.3,4.7.3,6.0.0', '--timeout', '1500']);
    expect(r.code).toBe(0);
    const json = assertValidReportFile(join(r.dir, 'report.json')) as { cases: { status: string }[] };
    const statuses = new Set(json.cases.map((c) => c.status));
    expect(statuses).toContain('passed');
    expect(statuses).toContain('skipped');
    expect(statuses).toContain('info');
  });

  it('accepts an interrupted run (stoppedBy SIGINT)', async () => {
    let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
    // The signal comes when the first case is judged.
    const r = await cli([target, '--concurrency', '2'], {
      onSignal: (h) => {
        fire = h;
        return () => {
          fire = undefined;
        };
      },
      stdout: (text) => {
        if (/PASS/.test(text)) {
          fire?.('SIGINT');
          fire = undefined;
        }
      },
    });
    expect(r.code).toBe(130);
    const json = assertValidReportFile(join(r.dir, 'report.json'));
    expect(json.stoppedBy).toBe('SIGINT');
  });

  it('accepts a run whose target died (stoppedBy target-died, error cases)', async () => {
    const dying = await startBroker({ host: '127.0.0.1', port: 0 });
    // The broker goes once the first case is judged.
    let closing: Promise<void> | undefined;
    try {
      const r = await cli([`127.0.0.1:${dying.port}`, '--concurrency', '4', '--timeout', '1000'], {
        stdout: (text) => {
          if (!closing && /PASS/.test(text)) closing = dying.close();
        },
      });
      expect(r.code).toBe(3);
      const json = assertValidReportFile(join(r.dir, 'report.json')) as {
        stoppedBy: string;
        summary: { errors: number };
      };
      expect(json.stoppedBy).toBe('target-died');
      expect(json.summary.errors).toBeGreaterThan(0);
    } finally {
      await closing?.catch(() => undefined);
      await dying.close().catch(() => undefined);
    }
  });

  it('accepts the shards of a split run and their merge', async () => {
    const sel = ['--only', `${QOS1},3.12.4,3.8.4`, '--timeout', '1500'];
    const one = await cli([target, ...sel, '--shard', '1/2']);
    const two = await cli([target, ...sel, '--shard', '2/2']);
    const a = assertValidReportFile(join(one.dir, 'report.json'));
    const b = assertValidReportFile(join(two.dir, 'report.json'));
    expect([a.shard, b.shard]).toEqual(['1/2', '2/2']);
    const merged = await cli(['merge', join(one.dir, 'report.json'), join(two.dir, 'report.json')]);
    expect(merged.code).toBe(0);
    const json = assertValidReportFile(join(merged.dir, 'report.json'));
    expect(json.shard).toBeUndefined();
  });

  it('rejects what is not a results file of this version', () => {
    const valid = {
      tool: 'mqtt-conform',
      version: '0.1.0',
      target: '127.0.0.1:1883',
      protocols: ['3.1.1'],
      startedAt: '2026-11-28T01:30:00.000Z',
      durationMs: 10,
      summary: { total: 1, passed: 1, failed: 0, nonStrict: 0, info: 0, skipped: 0, errors: 0 },
      cases: [
        {
          id: '3.12.4/pingresp',
          protocol: '3.1.1',
          title: 't',
          section: '3.12.4',
          statements: ['MQTT-3.12.4-1'],
          level: 'must',
          status: 'passed',
          durationMs: 3,
          source: 'specs/3.12.4-pingreq-actions.yaml:3',
        },
      ],
      statements: [{ id: 'MQTT-3.12.4-1', protocol: '3.1.1', status: 'passed', cases: ['3.12.4/pingresp'] }],
    };
    expect(reportProblems(valid)).toEqual([]);
    const variants: [string, (r: typeof valid & Record<string, unknown>) => void][] = [
      ['an unknown top-level field', (r) => Object.assign(r, { extra: 1 })],
      ['an unknown case field', (r) => Object.assign(r.cases[0]!, { extra: 1 })],
      ['an unknown status', (r) => Object.assign(r.cases[0]!, { status: 'ok' })],
      ['an unknown protocol', (r) => Object.assign(r, { protocols: ['4.0'] })],
      ['a missing summary', (r) => Object.assign(r, { summary: undefined })],
      ['a bad start time', (r) => Object.assign(r, { startedAt: 'yesterday' })],
      ['an unknown stoppedBy', (r) => Object.assign(r, { stoppedBy: 'tired' })],
      ['a bad shard', (r) => Object.assign(r, { shard: '0/2' })],
      ['a wrong summary', (r) => Object.assign(r.summary, { passed: 0 })],
      ['a case outside its section', (r) => Object.assign(r.cases[0]!, { section: '3.12' })],
      ['a statement no case checks', (r) => r.statements.push({ ...r.statements[0]!, id: 'MQTT-1.1.1-1' })],
      ['a fractional duration', (r) => Object.assign(r, { durationMs: 1.5 })],
    ];
    for (const [what, change] of variants) {
      const r = structuredClone(valid) as typeof valid & Record<string, unknown>;
      change(r);
      expect(reportProblems(JSON.parse(JSON.stringify(r))), what).not.toEqual([]);
    }
  });
});
