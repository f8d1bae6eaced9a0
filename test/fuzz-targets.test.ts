/**
 * End-to-end: the fuzzer against deliberately buggy targets (test/helpers/buggy-target.ts), the reference
 * broker and mosquitto. Each run is a small seeded count so the file takes seconds; set
 * MQTT_CONFORM_FUZZ_CASES to run more cases per target.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningReferenceBroker, startBroker } from '../reference-broker/index.js';
import { type CliIo, main } from '../src/cli/main.js';
import { PacketFramer } from '../src/codec/index.js';
import { runCompare } from '../src/fuzz/compare.js';
import { type FuzzResult, runFuzz } from '../src/fuzz/fuzzer.js';
import type { Finding } from '../src/fuzz/model.js';
import { replayFinding } from '../src/fuzz/replay.js';
import { writeFuzzReport } from '../src/fuzz/reproducer.js';
import { SpawnedTarget } from '../src/fuzz/spawn.js';
import { loadScenarioFile } from '../src/scenario/loader.js';
import { type BuggyProxy, buggyTargetCommand, startBuggyProxy } from './helpers/buggy-target.js';
import { findMosquitto, MOSQUITTO_MISSING, mosquittoAvailable } from './helpers/mosquitto.js';
import { tempDir } from './helpers/temp-dir.js';

const CASES = Number(process.env.MQTT_CONFORM_FUZZ_CASES ?? 4000);

let broker: RunningReferenceBroker;
beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
});
afterAll(async () => {
  await broker?.close();
});

/** Frames in each stream of a finding (the malformed packet counts as one). */
function packetCount(f: Finding): number {
  let n = 0;
  for (const hex of f.packetsHex) {
    const framer = new PacketFramer();
    for (const ev of framer.push(Buffer.from(hex, 'hex'))) n += ev.kind === 'frame' ? 1 : 1;
  }
  return n;
}

async function fuzzUntilFirst(
  target: { spawn: string } | { target: { host: string; port: number } },
  seed = 1,
  shrinkBudgetMs = 3000,
  livenessTimeoutMs?: number,
): Promise<FuzzResult> {
  return runFuzz({
    ...target,
    ...(livenessTimeoutMs ? { exec: { livenessTimeoutMs } } : {}),
    seed,
    cases: CASES,
    protocols: [4, 5],
    concurrency: 64,
    maxFindings: 1,
    shrinkBudgetMs,
  });
}

async function savedAndLoadable(r: FuzzResult): Promise<Finding> {
  const dir = tempDir('mqtt-conform-fuzz-');
  const written = writeFuzzReport(dir, r, join(dir, 'junit.xml'));
  const json = JSON.parse(readFileSync(written.json, 'utf8'));
  expect(json).toMatchObject({ seed: r.seed, cases: r.cases });
  expect(json.findings.length).toBe(r.findings.length);
  const f = r.findings[0]!;
  if (f.packetsHex.length > 0) {
    expect(f.reproducer).toBeDefined();
    expect(() => loadScenarioFile(f.reproducer!)).not.toThrow();
    expect(readFileSync(f.reproducer!.replace(/\.yaml$/, '.hex'), 'utf8').trim()).toBe(
      f.packetsHex.join('\n'),
    );
  }
  expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toContain(`name="${f.kind}"`);
  return f;
}

