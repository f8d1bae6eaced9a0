import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningReferenceBroker, startBroker } from '../reference-broker/index.js';
import { tempDir } from './helpers/temp-dir.js';

let broker: RunningReferenceBroker;
const port = (type: string) => broker.listeners.find((l) => l.type === type)!.port;

beforeAll(async () => {
  const dir = tempDir('broker-tls-');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  broker = await startBroker({
    config: {
      listeners: [{ type: 'tls', cert, key }, { type: 'ws' }, { type: 'wss', cert, key }],
    },
  });
});
afterAll(() => broker.close());

function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, rejectUnauthorized: false, ...opts });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

describe('listeners', () => {
  it('carries MQTT over TCP, TLS, WebSocket and secure WebSocket, all sharing one broker', async () => {
    const sub = await connect(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5 });
    await sub.subscribeAsync('listeners/#', { qos: 1 });
    const urls = [
      `mqtts://127.0.0.1:${port('tls')}`,
      `ws://127.0.0.1:${port('ws')}/mqtt`,
      `wss://127.0.0.1:${port('wss')}/mqtt`,
    ];
    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      sub.on('message', (topic) => {
        got.push(topic);
        if (got.length === urls.length) resolve();
      });
    });
    for (const [i, url] of urls.entries()) {
      const c = await connect(url, { protocolVersion: i === 1 ? 4 : 5 });
      await c.publishAsync(`listeners/${i}`, 'x', { qos: 1 });
      await c.endAsync();
    }
    await all;
    expect(got.sort()).toEqual(['listeners/0', 'listeners/1', 'listeners/2']);
    await sub.endAsync();
  });

  it('refuses a WebSocket handshake without the mqtt subprotocol [MQTT-6.0.0-4]', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: port('ws'),
        path: '/mqtt',
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Protocol': 'chat',
        },
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => resolve(101));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
  });

  it('closes on a text frame [MQTT-6.0.0-1]', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port: port('ws') }, () => {
        s.write(
          'GET /mqtt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
        );
        // A masked text frame "hi".
        s.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]));
      });
      s.on('data', () => {});
      s.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 2000).unref();
    });
    expect(closed).toBe(true);
  });

  it('reassembles MQTT packets split across WebSocket frames [MQTT-6.0.0-2]', async () => {
    const { encode } = await import('../src/codec/index.js');
    const connect = encode({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 0,
      clientId: 'frag',
    });
    const ping = Buffer.from([0xc0, 0x00]);
    const bytes = Buffer.concat([connect, ping]);
    const frame = (payload: Buffer, fin: boolean, opcode: number) => {
      const mask = Buffer.from([9, 8, 7, 6]);
      const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
      return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length]), mask, masked]);
    };
    const got = await new Promise<Buffer>((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port: port('ws') }, () => {
        s.write(
          'GET /mqtt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
        );
        // CONNECT + PINGREQ cut at odd places: a binary frame, a continuation, and a separate binary frame.
        s.write(frame(bytes.subarray(0, 5), false, 0x2));
        s.write(frame(bytes.subarray(5, connect.length + 1), true, 0x0));
        s.write(frame(bytes.subarray(connect.length + 1), true, 0x2));
      });
      let data = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        data = Buffer.concat([data, d]);
        // After the HTTP response: CONNACK and PINGRESP in one or two unmasked binary frames.
        const body = data.subarray(data.indexOf('\r\n\r\n') + 4);
        let total = 0;
        for (let at = 0; at + 2 <= body.length; at += 2 + body[at + 1]!) total += body[at + 1]!;
        if (total >= 6) {
          s.destroy();
          resolve(body);
        }
      });
      s.on('error', reject);
    });
    const payloads: number[] = [];
    for (let at = 0; at < got.length; ) {
      expect(got[at]).toBe(0x82);
      const len = got[at + 1]!;
      payloads.push(...got.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    expect(Buffer.from(payloads).toString('hex')).toBe('20020000d000');
  });

  it('survives 100 random WebSocket byte streams after a valid handshake (seed 5)', async () => {
    const { default: fc } = await import('fast-check');
    const streams = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), { numRuns: 100, seed: 5 });
    const hit = (bytes: Uint8Array) =>
      new Promise<void>((resolve) => {
        const s = netConnect({ host: '127.0.0.1', port: port('ws') }, () => {
          s.write(
            'GET /mqtt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
          );
          s.write(bytes);
          setTimeout(() => s.destroy(), 30);
        });
        s.on('data', () => {});
        s.on('error', () => {});
        s.on('close', () => resolve());
      });
    for (let i = 0; i < streams.length; i += 20) await Promise.all(streams.slice(i, i + 20).map(hit));
    const probe = await connect(`ws://127.0.0.1:${port('ws')}/mqtt`);
    await probe.publishAsync('probe', 'alive', { qos: 1 });
    await probe.endAsync();
    for (let i = 0; i < 50 && broker.stats().connections > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(broker.stats()).toMatchObject({ connections: 0, internalErrors: 0 });
  });

  it('carries a 1 MB message over WebSocket both ways', async () => {
    const sub = await connect(`ws://127.0.0.1:${port('ws')}/mqtt`);
    await sub.subscribeAsync('big/ws', { qos: 1 });
    const got = new Promise<Buffer>((resolve) => sub.once('message', (_t, p) => resolve(p)));
    const pub = await connect(`ws://127.0.0.1:${port('ws')}/mqtt`, { protocolVersion: 5 });
    const payload = Buffer.alloc(1024 * 1024, 7);
    await pub.publishAsync('big/ws', payload, { qos: 1 });
    expect((await got).equals(payload)).toBe(true);
    await sub.endAsync();
    await pub.endAsync();
  });
});
