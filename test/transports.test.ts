import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { startBroker } from '../reference-broker/index.js';
import type { RunReport } from '../src/report/model.js';
import { makeCerts, opensslAvailable, type TestCerts } from './helpers/certs.js';
import { freePort } from './helpers/free-port.js';
import { MOSQUITTO_MISSING, mosquittoAvailable, startMosquitto } from './helpers/mosquitto.js';
import { runCli as runCliIn } from './helpers/run-cli.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * Every transport against real listeners: the reference broker's TLS (client certificates required), WS and
 * WSS listeners, mosquitto's TLS listener (Debian's mosquitto is built without websockets) and aedes over
 * WebSocket. A selection of cases must get the same verdicts over each transport as over plain TCP.
 */
const SELECTION = [
  '3.1.0',
  '2.2.3',
  '3.8.4/suback-per-filter',
  '4.3.2/qos1-delivery',
  '3.3.1/retain-replaces-stored',
].join(',');

interface Captured {
  code: number;
  out: string;
  err: string;
  report: RunReport | undefined;
}

async function runCli(args: string[]): Promise<Captured> {
  const r = await runCliIn([...args, '--no-color'], { prefix: 'mc-transport-' });
  return { code: r.code, out: r.out, err: r.err, report: r.report() };
}

function verdicts(r: Captured): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of r.report?.cases ?? []) out[`${c.id} ${c.protocol}`] = c.status;
  return out;
}

/** Runs the selection over `target` and over the TCP baseline; the verdicts must be the same. */
async function sameAsTcp(tcp: string, target: string, extra: string[] = []): Promise<Captured> {
  const base = await runCli([tcp, '--only', SELECTION]);
  const r = await runCli([target, '--only', SELECTION, ...extra]);
  expect(r.report?.stoppedBy, r.out + r.err).toBeUndefined();
  expect(r.report?.target).toBe(target);
  expect(verdicts(r)).toEqual(verdicts(base));
  expect(r.code).toBe(base.code);
  return r;
}

const tls = opensslAvailable();
let certs: TestCerts;
beforeAll(() => {
  if (tls) certs = makeCerts(tempDir('mc-certs-'));
});