describe('fuzzer against buggy targets', () => {
  let proxy: BuggyProxy | undefined;
  afterAll(async () => {
    await proxy?.close();
  });

  it('finds a broker that accepts a malformed packet (no-close), shrinks it and replays it', async () => {
    proxy = await startBuggyProxy(broker, 'no-close');
    const r = await fuzzUntilFirst({ target: proxy });
    const f = r.findings.find((x) => x.kind === 'no-close');
    expect(f, JSON.stringify(r.findings)).toBeDefined();
    expect(f).toMatchObject({ packetType: 'publish', field: 'QoS' });
    expect(f!.statement).toMatch(/^MQTT-4\.(8\.0|13\.1)-1$/);
    expect(packetCount(f!)).toBeLessThanOrEqual(3);
    await savedAndLoadable(r);
    expect((await replayFinding(f!.reproducer!, { target: proxy })).reproduced).toBe(true);
    expect((await replayFinding(f!.reproducer!, { target: broker })).reproduced).toBe(false);
    await proxy.close();
    proxy = undefined;
  }, 60_000);

  it('finds a broker that serves nobody after one malformed packet (hang) and replays it', async () => {
    proxy = await startBuggyProxy(broker, 'hang');
    // Every rerun of a hang waits for the liveness bound: a shorter one keeps the shrinking quick.
    const r = await fuzzUntilFirst({ target: proxy }, 1, 3000, 1000);
    const f = r.findings.find((x) => x.kind === 'hang');
    expect(f, JSON.stringify(r.findings)).toBeDefined();
    expect(f).toMatchObject({ packetType: 'subscribe', field: 'packet identifier' });
    expect(packetCount(f!)).toBeLessThanOrEqual(3);
    await savedAndLoadable(r);
    expect((await replayFinding(f!.reproducer!, { target: proxy })).reproduced).toBe(true);
    expect((await replayFinding(f!.reproducer!, { target: broker })).reproduced).toBe(false);
    await proxy.close();
    proxy = undefined;
  }, 60_000);

  it('finds a broker that delivers to a subscriber whose filters do not match (wrong-delivery) and replays it', async () => {
    proxy = await startBuggyProxy(broker, 'wrong-delivery');
    const r = await runFuzz({
      target: proxy,
      seed: 1,
      cases: CASES,
      protocols: [4, 5],
      concurrency: 64,
      families: ['sequences'],
      maxFindings: 1,
      shrinkBudgetMs: 5000,
    });
    const f = r.findings.find((x) => x.kind === 'wrong-delivery');
    expect(f, JSON.stringify(r.findings)).toBeDefined();
    expect(f).toMatchObject({ statement: 'MQTT-3.3.2-3', packetType: 'publish', field: 'delivery' });
    await savedAndLoadable(r);
    expect((await replayFinding(f!.reproducer!, { target: proxy })).reproduced).toBe(true);
    expect((await replayFinding(f!.reproducer!, { target: broker })).reproduced).toBe(false);
    await proxy.close();
    proxy = undefined;
  }, 60_000);

  it('finds a broker process that exits on one packet (crash, --spawn), keeps its exit code and replays it', async () => {
    const spawn = buggyTargetCommand('crash');
    const r = await fuzzUntilFirst({ spawn }, 1, 2000);
    const f = r.findings.find((x) => x.kind === 'crash');
    expect(f, JSON.stringify(r.findings)).toBeDefined();
    expect(f).toMatchObject({ packetType: 'publish', field: 'topic' });
    expect(f!.exit).toMatchObject({ code: 70 });
    expect(f!.exit!.stderr).toContain('crashed on a PUBLISH');
    expect(packetCount(f!)).toBeLessThanOrEqual(3);
    await savedAndLoadable(r);
    const replay = await replayFinding(f!.reproducer!, { spawn });
    expect(replay.reproduced).toBe(true);
    expect(replay.exit?.code).toBe(70);
    expect((await replayFinding(f!.reproducer!, { target: broker })).reproduced).toBe(false);
  }, 60_000);

  it('finds a broker process whose open files keep growing (leak, --spawn)', async () => {
    const r = await runFuzz({
      spawn: buggyTargetCommand('leak'),
      seed: 1,
      durationMs: 20_000,
      protocols: [4, 5],
      concurrency: 64,
      maxFindings: 1,
      sampleEveryMs: 250,
      shrinkBudgetMs: 0,
    });
    const f = r.findings.find((x) => x.kind === 'leak');
    expect(f, JSON.stringify(r.findings)).toBeDefined();
    expect(f!.description).toMatch(/open files grew/);
    await savedAndLoadable(r);
  }, 60_000);
});

describe('fuzzer against conformant targets', () => {
  it('finds nothing in the reference broker', async () => {
    const r = await runFuzz({
      target: broker,
      seed: 20261201,
      cases: Math.min(CASES, 3000),
      protocols: [4, 5],
      concurrency: 64,
    });
    expect(r.findings, JSON.stringify(r.findings, null, 1)).toEqual([]);
    expect(r.cases).toBe(Math.min(CASES, 3000));
  }, 60_000);

  it.skipIf(!mosquittoAvailable())(
    `--spawn mosquitto: restarts nothing, finds only its known non-closing deviations${mosquittoAvailable() ? '' : ` (${MOSQUITTO_MISSING})`}`,
    async () => {
      const r = await runFuzz({
        spawn: `${findMosquitto()} -c {config}`,
        seed: 7,
        cases: Math.min(CASES, 800),
        protocols: [4, 5],
        concurrency: 64,
        shrinkBudgetMs: 0,
      });
      expect(r.restarts).toBe(0);
      expect(r.findings.length).toBeGreaterThan(0);
      const kinds = new Set(r.findings.map((f) => f.kind));
      expect([...kinds]).toEqual(['no-close']);
      // mosquitto 2.0 reads on after a PUBACK/PUBREC/PUBCOMP/PINGREQ with reserved flags or trailing bytes
      // and after server-only packets (specs/known-deviations/mosquitto-2.0.yaml).
      expect(
        r.findings.some((f) =>
          ['puback', 'pubrec', 'pubcomp', 'pubrel', 'pingreq', 'suback', 'unsuback', 'pingresp'].includes(
            f.packetType,
          ),
        ),
      ).toBe(true);
    },
    90_000,
  );
});

