import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import { loadExpectedFailures } from '../src/scenario/expected-failures.js';
import { startFaultyProxy } from './helpers/faulty-proxy.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * --shard i/n and `mqtt-conform merge`: the shards of a split run, run at once against one broker and merged,
 * give the same cases, verdicts, reports and exit code as the unsharded run.
 */
let broker: { host: string; port: number; close(): Promise<void> };
let proxy: { host: string; port: number; close(): Promise<void> };

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  // A broker that breaks a rule, so that the runs have failures and exit 1.
  proxy = await startFaultyProxy(broker, 'ack-wrong-id');
});
afterAll(async () => {
  await proxy?.close();
  await broker?.close();
});

async function cli(args: string[], reports?: string): Promise<{ code: number; dir: string; out: string }> {
  const r = await runCli([...args, ...(args[0] === 'merge' ? [] : ['--timeout', '1500'])], {
    prefix: 'mc-shard-',
    ...(reports ? { reports } : {}),
  });
  return { code: r.code, dir: r.dir, out: r.all };
}

/** Two timing cases, four QoS 1 cases (failing through the proxy) and the PINGREQ section. */
const SELECTION = [
  '--only',
  '3.1.2/keep-alive-timeout,3.1.2/any-packet-resets-keep-alive,4.3.2/puback-echoes-packet-id,4.3.2/qos1-delivery,3.12.4',
];

interface JsonCase {
  id: string;
  protocol: string;
  status: string;
  level: string;
  statements: string[];
  source: string;
  expected?: string;
  actual?: string;
}

function json(dir: string) {
  return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
}

/** What must not depend on the split: everything but times and wire logs. */
function verdicts(report: { cases: JsonCase[] }) {
  return report.cases.map((c) => ({
    id: c.id,
    protocol: c.protocol,
    status: c.status,
    level: c.level,
    statements: c.statements,
    source: c.source,
    expected: c.expected,
    actual: c.actual,
  }));
}

/** The JUnit structure: suite names with their counts, and test case names in order. */
function junitShape(dir: string): string[] {
  const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
  const suites = [
    ...xml.matchAll(/<testsuite name="([^"]+)" tests="(\d+)" failures="(\d+)" errors="(\d+)"/g),
  ].map((m) => `${m[1]} ${m[2]}/${m[3]}/${m[4]}`);
  const cases = [...xml.matchAll(/<testcase [^>]*name="([^"]+)"/g)].map((m) => m[1]!);
  return [...suites, ...cases];
}

