import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startBroker } from '../reference-broker/index.js';
import { startAedes } from './helpers/aedes.js';
import { startFaultyProxy } from './helpers/faulty-proxy.js';
import { assertValidReportFile } from './helpers/report-schema.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';

/** CI integration end to end: GitHub annotations from a real failing run, --require against a 3.1.1-only broker. */
let broker: { host: string; port: number; close(): Promise<void> };

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await broker?.close();
});

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; dir: string; stdout: string; stderr: string }> {
  // Never the real GITHUB_STEP_SUMMARY of a CI that runs these tests.
  const r = await runCli(args, { prefix: 'mc-ci-', io: { env } });
  return { code: r.code, dir: r.dir, stdout: r.out, stderr: r.err };
}

const QOS1 = '4.3.2/puback-echoes-packet-id,4.3.2/qos1-delivery';

/** The line of `- id: <slug>` in a scenario file. */
function lineOf(file: string, slug: string): number {
  const lines = readFileSync(join(process.cwd(), file), 'utf8').split('\n');
  return lines.findIndex((l) => l.trim() === `- id: ${slug}`) + 1;
}

describe('--reporter github', () => {
  it('prints one ::error per failing case at its scenario file and line, and writes the job summary', async () => {
    const summary = join(tempDir('mc-ci-summary-'), 'summary.md');
    writeFileSync(summary, '# earlier step\n');
    const proxy = await startFaultyProxy(broker, 'ack-wrong-id');
    let r: Awaited<ReturnType<typeof cli>>;
    try {
      r = await cli([`127.0.0.1:${proxy.port}`, '--only', QOS1, '--timeout', '500', '--reporter', 'github'], {
        GITHUB_STEP_SUMMARY: summary,
      });
    } finally {
      await proxy.close();
    }
    expect(r.code).toBe(1);
    const annotations = r.stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(annotations).toHaveLength(4);
    const file = 'specs/4.3.2-qos-1.yaml';
    for (const [slug, protocol] of [
      ['puback-echoes-packet-id', '3.1.1'],
      ['puback-echoes-packet-id', '5.0'],
      ['qos1-delivery', '3.1.1'],
      ['qos1-delivery', '5.0'],
    ]) {
      const line = lineOf(file, slug!);
      expect(line).toBeGreaterThan(0);
      const a = annotations.find((x) => x.includes(`title=4.3.2/${slug} [MQTT ${protocol}] failed::`));
      expect(a, `${slug} ${protocol}`).toBeDefined();
      expect(a!.startsWith(`::error file=${file},line=${line},title=`)).toBe(true);
      // One line per annotation: newlines in the text are escaped.
      expect(a).toContain('%0AStatements: ');
    }
    const puback = annotations.find((x) => x.includes('puback-echoes-packet-id [MQTT 3.1.1]'))!;
    expect(puback).toContain('%0AExpected: PUBACK {packetId: 4660}%0AActual:   PUBACK {packetId: 4661}');
    // The annotations come after the console summary, before the report paths.
    expect(r.stdout.indexOf('RESULT:')).toBeLessThan(r.stdout.indexOf('::error'));
    expect(r.stdout.indexOf('::error')).toBeLessThan(r.stdout.indexOf('reports: '));
    // The job summary is appended to: the result and a row per failing case.
    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('# earlier step\n### MQTT conformance: mqtt://127.0.0.1:')).toBe(true);
    expect(md).toContain('**RESULT: 4 case(s) not conformant** — 4 case(s): 0 passed, 4 failed');
    expect(md).toContain('| case | MQTT | statements | expected | actual |');
    expect(md).toMatch(
      /\| `4\.3\.2\/puback-echoes-packet-id` \(specs\/4\.3\.2-qos-1\.yaml:\d+\) \| 3\.1\.1 \| [^|]*MQTT-2\.3\.1-6[^|]* \| PUBACK \{packetId: 4660\} \| PUBACK \{packetId: 4661[^|]*\|/,
    );
    expect(md.split('\n').filter((l) => l.startsWith('| `'))).toHaveLength(4);
  });

  it('a passing run prints none; an unknown reporter is a usage error', async () => {
    const ok = await cli([`${broker.host}:${broker.port}`, '--only', QOS1, '--reporter', 'github']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toContain('::');
    const bad = await cli([`${broker.host}:${broker.port}`, '--reporter', 'teamcity']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--reporter: expected console or github, got "teamcity"');
  });
});

describe('--require', () => {
  it('a version the broker declines entirely fails the run only when required', async () => {
    const aedes = await startAedes();
    try {
      const target = `127.0.0.1:${aedes.port}`;
      const plain = await cli([target, '--only', QOS1]);
      expect(plain.code).toBe(0);
      const json = JSON.parse(readFileSync(join(plain.dir, 'report.json'), 'utf8'));
      expect(
        json.cases
          .filter((c: { protocol: string }) => c.protocol === '5.0')
          .map((c: { status: string }) => c.status),
      ).toEqual(['skipped', 'skipped']);

      const required = await cli([target, '--only', QOS1, '--require', '3.1.1,5.0']);
      expect(required.code).toBe(1);
      const unmet =
        /MQTT 5\.0 is required \(--require\) but all 2 of its case\(s\) were skipped \(.*declines MQTT 5\.0/;
      expect(required.stdout).toMatch(new RegExp(`requirement not met: ${unmet.source}`));
      expect(required.stdout).toContain('RESULT: required version(s) not judged: MQTT 5.0\n');
      expect(required.stdout).not.toContain('MQTT 3.1.1 is required');
      // Every report says why the run failed, though every case that ran passed.
      const report = assertValidReportFile(join(required.dir, 'report.json'));
      expect(report.required).toEqual(['3.1.1', '5.0']);
      expect(report.unmetRequirements).toHaveLength(1);
      expect((report.unmetRequirements as string[])[0]).toMatch(unmet);
      const junit = readFileSync(join(required.dir, 'junit.xml'), 'utf8');
      expect(junit).toMatch(
        /<testsuite name="requirements \(--require\)"[^>]* tests="2" failures="1" errors="0"/,
      );
      expect(junit).toMatch(
        /<testcase classname="mqtt-conform.requirements" name="MQTT 5.0 judged"[^>]*>\s*<failure/,
      );
      expect(junit).toMatch(
        /<testcase classname="mqtt-conform.requirements" name="MQTT 3.1.1 judged"[^>]*\/>/,
      );
      const html = readFileSync(join(required.dir, 'report.html'), 'utf8');
      expect(html).toContain('Requirement not met: MQTT 5.0 is required (--require)');
      expect(html).toContain('data-outcome="not-conformant"');

      const only311 = await cli([target, '--only', QOS1, '--require', '3.1.1']);
      expect(only311.code).toBe(0);
      expect(only311.stdout).toContain('RESULT: conformant\n');
      const met = assertValidReportFile(join(only311.dir, 'report.json'));
      expect(met.required).toEqual(['3.1.1']);
      expect(met.unmetRequirements).toBeUndefined();
    } finally {
      await aedes.stop();
    }
  });

  it('a version left out by --protocol is not judged; bad values are usage errors', async () => {
    const target = `${broker.host}:${broker.port}`;
    const r = await cli([target, '--only', QOS1, '--protocol', '3.1.1', '--require', '5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('requirement not met: MQTT 5.0 is required (--require) but no case of it ran');
    const bad = await cli([target, '--require', '3.1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--require: expected 3.1.1 or 5.0, got "3.1"');
  });
});

describe('docs/ci.md', () => {
  it('its pipelines are valid YAML and their mqtt-conform commands parse', async () => {
    const text = readFileSync(join(process.cwd(), 'docs', 'ci.md'), 'utf8');
    const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const commands: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') {
        for (const line of v.split('\n')) if (line.includes('mqtt-conform ')) commands.push(line);
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    for (const b of blocks) walk(parse(b));
    expect(commands.length).toBeGreaterThanOrEqual(4);
    const xf = join(tempDir('mc-cidoc-'), 'xf.yaml');
    writeFileSync(xf, '- id: 4.3.2/qos1-delivery\n  reason: documented example\n');
    for (const command of commands) {
      const args = command
        .replace(/^.*?mqtt-conform /, '')
        .replace(/\s*\|\|\s*true\s*$/, '')
        .replace(/\$\{\{ matrix\.shard \}\}/g, '1')
        .trim()
        .split(/\s+/);
      if (args[0] === 'merge') {
        // The merge options: parsed up to reading the (absent) files.
        const r = await cli([...args.map((a) => (a.includes('*') ? join(xf, '..', 'none.json') : a))]);
        expect(r.stderr, command).toMatch(/none\.json: ENOENT/);
        continue;
      }
      const mapped = args.map((a) =>
        /^mqtt:\/\//.test(a)
          ? `${broker.host}:${broker.port}`
          : a.endsWith('expected-failures.yaml')
            ? xf
            : a,
      );
      const r = await cli([...mapped, '--list']);
      expect(r.code, `${command}\n${r.stderr}`).toBe(0);
    }
  });
});