describe('differential mode', () => {
  it('the same broker twice shows no difference', async () => {
    const t = { host: broker.host, port: broker.port, display: 'reference' };
    const r = await runCompare({ a: t, b: t, seed: 3, protocols: [4, 5], concurrency: 16, cases: 400 });
    expect(r.differences.map((d) => d.summary)).toEqual([]);
    expect(r.cases).toBeGreaterThan(0);
  }, 60_000);

  it.skipIf(!mosquittoAvailable())(
    'the reference broker and mosquitto differ, each difference once',
    async () => {
      const m = new SpawnedTarget(`${findMosquitto()} -c {config}`);
      await m.start();
      try {
        const r = await runCompare({
          a: { host: broker.host, port: broker.port, display: 'reference' },
          b: { host: m.host, port: m.port, display: 'mosquitto' },
          seed: 1,
          protocols: [4, 5],
          concurrency: 16,
          cases: 1500,
        });
        expect(r.differences.length).toBeGreaterThan(0);
        const dir = tempDir('mqtt-conform-compare-');
        const json = JSON.parse(readFileSync(r.write(dir), 'utf8'));
        expect(json.differences[0]).toMatchObject({
          count: expect.any(Number),
          packetsHex: expect.any(Array),
        });
      } finally {
        await m.dispose();
      }
    },
    60_000,
  );
});

describe('mqtt-conform fuzz / replay (CLI)', () => {
  const io = (): { io: Partial<CliIo>; out: () => string; err: () => string } => {
    let out = '';
    let err = '';
    return {
      io: {
        stdout: (t) => {
          out += t;
        },
        stderr: (t) => {
          err += t;
        },
        isTTY: false,
        onSignal: () => () => undefined,
      },
      out: () => out,
      err: () => err,
    };
  };

  it('prints the seed, writes fuzz.json and the JUnit file, exits 0 without findings', async () => {
    const dir = tempDir('mqtt-conform-fuzz-cli-');
    const c = io();
    const code = await main(
      [
        'fuzz',
        `127.0.0.1:${broker.port}`,
        '--cases',
        '300',
        '--seed',
        '5',
        '--out',
        dir,
        '--junit',
        join(dir, 'j.xml'),
      ],
      c.io,
    );
    expect(code, c.err()).toBe(0);
    expect(c.out()).toContain('seed 5');
    const json = JSON.parse(readFileSync(join(dir, 'fuzz.json'), 'utf8'));
    expect(json).toMatchObject({ seed: 5, cases: 300, protocol: '3.1.1,5.0', findings: [] });
    expect(json.casesPerSecond).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'j.xml'), 'utf8')).toContain('failures="0"');
  }, 60_000);

  it('exits 1 with findings and replay exits 1 where the finding reproduces, 0 where it does not', async () => {
    const proxy = await startBuggyProxy(broker, 'no-close');
    try {
      const dir = tempDir('mqtt-conform-fuzz-cli-');
      const c = io();
      const code = await main(
        [
          'fuzz',
          `127.0.0.1:${proxy.port}`,
          '--cases',
          String(CASES),
          '--seed',
          '1',
          '--families',
          'fields',
          '--max-findings',
          '1',
          '--out',
          dir,
        ],
        c.io,
      );
      expect(code, c.out() + c.err()).toBe(1);
      const json = JSON.parse(readFileSync(join(dir, 'fuzz.json'), 'utf8'));
      const file = join(dir, json.findings[0].reproducer);
      expect(await main(['replay', file, `127.0.0.1:${proxy.port}`], io().io)).toBe(1);
      expect(await main(['replay', file, `127.0.0.1:${broker.port}`], io().io)).toBe(0);
      expect(await main(['replay', file.replace(/\.yaml$/, '.hex')], io().io)).toBe(0);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('rejects bad options with exit code 2', async () => {
    const c = io();
    expect(await main(['fuzz', '--duration', 'soon'], c.io)).toBe(2);
    expect(c.err()).toContain('--duration');
    expect(await main(['fuzz', '--families', 'nope'], io().io)).toBe(2);
    expect(await main(['replay'], io().io)).toBe(2);
  });
});
