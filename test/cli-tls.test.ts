import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canConnect, freePort } from './helpers/free-port.js';
import { findMosquitto } from './helpers/mosquitto.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';

/** mqtts:// targets against a mosquitto TLS listener with a self-signed certificate for 127.0.0.1. */
const mosquitto = findMosquitto();
let hasOpenssl = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  hasOpenssl = false;
}

let child: ChildProcess | undefined;
let port = 0;
let dir = '';

beforeAll(async () => {
  if (!mosquitto || !hasOpenssl) return;
  dir = tempDir('mc-tls-');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  // mosquitto started as root drops to its own user, which must be able to read the key (test-only files).
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'key.pem'), 0o644);
  port = await freePort();
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\ncertfile ${join(dir, 'cert.pem')}\nkeyfile ${join(dir, 'key.pem')}\n`,
  );
  child = spawn(mosquitto, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await canConnect('127.0.0.1', port)); i++) await sleep(50);
}, 30_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

async function cli(args: string[]) {
  const r = await runCli([...args, '--no-color'], { prefix: 'mc-tlsrep-' });
  return { code: r.code, out: r.all, json: JSON.parse(readFileSync(join(r.dir, 'report.json'), 'utf8')) };
}

describe.skipIf(!mosquitto || !hasOpenssl)('mqtts:// targets', () => {
  it('passes with --ca naming the broker certificate', async () => {
    const r = await cli([
      `mqtts://127.0.0.1:${port}`,
      '--only',
      '4.3.2/puback-echoes-packet-id,4.3.2/qos1-delivery',
      '--ca',
      join(dir, 'cert.pem'),
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.json.target).toBe(`mqtts://127.0.0.1:${port}`);
    expect(r.json.summary.passed).toBe(4);
  }, 30_000);

  it('is unreachable (exit 3) when the certificate cannot be verified, and passes with --insecure', async () => {
    const strict = await cli([
      `mqtts://127.0.0.1:${port}`,
      '--only',
      '4.3.2/puback-echoes-packet-id,4.3.2/qos1-delivery',
    ]);
    expect(strict.code).toBe(3);
    expect(strict.json.cases[0].message).toMatch(/certificate/i);
    const insecure = await cli([
      `mqtts://127.0.0.1:${port}`,
      '--only',
      '4.3.2/puback-echoes-packet-id,4.3.2/qos1-delivery',
      '--insecure',
    ]);
    expect(insecure.code).toBe(0);
  }, 30_000);
});
