import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrokerConfigError,
  loadBrokerConfig,
  type RunningBroker,
  startBroker,
} from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';
import { tempDir } from './helpers/temp-dir.js';

let broker: RunningBroker;
let dir: string;

const CONFIG = `
users:
  alice: secret
  bob: hunter2
acl:
  - { topic: "public/#", access: readwrite }
  - { topic: "users/%u/#", access: readwrite }
  - { topic: "feeds/+", access: read }
  - { topic: "feeds/+", access: write, username: alice }
  - { topic: "public/secret", access: readwrite, allow: false }
limits:
  maxConnections: 5
`;

beforeAll(async () => {
  dir = tempDir('broker-acl-');
  const file = join(dir, 'broker.yaml');
  writeFileSync(file, CONFIG);
  broker = await startBroker({ config: loadBrokerConfig(file) });
});
afterAll(() => broker.close());

async function as(username: string, password: string, version: 4 | 5 = 4): Promise<TestClient> {
  const { client, connack } = await TestClient.connect(broker.port, {
    clientId: `${username}-${version}-${Math.random()}`,
    username,
    password: Buffer.from(password),
    protocolVersion: version,
  });
  expect(connack.reasonCode).toBe(0);
  return client;
}

describe('config file', () => {
  it('rejects unknown keys with a BrokerConfigError', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'usres: {}\n');
    expect(() => loadBrokerConfig(file)).toThrow(BrokerConfigError);
  });

  it('reads JSON too', () => {
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ users: [{ username: 'u', password: 'p' }], limits: { maxInflight: 5 } }),
    );
    expect(loadBrokerConfig(file)).toEqual({
      users: [{ username: 'u', password: 'p' }],
      limits: { maxInflight: 5 },
    });
  });
});

describe('ACL', () => {
  it('SUBACK 0x80 (3.1.1) and 0x87 (5.0) for a filter outside the ACL', async () => {
    const v4 = await as('alice', 'secret');
    v4.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topic: 'public/a', qos: 1 },
        { topic: 'private/a', qos: 1 },
        { topic: 'users/alice/x', qos: 0 },
        { topic: 'users/bob/x', qos: 0 },
        { topic: '#', qos: 0 },
      ],
    });
    expect((await v4.expect('suback')).reasonCodes).toEqual([1, 0x80, 0, 0x80, 0x80]);
    const v5 = await as('alice', 'secret', 5);
    v5.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topic: 'private/a', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topic: 'feeds/+', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
      properties: {},
    });
    expect((await v5.expect('suback')).reasonCodes).toEqual([0x87, 1]);
    await v4.disconnect();
    await v5.disconnect();
  });

  it('PUBACK 0x87 for an unauthorised 5.0 publish, positive ack and no delivery in 3.1.1 [MQTT-3.3.5-2]', async () => {
    const reader = await as('alice', 'secret');
    reader.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'feeds/+', qos: 0 }] });
    await reader.expect('suback');
    const bob5 = await as('bob', 'hunter2', 5);
    bob5.send({
      type: 'publish',
      topic: 'feeds/x',
      payload: Buffer.from('no'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 3,
      properties: {},
    });
    expect(await bob5.expect('puback')).toMatchObject({ packetId: 3, reasonCode: 0x87 });
    bob5.send({
      type: 'publish',
      topic: 'feeds/x',
      payload: Buffer.from('no'),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 4,
      properties: {},
    });
    expect(await bob5.expect('pubrec')).toMatchObject({ packetId: 4, reasonCode: 0x87 });
    const bob4 = await as('bob', 'hunter2');
    bob4.send({
      type: 'publish',
      topic: 'feeds/x',
      payload: Buffer.from('no'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 5,
    });
    expect(await bob4.expect('puback')).toMatchObject({ packetId: 5 });
    await reader.expectNothing(150);
    const alice = await as('alice', 'secret');
    alice.send({
      type: 'publish',
      topic: 'feeds/x',
      payload: Buffer.from('yes'),
      qos: 0,
      retain: false,
      dup: false,
    });
    expect((await reader.expect('publish')).payload.toString()).toBe('yes');
    for (const c of [reader, bob5, bob4, alice]) await c.disconnect();
  });

  it('a deny rule withholds matching topics from a wildcard subscription', async () => {
    const reader = await as('bob', 'hunter2');
    reader.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'public/#', qos: 0 }] });
    await reader.expect('suback');
    const w = await as('alice', 'secret');
    w.send({
      type: 'publish',
      topic: 'public/secret',
      payload: Buffer.from('s'),
      qos: 0,
      retain: false,
      dup: false,
    });
    w.send({
      type: 'publish',
      topic: 'public/open',
      payload: Buffer.from('o'),
      qos: 0,
      retain: false,
      dup: false,
    });
    expect((await reader.expect('publish')).topic).toBe('public/open');
    for (const c of [reader, w]) await c.disconnect();
  });
});

describe('limits', () => {
  it('refuses connections above maxConnections', async () => {
    const open = await Promise.all(Array.from({ length: 5 }, () => TestClient.open(broker.port)));
    const extra = await TestClient.open(broker.port);
    await extra.expectClosed();
    for (const c of open) c.destroy();
    await Promise.all(open.map((c) => c.waitClosed()));
  });
});

describe('per-session caps', () => {
  it('refuses subscriptions beyond maxSubscriptionsPerSession (0x80 / 0x97), replacing still works', async () => {
    const own = await startBroker({ config: { limits: { maxSubscriptionsPerSession: 2 } } });
    try {
      for (const version of [4, 5] as const) {
        const { client } = await TestClient.connect(own.port, {
          clientId: `cap${version}`,
          protocolVersion: version,
        });
        const subs = ['a', 'b', 'c', 'a'].map((topic) =>
          version === 5
            ? { topic, qos: 0 as const, noLocal: false, retainAsPublished: false, retainHandling: 0 as const }
            : { topic, qos: 0 as const },
        );
        client.send({
          type: 'subscribe',
          packetId: 1,
          subscriptions: subs,
          ...(version === 5 ? { properties: {} } : {}),
        });
        expect((await client.expect('suback')).reasonCodes).toEqual([0, 0, version === 5 ? 0x97 : 0x80, 0]);
        await client.disconnect();
      }
    } finally {
      await own.close();
    }
  });

  it('refuses new sessions beyond maxSessions (0x03 / 0x97)', async () => {
    const own = await startBroker({ config: { limits: { maxSessions: 1 } } });
    try {
      const first = await TestClient.connect(own.port, { clientId: 'one' });
      expect(first.connack.reasonCode).toBe(0);
      const v4 = await TestClient.connect(own.port, { clientId: 'two' });
      expect(v4.connack.reasonCode).toBe(3);
      await v4.client.expectClosed();
      const v5 = await TestClient.connect(own.port, { clientId: 'three', protocolVersion: 5 });
      expect(v5.connack.reasonCode).toBe(0x97);
      await v5.client.expectClosed();
      await first.client.disconnect();
    } finally {
      await own.close();
    }
  });
});