describe('target URLs', () => {
  it('refuses TLS options on a plain target and --cert without --key (exit 2)', async () => {
    for (const args of [
      ['ws://127.0.0.1:1/mqtt', '--insecure'],
      ['mqtt://127.0.0.1:1', '--cert', 'c.pem', '--key', 'k.pem'],
      ['mqtts://127.0.0.1:1', '--cert', 'c.pem'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });
});

describe.skipIf(!tls)('reference broker: TLS with client certificates, WS and WSS listeners', () => {
  let broker: Awaited<ReturnType<typeof startBroker>>;
  const port = (type: string): number => broker.listeners.find((l) => l.type === type)!.port;
  beforeAll(async () => {
    broker = await startBroker({
      host: '127.0.0.1',
      port: 0,
      config: {
        listeners: [
          { type: 'tls', port: 0, cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
          { type: 'ws', port: 0 },
          { type: 'wss', port: 0, cert: certs.serverCert, key: certs.serverKey },
        ],
      },
    });
  });
  afterAll(async () => {
    await broker?.close();
  });
  const tcp = (): string => `127.0.0.1:${broker.port}`;

  it('ws://: same verdicts as TCP, the wire log says WebSocket', async () => {
    const r = await sameAsTcp(tcp(), `ws://127.0.0.1:${port('ws')}/mqtt`, ['--verbose']);
    expect(r.report?.cases[0]?.wireLog).toContain('(WebSocket, subprotocol mqtt)');
  });

  it('wss:// with --ca: same verdicts as TCP; without it the certificate is refused (exit 3)', async () => {
    await sameAsTcp(tcp(), `wss://127.0.0.1:${port('wss')}/mqtt`, ['--ca', certs.ca]);
    const untrusted = await runCli([`wss://127.0.0.1:${port('wss')}/mqtt`, '--only', SELECTION]);
    expect(untrusted.code).toBe(3);
    expect(untrusted.report?.stoppedBy).toBe('target-unreachable');
  });

  it('mqtts:// with --cert/--key: same verdicts as TCP; without a client certificate: exit 3', async () => {
    const target = `mqtts://127.0.0.1:${port('tls')}`;
    await sameAsTcp(tcp(), target, ['--ca', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey]);
    const anonymous = await runCli([target, '--ca', certs.ca, '--only', SELECTION]);
    expect(anonymous.code).toBe(3);
  });

  it('a config file gives the client certificate (tls.cert / tls.key) like --cert / --key', async () => {
    const dir = tempDir('mc-transport-config-');
    const file = join(dir, 'mqtt-conform.config.yaml');
    writeFileSync(
      file,
      `target: mqtts://127.0.0.1:${port('tls')}\ntls: { ca: ${certs.ca}, cert: ${certs.clientCert}, key: ${certs.clientKey} }\n`,
    );
    const r = await runCli(['--config', file, '--only', '3.1.0']);
    expect(r.code, r.out + r.err).toBe(0);
  });

  it('a WebSocket target on a port that serves no WebSocket: exit 3, the error names the WebSocket', async () => {
    const r = await runCli([`ws://127.0.0.1:${broker.port}/mqtt`, '--only', SELECTION, '--timeout', '1000']);
    expect(r.code).toBe(3);
    expect(r.report?.cases[0]?.message).toMatch(
      /target unreachable: .*WebSocket ws:\/\/127\.0\.0\.1:\d+\/mqtt/,
    );
  });
});

describe.skipIf(!tls || !mosquittoAvailable())(
  `mosquitto TLS listener requiring client certificates${mosquittoAvailable() ? '' : ` (${MOSQUITTO_MISSING})`}`,
  () => {
    let m: Awaited<ReturnType<typeof startMosquitto>>;
    let tlsPort = 0;
    beforeAll(async () => {
      m = await startMosquitto({
        configure: async () => {
          tlsPort = await freePort();
          return [
            'allow_anonymous true',
            `listener ${tlsPort} 127.0.0.1`,
            `cafile ${certs.ca}`,
            `certfile ${certs.serverCert}`,
            `keyfile ${certs.serverKey}`,
            'require_certificate true',
          ];
        },
      });
    });
    afterAll(async () => {
      await m?.stop();
    });

    it('mqtts:// with --ca, --cert and --key: same verdicts as TCP; without --cert: exit 3', async () => {
      const target = `mqtts://127.0.0.1:${tlsPort}`;
      await sameAsTcp(`127.0.0.1:${m.port}`, target, [
        '--ca',
        certs.ca,
        '--cert',
        certs.clientCert,
        '--key',
        certs.clientKey,
      ]);
      const anonymous = await runCli([target, '--ca', certs.ca, '--only', SELECTION]);
      expect(anonymous.code, anonymous.out).toBe(3);
    });
  },
);

describe('aedes over WebSocket', () => {
  let http: Server;
  let wss: WebSocketServer;
  let stopAedes: () => Promise<void>;
  let tcpPort = 0;
  beforeAll(async () => {
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker();
    const net = await import('node:net');
    const tcp = net.createServer((s) => aedes.handle(s));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
    tcpPort = (tcp.address() as { port: number }).port;
    http = createServer();
    wss = new WebSocketServer({
      server: http,
      handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : false),
    });
    wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws) as never));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    stopAedes = async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      tcp.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    };
  });
  afterAll(async () => {
    await stopAedes?.();
  });

  it('ws://: same verdicts as TCP (3.1.1; 5.0 skipped on both)', async () => {
    const port = (http.address() as { port: number }).port;
    await sameAsTcp(`127.0.0.1:${tcpPort}`, `ws://127.0.0.1:${port}/`);
  });
});
