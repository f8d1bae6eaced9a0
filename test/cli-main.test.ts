import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import type { CliIo } from '../src/cli/main.js';
import { loadExpectedFailures } from '../src/scenario/expected-failures.js';
import { loadScenarios } from '../src/scenario/loader.js';
import { defaultSpecsDir } from '../src/scenario/paths.js';
import { planCases } from '../src/scenario/select.js';
import { startFaultyProxy } from './helpers/faulty-proxy.js';
import { freePort } from './helpers/free-port.js';
import { type CliRun, runCli as runCliIn } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';

/** Two cases of section 4.3.2, named so that cases added to the section later do not change the counts. */
const QOS1_CASES = '4.3.2/puback-echoes-packet-id,4.3.2/qos1-delivery';
/** The cases marked `timing: silent`, which run before all others. */
const SILENT_TIMING_CASES =
  '3.1.2/keep-alive-timeout,3.1.2/keep-alive-not-before-period,3.1.2/will-published-on-keep-alive-expiry';
/** Every case run of the bundled scenarios (both protocols). */
const ALL_CASE_RUNS = planCases(loadScenarios([defaultSpecsDir()]), { protocols: ['3.1.1', '5.0'] }).length;

/** The CLI in-process against real brokers: every exit code, the selection and the expected-failures file. */
let broker: { host: string; port: number; close(): Promise<void> };
let target: string;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  target = `127.0.0.1:${broker.port}`;
});
afterAll(async () => {
  await broker?.close();
});

type Captured = CliRun;

function runCli(
  args: string[],
  io: Partial<CliIo> = {},
  onStdout?: (text: string) => void,
): Promise<Captured> {
  return runCliIn(args, { prefix: 'mc-cli-', io, ...(onStdout ? { onStdout } : {}) });
}

