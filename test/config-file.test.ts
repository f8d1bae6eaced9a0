import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import { configArguments } from '../src/cli/config-file.js';
import { startFaultyProxy } from './helpers/faulty-proxy.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * mqtt-conform.config.yaml end to end: found in the working folder or given with --config; target, protocols,
 * credentials from the environment (against a reference broker that refuses anonymous clients), expected
 * failures, selection, reporters and report paths; the command line wins; errors name file:line:col.
 */
let secured: { host: string; port: number; close(): Promise<void> };
let open: { host: string; port: number; close(): Promise<void> };

beforeAll(async () => {
  secured = await startBroker({
    host: '127.0.0.1',
    port: 0,
    config: { users: [{ username: 'vendor', password: 's3cret' }], allowAnonymous: false },
  });
  open = await startBroker({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await secured?.close();
  await open?.close();
});

async function cli(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  // The config file names its own reports folder, or the default one under cwd.
  const r = await runCli(args, { reports: false, io: { cwd, env } });
  return { code: r.code, stdout: r.out, stderr: r.err };
}

const QOS1 = '4.3.2/puback-echoes-packet-id';

describe('mqtt-conform.config.yaml', () => {
  it('in the working folder: target, protocols, credentials from the environment, selection, report paths', async () => {
    const dir = tempDir('mc-config-');
    writeFileSync(
      join(dir, 'mqtt-conform.config.yaml'),
      [
        `target: mqtt://127.0.0.1:${secured.port}`,
        'protocols: ["3.1.1"]',
        'credentials:',
        '  username: { env: MQTT_USER }',
        '  password: { env: MQTT_PASSWORD }',
        'select:',
        `  only: [${QOS1}, 3.12.4]`,
        '  exclude: 3.12.4',
        'reports:',
        '  dir: out',
        '  html: html/conformance.html',
        'timeout: 2000',
        '',
      ].join('\n'),
    );
    const env = { MQTT_USER: 'vendor', MQTT_PASSWORD: 's3cret' };
    const r = await cli(['--verbose'], dir, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8'));
    expect(json.target).toBe(`mqtt://127.0.0.1:${secured.port}`);
    expect(json.protocols).toEqual(['3.1.1']);
    expect(json.cases.map((c: { id: string; status: string }) => `${c.id} ${c.status}`)).toEqual([
      `${QOS1} passed`,
    ]);
    // The credentials from the environment are in the CONNECT.
    expect(json.cases[0].wireLog).toMatch(/CONNECT \{[^}]*username: "vendor"/);
    expect(readFileSync(join(dir, 'html', 'conformance.html'), 'utf8')).toContain('RESULT: conformant');

    // The command line wins: another protocol and another report folder.
    const cmd = await cli(['--protocol', '5.0', '--reports', 'cli-out'], dir, env);
    expect(cmd.code).toBe(0);
    const j2 = JSON.parse(readFileSync(join(dir, 'cli-out', 'report.json'), 'utf8'));
    expect(j2.protocols).toEqual(['5.0']);
    expect(j2.cases).toHaveLength(1);

    // An unset variable is an error at its line.
    const unset = await cli([], dir, { MQTT_USER: 'vendor' });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain(
      'mqtt-conform.config.yaml:5:13: config.credentials.password: environment variable MQTT_PASSWORD is not set',
    );
  });

  it('--config FILE: paths relative to the file, expected failures, reporters', async () => {
    const dir = tempDir('mc-config-');
    const conf = join(dir, 'ci', 'conform');
    mkdirSync(conf, { recursive: true });
    writeFileSync(
      join(conf, 'known.yaml'),
      `- id: ${QOS1}\n  reason: our PUBACK ids are off by one (ticket 42)\n`,
    );
    const proxy = await startFaultyProxy(open, 'ack-wrong-id');
    try {
      writeFileSync(
        join(conf, 'settings.yaml'),
        [
          `target: 127.0.0.1:${proxy.port}`,
          'protocols: all',
          'require: [3.1.1, 5.0]',
          'expectedFailures: known.yaml',
          `select: { only: ${QOS1} }`,
          'reporters: github',
          'reports: { dir: ../../reports }',
          'timeout: 500',
          '',
        ].join('\n'),
      );
      const r = await cli(['--config', 'ci/conform/settings.yaml'], dir);
      expect(r.stderr).toBe('');
      // Both versions fail through the proxy; both are expected failures: the run passes.
      expect(r.code).toBe(0);
      const json = JSON.parse(readFileSync(join(dir, 'reports', 'report.json'), 'utf8'));
      expect(
        json.cases.map((c: { status: string; expectedFailure: string }) => [c.status, c.expectedFailure]),
      ).toEqual([
        ['failed', 'our PUBACK ids are off by one (ticket 42)'],
        ['failed', 'our PUBACK ids are off by one (ticket 42)'],
      ]);
      // Expected failures get no annotation; the reporter is on (nothing to annotate).
      expect(r.stdout).not.toContain('::error');
      // The command line wins: an empty list of expected failures, and the github reporter annotates both.
      writeFileSync(join(dir, 'empty.yaml'), '[]\n');
      const none = await cli(
        ['--config', 'ci/conform/settings.yaml', '--expected-failures', 'empty.yaml'],
        dir,
      );
      expect(none.code).toBe(1);
      expect(
        none.stdout
          .split('\n')
          .filter((l) => /^::error file=[^,]*specs\/4\.3\.2-qos-1\.yaml,line=\d+,/.test(l)),
      ).toHaveLength(2);
    } finally {
      await proxy.close();
    }
  });

  it('errors name the file, line and column', async () => {
    const dir = tempDir('mc-config-');
    writeFileSync(
      join(dir, 'bad.yaml'),
      [
        'target: 127.0.0.1:1',
        'protocols: [3.1.1, "6"]',
        'targt: x',
        'concurrency: 0',
        'reporters: teamcity',
        '',
      ].join('\n'),
    );
    const r = await cli(['--config', 'bad.yaml'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('mqtt-conform: invalid config file');
    expect(r.stderr).toContain('bad.yaml:2:20: config.protocols[1]: expected one of');
    expect(r.stderr).toContain('bad.yaml:3:1: config: unknown key "targt"');
    expect(r.stderr).toContain('bad.yaml:4:14: config.concurrency: expected an integer >= 1');
    expect(r.stderr).toContain('bad.yaml:5:12: config.reporters: expected one of');
    writeFileSync(join(dir, 'syntax.yaml'), 'target: [unclosed\n');
    const syntax = await cli(['--config', 'syntax.yaml'], dir);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/syntax\.yaml:\d+:\d+: YAML syntax: /);
    const missing = await cli(['--config', 'nope.yaml'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml:1:1: --config: no such file');
    // A selector of the file that matches no case is reported at its line.
    writeFileSync(
      join(dir, 'sel.yaml'),
      ['select:', '  only:', '    - 3.12.4', '    - 3.12.4/no-such-case,9.9', ''].join('\n'),
    );
    const sel = await cli(['--config', 'sel.yaml'], dir);
    expect(sel.code).toBe(2);
    expect(sel.stderr).toContain(
      'sel.yaml:4:7: select.only "3.12.4/no-such-case" matches no case; sel.yaml:4:7: select.only "9.9" matches no case',
    );
    // --help works whatever the config file says.
    writeFileSync(join(dir, 'mqtt-conform.config.yaml'), 'targt: x\n');
    expect((await cli(['--help'], dir)).code).toBe(0);
    expect((await cli(['--list'], dir)).code).toBe(2);
  });

  it('the example in docs/cli.md is valid and becomes the documented options', () => {
    const doc = readFileSync(join(process.cwd(), 'docs', 'cli.md'), 'utf8');
    const example = /```yaml\n(# mqtt-conform\.config\.yaml\n[\s\S]*?)```/.exec(doc)![1]!;
    const dir = tempDir('mc-config-');
    writeFileSync(join(dir, 'mqtt-conform.config.yaml'), example);
    const env = { MQTT_USER: 'u', MQTT_PASSWORD: 'p', MQTT_USER2: 'u2', MQTT_PASSWORD2: 'p2' };
    const { args } = configArguments(undefined, { values: {}, positionals: [] }, dir, env);
    expect(args).toEqual([
      'mqtts://broker.internal:8883',
      '--node',
      'broker-2.internal:8883',
      '--protocol',
      'all',
      '--require',
      '3.1.1',
      '--require',
      '5', // YAML reads an unquoted 5.0 as the number 5
      '--username',
      'u',
      '--password',
      'p',
      '--username2',
      'u2',
      '--password2',
      'p2',
      '--topic-prefix',
      'vendor/conformance',
      '--ca',
      join(dir, 'certs/ca.pem'),
      '--cert',
      join(dir, 'certs/client.pem'),
      '--key',
      join(dir, 'certs/client.key'),
      '--expected-failures',
      join(dir, 'mqtt-expected-failures.yaml'),
      '--only',
      '3',
      '--only',
      '4',
      '--exclude',
      '3.1.2/keep-alive-timeout',
      '--junit',
      join(dir, 'reports/junit.xml'),
      '--json',
      join(dir, 'reports/report.json'),
      '--html',
      join(dir, 'reports/report.html'),
      '--reports',
      join(dir, 'reports'),
      '--reporter',
      'github',
      '--concurrency',
      '8',
      '--timeout',
      '5000',
      '--specs',
      join(dir, 'extra-specs'),
    ]);
  });
});