describe('sharded runs merged', () => {
  it('equal the unsharded run: cases, verdicts, order, summary, statements, JUnit and exit code', async () => {
    const target = `127.0.0.1:${proxy.port}`;
    const [whole, s1, s2] = await Promise.all([
      cli([target, ...SELECTION]),
      cli([target, ...SELECTION, '--shard', '1/2']),
      cli([target, ...SELECTION, '--shard', '2/2']),
    ]);
    expect(whole.code, whole.out).toBe(1);
    const a = json(s1.dir);
    const b = json(s2.dir);
    expect([a.shard, b.shard]).toEqual(['1/2', '2/2']);
    // Each shard has one of the two timing cases, and the shards are disjoint.
    const ids = (r: { cases: JsonCase[] }) => new Set(r.cases.map((c) => c.id));
    for (const r of [a, b]) {
      expect([...ids(r)].filter((id) => id.startsWith('3.1.2/'))).toHaveLength(1);
    }
    expect([...ids(a)].filter((id) => ids(b).has(id))).toEqual([]);

    const mergedDir = tempDir('mc-merged-');
    const one = join(s1.dir, 'report.json');
    const two = join(s2.dir, 'report.json');
    // Given in either order: the result is the same.
    const merged = await cli(['merge', two, one], mergedDir);
    expect(merged.code).toBe(whole.code);
    expect(merged.out).toContain('mqtt-conform merge: 2 result file(s)');
    expect(merged.out).toMatch(/RESULT: 4 case\(s\) not conformant/);
    const m = json(mergedDir);
    const w = json(whole.dir);
    expect(m.shard).toBeUndefined();
    expect(verdicts(m)).toEqual(verdicts(w));
    expect(m.summary).toEqual(w.summary);
    expect(m.statements).toEqual(w.statements);
    expect(m.protocols).toEqual(w.protocols);
    expect(m.target).toBe(w.target);
    expect(junitShape(mergedDir)).toEqual(junitShape(whole.dir));
    const html = readFileSync(join(mergedDir, 'report.html'), 'utf8');
    expect(html.match(/<tbody class="case"/g)).toHaveLength(w.cases.length);
    expect(html).toContain('RESULT: 4 case(s) not conformant');
  });

  it("merge --write-expected-failures writes the baseline the unsharded run would, keeping the shards' reasons", async () => {
    const target = `127.0.0.1:${proxy.port}`;
    const dir = tempDir('mc-shard-xf-');
    const whole = join(dir, 'whole.yaml');
    const merged = join(dir, 'merged.yaml');
    const again = join(dir, 'again.yaml');
    const run = (extra: string[]) =>
      Promise.all(['1/2', '2/2'].map((s) => cli([target, ...SELECTION, '--shard', s, ...extra])));
    const [single, shards] = await Promise.all([
      cli([target, ...SELECTION, '--write-expected-failures', whole]),
      run([]),
    ]);
    expect(single.code).toBe(1);
    const files = shards.map((p) => join(p.dir, 'report.json'));
    const m = await cli(['merge', ...files, '--write-expected-failures', merged]);
    expect(m.code).toBe(1);
    const ids = new Set<string>(json(single.dir).cases.map((c: JsonCase) => c.id));
    const shape = (file: string) =>
      loadExpectedFailures(file, ids).map((e) => `${e.id} ${e.protocol ?? 'both'}`);
    expect(shape(merged)).toEqual(shape(whole));
    expect(shape(merged).length).toBeGreaterThan(0);
    // Shards run with the baseline carry its reasons; a merge writing a new file keeps them.
    writeFileSync(
      whole,
      readFileSync(whole, 'utf8').replaceAll(/reason: "recorded [^"]*"/g, 'reason: "known"'),
    );
    const listed = await run(['--expected-failures', whole]);
    expect(listed.map((p) => p.code)).toEqual([0, 0]);
    const m2 = await cli([
      'merge',
      ...listed.map((p) => join(p.dir, 'report.json')),
      '--write-expected-failures',
      again,
    ]);
    expect(m2.code).toBe(0);
    expect(loadExpectedFailures(again, ids).map((e) => e.reason)).toEqual(shape(whole).map(() => 'known'));
  }, 60_000);

  it('refuses a missing shard, a case twice and files that are not results', async () => {
    const target = `${broker.host}:${broker.port}`;
    const s1 = await cli([target, '--only', '3.12.4,4.3.2/qos1-delivery', '--shard', '1/2']);
    expect(s1.code).toBe(0);
    const file = join(s1.dir, 'report.json');
    const missing = await cli(['merge', file]);
    expect(missing.code).toBe(2);
    expect(missing.out).toContain('shard(s) 2/2 missing (got 1/2)');
    // Shard 2/2 of another selection: together the two would miss cases without a word.
    const other = await cli([target, '--only', '3.12.4,4.3.2/puback-echoes-packet-id', '--shard', '2/2']);
    expect(other.code).toBe(0);
    const mixed = await cli(['merge', file, join(other.dir, 'report.json')]);
    expect(mixed.code).toBe(2);
    expect(mixed.out).toMatch(
      /the shards were cut from different selections: .*\(shard 1\/2, selection [0-9a-f]{16}\), .*\(shard 2\/2, selection [0-9a-f]{16}\); run every shard with the same --only/,
    );
    const twice = await cli(['merge', file, file]);
    expect(twice.code).toBe(2);
    expect(twice.out).toMatch(/\[3\.1\.1\] is in both .*report\.json and .*report\.json/);
    const junk = join(s1.dir, 'junk.json');
    writeFileSync(junk, '[]');
    const bad = await cli(['merge', junk]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('junk.json: not an mqtt-conform results file');
    // A shard with nothing in it is a usage error, as is a malformed --shard.
    const empty = await cli([target, '--only', '3.12.4', '--shard', '2/2']);
    expect(empty.code).toBe(2);
    expect(empty.out).toContain('shard 2/2 has no case (the selection has 2)');
    const malformed = await cli([target, '--shard', '3/2']);
    expect(malformed.code).toBe(2);
  });

  it('merge judges --require over all shards', async () => {
    const target = `${broker.host}:${broker.port}`;
    const parts = await Promise.all(
      ['1/2', '2/2'].map((s) =>
        cli([
          target,
          '--only',
          '3.12.4,4.3.2/qos1-delivery',
          '--protocol',
          '3.1.1',
          '--shard',
          s,
          '--require',
          '5.0',
        ]),
      ),
    );
    // A shard records --require but does not judge it (it holds part of the cases) ...
    expect(parts.map((p) => p.code)).toEqual([0, 0]);
    const files = parts.map((p) => join(p.dir, 'report.json'));
    for (const f of files) {
      const shard = json(join(f, '..'));
      expect(shard.required).toEqual(['5.0']);
      expect(shard.unmetRequirements).toBeUndefined();
    }
    // ... the merge does, with or without --require of its own.
    for (const extra of [['--require', '5.0'], []]) {
      const r = await cli(['merge', ...files, ...extra]);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toContain('requirement not met: MQTT 5.0 is required (--require) but no case of it ran');
      expect(json(r.dir).unmetRequirements).toEqual([
        'MQTT 5.0 is required (--require) but no case of it ran',
      ]);
    }
    // Shards run without --require merge to a passing run; the merge's own --require still counts.
    const plain = await Promise.all(
      ['1/2', '2/2'].map((s) =>
        cli([target, '--only', '3.12.4,4.3.2/qos1-delivery', '--protocol', '3.1.1', '--shard', s]),
      ),
    );
    const plainFiles = plain.map((p) => join(p.dir, 'report.json'));
    expect((await cli(['merge', ...plainFiles])).code).toBe(0);
    expect((await cli(['merge', ...plainFiles, '--require', '5.0'])).code).toBe(1);
  });
});