describe('exit codes', () => {
  it('0 when every selected must-level case passes; reports written', async () => {
    const r = await runCli([target, '--only', '3.12.4,3.8.4', '--no-color']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PASS +3\.1\.1 +3\.12\.4\/pingresp-keeps-alive/);
    expect(r.out).toContain('RESULT: conformant');
    expect(r.out).toMatch(/statements checked: MQTT 3\.1\.1 \d+\/141, MQTT 5\.0 \d+\/251/);
    expect(existsSync(join(r.dir, 'junit.xml'))).toBe(true);
    expect(existsSync(join(r.dir, 'report.json'))).toBe(true);
  }, 30_000);

  it('0 with no target: starts the bundled reference broker', async () => {
    const r = await runCli(['--only', QOS1_CASES, '--protocol', '5']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/bundled reference broker 127\.0\.0\.1:\d+/);
    const json = JSON.parse(readFileSync(join(r.dir, 'report.json'), 'utf8'));
    expect(json.protocols).toEqual(['5.0']);
    expect(json.summary.passed).toBe(2);
  }, 30_000);

  it('1 on a conformance failure, with statement, expected, actual and wire log on the console', async () => {
    const proxy = await startFaultyProxy(broker, 'ack-wrong-id');
    try {
      const r = await runCli([
        `127.0.0.1:${proxy.port}`,
        '--only',
        '4.3.2/puback-echoes-packet-id',
        '--timeout',
        '500',
      ]);
      expect(r.code).toBe(1);
      expect(r.out).toContain('FAIL 4.3.2/puback-echoes-packet-id [MQTT 3.1.1]');
      expect(r.out).toContain('Statements: MQTT-3.3.4-1, MQTT-2.3.1-6, MQTT-4.3.2-2 (must)');
      expect(r.out).toContain('Expected: PUBACK {packetId: 4660}');
      expect(r.out).toContain('Actual:   PUBACK {packetId: 4661}');
      expect(r.out).toMatch(/Wire log.*:\n.*connected to/);
      expect(r.out).toContain('RESULT: 2 case(s) not conformant');
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('0 when the failing case is listed in --expected-failures; a listed case that passes is reported', async () => {
    const proxy = await startFaultyProxy(broker, 'ack-wrong-id');
    const dir = tempDir('mc-xf-');
    const xf = join(dir, 'expected.yaml');
    writeFileSync(
      xf,
      '- id: 4.3.2/puback-echoes-packet-id\n  reason: our PUBACK ids are off by one\n- id: 3.12.4/pingresp-keeps-alive\n  reason: fixed long ago\n',
    );
    try {
      const r = await runCli([
        `127.0.0.1:${proxy.port}`,
        '--only',
        '4.3.2/puback-echoes-packet-id,3.12.4',
        '--timeout',
        '500',
        '--expected-failures',
        xf,
      ]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/FAIL +\S+ +4\.3\.2\/puback-echoes-packet-id \(\d+ ms\) \(expected failure\)/);
      // A listed case that passes is not marked as an expected failure on its line.
      expect(r.out).toMatch(
        /PASS +\S+ +3\.12\.4\/pingresp-keeps-alive \(\d+ ms\) \(listed as an expected failure, now passes\)/,
      );
      expect(r.out).toMatch(
        /note: 3\.12\.4\/pingresp-keeps-alive \[3\.1\.1\] is listed as an expected failure but now passes/,
      );
      const json = JSON.parse(readFileSync(join(r.dir, 'report.json'), 'utf8'));
      const c = json.cases.find((x: { id: string }) => x.id === '4.3.2/puback-echoes-packet-id');
      expect(c.status).toBe('failed');
      expect(c.expectedFailure).toBe('our PUBACK ids are off by one');
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('--write-expected-failures records a baseline that the next run accepts, keeps reasons and drops what passes', async () => {
    const proxy = await startFaultyProxy(broker, 'ack-wrong-id');
    const dir = tempDir('mc-wxf-');
    const xf = join(dir, 'known', 'mqtt-known.yaml');
    const selection = ['--only', `${QOS1_CASES},3.12.4`, '--timeout', '500'];
    try {
      // 1. Against the faulty broker: the run fails as usual, and the file lists exactly its failures.
      const first = await runCli([`127.0.0.1:${proxy.port}`, ...selection, '--write-expected-failures', xf]);
      expect(first.code).toBe(1);
      const failing = first
        .report()!
        .cases.filter((c) => c.status === 'failed')
        .map((c) => c.id);
      expect(failing.length).toBeGreaterThan(0);
      const written = loadExpectedFailures(xf, new Set(failing));
      expect(written.map((e) => e.id).sort()).toEqual([...new Set(failing)].sort());
      // Failed in both versions: one entry without protocol, its reason saying what was seen.
      for (const e of written) {
        expect(e.protocol).toBeUndefined();
        expect(e.reason).toMatch(/^recorded \d{4}-\d\d-\d\d against mqtt:\/\/127\.0\.0\.1:\d+: /);
      }
      expect(first.out).toContain(
        `expected failures: ${xf}: ${written.length} entries (${written.length} new, 0 kept, 0 dropped`,
      );

      // 2. The baseline makes the same broker pass; a reason the vendor wrote survives a rewrite.
      writeFileSync(
        xf,
        readFileSync(xf, 'utf8').replace(/reason: "recorded [^"]*"/, 'reason: "our ids are off by one"'),
      );
      const second = await runCli([
        `127.0.0.1:${proxy.port}`,
        ...selection,
        '--expected-failures',
        xf,
        '--write-expected-failures',
        xf,
      ]);
      expect(second.code, second.all).toBe(0);
      expect(readFileSync(xf, 'utf8')).toContain('reason: "our ids are off by one"');
      expect(second.out).toContain(`(0 new, ${written.length} kept, 0 dropped`);

      // 3. Against the broker itself every listed case passes: the rewrite drops them all.
      const third = await runCli([
        target,
        ...selection,
        '--expected-failures',
        xf,
        '--write-expected-failures',
        xf,
      ]);
      expect(third.code).toBe(0);
      expect(third.out).toContain(
        `expected failures: ${xf}: 0 entries (0 new, 0 kept, ${written.length} dropped`,
      );
      expect(loadExpectedFailures(xf, new Set())).toEqual([]);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('non-strict does not fail the run unless --strict', async () => {
    const proxy = await startFaultyProxy(broker, 'ignore-retained-update');
    try {
      const loose = await runCli([
        `127.0.0.1:${proxy.port}`,
        '--only',
        '3.3.1/retain-qos0-stored',
        '--timeout',
        '500',
      ]);
      expect(loose.out).toMatch(/NON-STRICT +3\.1\.1 +3\.3\.1\/retain-qos0-stored/);
      expect(loose.code).toBe(0);
      const strict = await runCli([
        `127.0.0.1:${proxy.port}`,
        '--only',
        '3.3.1/retain-qos0-stored',
        '--timeout',
        '500',
        '--strict',
      ]);
      expect(strict.code).toBe(1);
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('2 on usage errors', async () => {
    for (const args of [
      ['--bogus'],
      ['--protocol', '6'],
      ['--concurrency', 'x'],
      ['a:1', 'b:2'],
      ['http://x:1'],
      ['--password', 'p'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain('Usage: mqtt-conform');
    }
    const none = await runCli([target, '--only', 'no-such-case']);
    expect(none.code).toBe(2);
    expect(none.err).toContain('--only "no-such-case" matches no case');
  });

  it('2 when a selector matches no case (a typo must not silently run or skip cases)', async () => {
    const typo = await runCli([target, '--exclude', '3.1.2/keep-alive-timout']);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('--exclude "3.1.2/keep-alive-timout" matches no case');
    const partly = await runCli([target, '--only', '3.12.4,MQTT-9.9.9-9']);
    expect(partly.code).toBe(2);
    expect(partly.err).toContain('--only "MQTT-9.9.9-9" matches no case');
    // A selector that matches in a protocol left out by --protocol is not a typo.
    const other = await runCli([
      target,
      '--protocol',
      '3.1.1',
      '--only',
      '3.12.4',
      '--exclude',
      '3.8.3/no-local',
    ]);
    expect(other.code, other.err).toBe(0);
  }, 30_000);

  it('2 with file:line:col for a broken scenario file', async () => {
    const dir = tempDir('mc-bad-');
    writeFileSync(
      join(dir, '3.3.1-bad.yaml'),
      'section: "3.3.1"\ntitle: t\ncases:\n  - id: a\n    title: t\n    statements: [MQTT-3.3.1-5]\n    steps:\n      - subscribe: { as: c, filter: x, qos: high }\n',
    );
    const r = await runCli([target, '--specs', dir], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      '3.3.1-bad.yaml:8:45: cases[0].steps[0].subscribe.qos: expected an integer from 0 to 2, found string "high"',
    );
  });

  it('2 with file:line:col for a broken expected-failures file', async () => {
    const dir = tempDir('mc-badxf-');
    const xf = join(dir, 'xf.yaml');
    writeFileSync(xf, '- id: 3.3.1/retain-stored-and-sent\n');
    const r = await runCli([target, '--expected-failures', xf]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/xf\.yaml:1:3: expected-failures\[0\]: missing required key "reason"/);
  });

  it('3 when the target is unreachable, with reports written', async () => {
    const port = await freePort();
    const r = await runCli([`127.0.0.1:${port}`, '--only', '3.12.4']);
    expect(r.code).toBe(3);
    const json = JSON.parse(readFileSync(join(r.dir, 'report.json'), 'utf8'));
    expect(json.stoppedBy).toBe('target-unreachable');
    expect(json.summary.errors).toBe(2);
  });

  it('3 when the target accepts TCP but answers no CONNECT (silent), with reports written', async () => {
    const silent = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const r = await runCli([`127.0.0.1:${port}`, '--only', '3.12.4', '--timeout', '300']);
      expect(r.code).toBe(3);
      expect(r.out).toContain('did not answer a valid MQTT 3.1.1 CONNECT');
      expect(r.out).toContain('RESULT: incomplete (target-not-mqtt)');
      const json = JSON.parse(readFileSync(join(r.dir, 'report.json'), 'utf8'));
      expect(json.stoppedBy).toBe('target-not-mqtt');
    } finally {
      silent.close();
    }
  });

  it('a run in which every case was skipped says nothing was judged, not conformant', async () => {
    const proxy = await startFaultyProxy(broker, 'refuse-5');
    try {
      const r = await runCli([`127.0.0.1:${proxy.port}`, '--protocol', '5', '--only', '3.12.4']);
      expect(r.code).toBe(0);
      expect(r.out).not.toContain('RESULT: conformant');
      expect(r.out).toContain('RESULT: nothing judged: 1 case(s) skipped');
    } finally {
      await proxy.close();
    }
  });

  it('--junit and --json write to the paths given', async () => {
    const dir = tempDir('mc-paths-');
    const r = await runCli([
      target,
      '--only',
      '4.3.2/puback-echoes-packet-id',
      '--junit',
      join(dir, 'a', 'j.xml'),
      '--json',
      join(dir, 'b', 'r.json'),
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'a', 'j.xml'), 'utf8')).toContain('<testsuites');
    expect(JSON.parse(readFileSync(join(dir, 'b', 'r.json'), 'utf8')).summary.total).toBe(2);
    expect(existsSync(join(r.dir, 'junit.xml'))).toBe(false);
  });

  it('--list prints the selection without running it', async () => {
    const r = await runCli(['127.0.0.1:1', '--list', '--only', 'MQTT-3.3.1-5']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('3.3.1/retain-replaces-stored');
    expect(r.out).toMatch(/\d+ case\(s\)\n$/);
  });

  it('SIGINT during a run stops it, keeps what ran and writes both reports', async () => {
    let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
    // The signal comes once a case has passed (a fixed delay raced the start-up on a loaded machine). The
    // silent timing cases run first and take 2 s: leave them out, so that ordinary cases are judged first.
    const r = await runCli(
      [target, '--concurrency', '2', '--exclude', SILENT_TIMING_CASES],
      {
        onSignal: (h) => {
          fire = h;
          return () => {
            fire = undefined;
          };
        },
      },
      (text) => {
        if (/PASS/.test(text)) {
          fire?.('SIGINT');
          fire = undefined;
        }
      },
    );
    expect(r.code).toBe(130);
    // What ran passed, but an interrupted run is no verdict on the broker.
    expect(r.out).not.toContain('RESULT: conformant');
    expect(r.out).toMatch(/RESULT: incomplete \(SIGINT\): [1-9]\d* of \d+ case\(s\) judged/);
    const json = JSON.parse(readFileSync(join(r.dir, 'report.json'), 'utf8'));
    expect(json.stoppedBy).toBe('SIGINT');
    expect(json.cases.length).toBeGreaterThan(0);
    expect(json.cases.length).toBeLessThan(ALL_CASE_RUNS);
    expect(readFileSync(join(r.dir, 'junit.xml'), 'utf8')).toContain('<testsuites');
  }, 30_000);

  it('a second SIGINT exits at once', async () => {
    let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
    const exits: number[] = [];
    // Both signals come as soon as the first case is judged, while the others still run.
    const r = await runCli(
      [target, '--only', '3.12.4'],
      {
        onSignal: (h) => {
          fire = h;
          return () => {
            fire = undefined;
          };
        },
        exitNow: (code) => {
          exits.push(code);
        },
      },
      (text) => {
        if (/PASS|FAIL/.test(text) && exits.length === 0) {
          fire?.('SIGINT');
          fire?.('SIGINT');
        }
      },
    );
    expect(exits).toEqual([130]);
    expect(r.err).toContain('second SIGINT; exiting without waiting');
    expect(r.code).toBe(130);
  }, 30_000);

  it('SIGINT while the target is being checked (silent target, long --timeout) stops at once with reports', async () => {
    const silent = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
      setTimeout(() => fire?.('SIGINT'), 300);
      const t0 = performance.now();
      const r = await runCli([`127.0.0.1:${port}`, '--only', '3.12.4', '--timeout', '60000'], {
        onSignal: (h) => {
          fire = h;
          return () => {
            fire = undefined;
          };
        },
      });
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(r.code).toBe(130);
      const json = JSON.parse(readFileSync(join(r.dir, 'report.json'), 'utf8'));
      expect(json.stoppedBy).toBe('SIGINT');
      expect(readFileSync(join(r.dir, 'junit.xml'), 'utf8')).toContain('<testsuites');
    } finally {
      silent.close();
    }
  }, 30_000);

  it('--username/--password reach every CONNECT; without them a refusing broker stops the run (exit 3) with a hint', async () => {
    const secured = await startBroker({
      host: '127.0.0.1',
      port: 0,
      config: { users: [{ username: 'vendor', password: 's3cret' }] },
    });
    try {
      const denied = await runCli([`127.0.0.1:${secured.port}`, '--only', '4.3.2', '--no-color']);
      expect(denied.code).toBe(3);
      expect(denied.err).toMatch(
        /refused the suite's MQTT 3\.1\.1 CONNECT with 0x05 .*--username\/--password/,
      );
      const ok = await runCli([
        `127.0.0.1:${secured.port}`,
        '--only',
        '4.3.2',
        '--username',
        'vendor',
        '--password',
        's3cret',
      ]);
      expect(ok.code).toBe(0);
    } finally {
      await secured.close();
    }
  }, 30_000);

  it('on a TTY: a live progress line, colours, and lines only for cases that did not pass', async () => {
    const r = await runCli([target, '--only', `${QOS1_CASES},3.6.1`], { isTTY: true, env: {} });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\r\x1b\[K\[\d+\/6\] /);
    expect(r.out).toContain('\x1b[32m');
    expect(r.out).not.toMatch(/PASS +3\.1\.1/);
    const plain = await runCli([target, '--only', `${QOS1_CASES},3.6.1`], {
      isTTY: true,
      env: { NO_COLOR: '1' },
    });
    expect(plain.out).not.toContain('\x1b[32m');
  }, 30_000);
});
