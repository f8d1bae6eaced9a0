import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliIo, main } from '../src/cli/main.js';
import { RawClient } from '../src/client/index.js';
import { tempDir } from './helpers/temp-dir.js';

/** `mqtt-conform broker`: starts the reference broker in the foreground until a signal. */
function io(): {
  io: Partial<CliIo>;
  out: () => string;
  err: () => string;
  signal: (s: 'SIGINT' | 'SIGTERM') => void;
  listening: Promise<number>;
} {
  let out = '';
  let err = '';
  let handler: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  let onListening: (port: number) => void = () => undefined;
  const listening = new Promise<number>((resolve) => {
    onListening = resolve;
  });
  return {
    io: {
      stdout: (t) => {
        out += t;
        const m = /listening on tcp 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) onListening(Number(m[1]));
      },
      stderr: (t) => {
        err += t;
      },
      isTTY: false,
      onSignal: (h) => {
        handler = h;
        return () => {
          handler = undefined;
        };
      },
    },
    out: () => out,
    err: () => err,
    signal: (s) => handler?.(s),
    listening,
  };
}

describe('mqtt-conform broker', () => {
  it('serves MQTT 3.1.1 and 5.0 on the given port and stops on SIGTERM with exit 0', async () => {
    const t = io();
    const run = main(['broker', '--port', '0', '--log-level', 'silent'], t.io);
    const port = await t.listening;
    for (const protocolVersion of [4, 5] as const) {
      const c = await RawClient.connect({ host: '127.0.0.1', port });
      c.send({
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion,
        clean: true,
        keepAlive: 30,
        clientId: `cli-broker-${protocolVersion}`,
        ...(protocolVersion === 5 ? { properties: {} } : {}),
      });
      const r = await c.expect({ type: 'connack', reasonCode: 0 }, { timeoutMs: 2000 });
      expect(r.ok).toBe(true);
      await c.close();
    }
    t.signal('SIGTERM');
    expect(await run).toBe(0);
    expect(t.out()).toContain('SIGTERM: stopping the broker');
    // The port is released: a new connection is refused.
    await expect(
      RawClient.connect({ host: '127.0.0.1', port, connectTimeoutMs: 1000 }),
    ).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('applies a config file: a user without the right password is refused', async () => {
    const dir = tempDir('mc-broker-');
    const file = join(dir, 'broker.yaml');
    writeFileSync(file, 'allowAnonymous: false\nusers:\n  - username: alice\n    password: secret\n');
    const t = io();
    const run = main(['broker', '--port', '0', '--config', file, '--log-level', 'silent'], t.io);
    const port = await t.listening;
    const c = await RawClient.connect({ host: '127.0.0.1', port });
    c.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 30,
      clientId: 'cli-broker-auth',
      username: 'alice',
      password: Buffer.from('wrong'),
    });
    const r = await c.expect({ type: 'connack', reasonCode: 4 }, { timeoutMs: 2000 });
    expect(r.ok).toBe(true);
    await c.destroy();
    t.signal('SIGINT');
    expect(await run).toBe(0);
  });

  it('usage errors exit 2 with the reason', async () => {
    const bad = io();
    expect(await main(['broker', '--port', 'x'], bad.io)).toBe(2);
    expect(bad.err()).toContain('--port must be a port number');
    const badLevel = io();
    expect(await main(['broker', '--log-level', 'loud'], badLevel.io)).toBe(2);
    const missing = io();
    expect(await main(['broker', '--config', '/nonexistent/broker.yaml'], missing.io)).toBe(2);
    expect(missing.err()).toContain('/nonexistent/broker.yaml');
  });
});
