import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';
import type { ProtocolVersion, PublishPacket, QoS } from '../src/codec/index.js';

let broker: RunningBroker;
let n = 0;
const uid = () => `ss${++n}`;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(() => broker.close());

function pub(topic: string, payload: string, qos: QoS, packetId = 1, dup = false): PublishPacket {
  return {
    type: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: false,
    dup,
    ...(qos ? { packetId } : {}),
  };
}

async function subscribe(c: TestClient, topic: string, qos: QoS): Promise<void> {
  c.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      c.version === 5
        ? { topic, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }
        : { topic, qos },
    ],
    ...(c.version === 5 ? { properties: {} } : {}),
  });
  await c.expect('suback');
}

async function publisher(version: ProtocolVersion = 4): Promise<TestClient> {
  return (await TestClient.connect(broker.port, { clientId: uid(), protocolVersion: version })).client;
}

async function sendAcked(p: TestClient, packet: PublishPacket): Promise<void> {
  p.send(packet);
  if (packet.qos === 1) await p.expect('puback');
  if (packet.qos === 2) {
    await p.expect('pubrec');
    p.send({ type: 'pubrel', packetId: packet.packetId! });
    await p.expect('pubcomp');
  }
}

describe('3.1.1 sessions', () => {
  it('keeps subscriptions and queues QoS 1/2 (not QoS 0) while offline [MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-2]', async () => {
    const clientId = uid();
    const topic = `${clientId}/t`;
    const first = await TestClient.connect(broker.port, { clientId, clean: false });
    expect(first.connack.sessionPresent).toBe(false);
    await subscribe(first.client, topic, 2);
    await first.client.disconnect();
    const p = await publisher();
    await sendAcked(p, pub(topic, 'q0', 0));
    await sendAcked(p, pub(topic, 'q1', 1, 1));
    await sendAcked(p, pub(topic, 'q2', 2, 2));
    await sendAcked(p, pub(topic, 'q1b', 1, 3));
    const again = await TestClient.connect(broker.port, { clientId, clean: false });
    expect(again.connack.sessionPresent).toBe(true);
    const a = await again.client.expect('publish');
    const b = await again.client.expect('publish');
    const c = await again.client.expect('publish');
    expect([a, b, c].map((m) => [m.payload.toString(), m.qos])).toEqual([
      ['q1', 1],
      ['q2', 2],
      ['q1b', 1],
    ]);
    // Clean session discards it [MQTT-3.1.2-6] [MQTT-3.2.2-1].
    again.client.destroy();
    const clean = await TestClient.connect(broker.port, { clientId, clean: true });
    expect(clean.connack.sessionPresent).toBe(false);
    await clean.client.disconnect();
    const after = await TestClient.connect(broker.port, { clientId, clean: false });
    expect(after.connack.sessionPresent).toBe(false);
    await sendAcked(p, pub(topic, 'gone', 1, 4));
    await after.client.expectNothing(150);
    after.client.send({ type: 'disconnect' });
    await (await TestClient.connect(broker.port, { clientId, clean: true })).client.disconnect();
    await p.disconnect();
  });

  it('redelivers unacknowledged QoS 1 with DUP 1 and resends PUBREL on reconnect [MQTT-4.4.0-1] [MQTT-3.3.1-1]', async () => {
    const clientId = uid();
    const topic = `${clientId}/t`;
    const first = await TestClient.connect(broker.port, { clientId, clean: false });
    await subscribe(first.client, topic, 2);
    const p = await publisher();
    await sendAcked(p, pub(topic, 'one', 1, 1));
    await sendAcked(p, pub(topic, 'two', 2, 2));
    const m1 = await first.client.expect('publish');
    const m2 = await first.client.expect('publish');
    expect(m1.dup).toBe(false);
    // Acknowledge the QoS 2 PUBLISH with PUBREC only; leave the QoS 1 unacknowledged.
    first.client.send({ type: 'pubrec', packetId: m2.packetId! });
    await first.client.expect('pubrel');
    first.client.destroy();
    await first.client.waitClosed();
    const again = await TestClient.connect(broker.port, { clientId, clean: false });
    expect(again.connack.sessionPresent).toBe(true);
    const r1 = await again.client.expect('publish');
    expect(r1).toMatchObject({ packetId: m1.packetId, dup: true, qos: 1 });
    expect(r1.payload.toString()).toBe('one');
    expect(await again.client.expect('pubrel')).toMatchObject({ packetId: m2.packetId });
    again.client.send({ type: 'puback', packetId: r1.packetId! });
    again.client.send({ type: 'pubcomp', packetId: m2.packetId! });
    await again.client.expectNothing(150);
    again.client.send({ type: 'disconnect' });
    await (await TestClient.connect(broker.port, { clientId, clean: true })).client.disconnect();
    await p.disconnect();
  });

  it('keeps incoming QoS 2 state across reconnects: no second delivery of a resent PUBLISH', async () => {
    const clientId = uid();
    const topic = `${clientId}/t`;
    const watcher = await publisher();
    await subscribe(watcher, topic, 0);
    const first = await TestClient.connect(broker.port, { clientId, clean: false });
    first.client.send(pub(topic, 'once', 2, 77));
    await first.client.expect('pubrec');
    first.client.destroy();
    expect((await watcher.expect('publish')).payload.toString()).toBe('once');
    const again = await TestClient.connect(broker.port, { clientId, clean: false });
    again.client.send(pub(topic, 'once', 2, 77, true));
    await again.client.expect('pubrec');
    again.client.send({ type: 'pubrel', packetId: 77 });
    await again.client.expect('pubcomp');
    await watcher.expectNothing(150);
    again.client.send({ type: 'disconnect' });
    await (await TestClient.connect(broker.port, { clientId, clean: true })).client.disconnect();
    await watcher.disconnect();
  });
});

describe('5.0 sessions', () => {
  it('session expiry 0 ends the session with the connection', async () => {
    const clientId = uid();
    const a = await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: false });
    await a.client.disconnect();
    const b = await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: false });
    expect(b.connack.sessionPresent).toBe(false);
    await b.client.disconnect();
  });

  it('a session with expiry survives, then expires [MQTT-3.1.2-23] [MQTT-4.1.0-2]', async () => {
    const clientId = uid();
    const props = { sessionExpiryInterval: 1 };
    const a = await TestClient.connect(broker.port, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: props,
    });
    await a.client.disconnect();
    const b = await TestClient.connect(broker.port, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: props,
    });
    expect(b.connack.sessionPresent).toBe(true);
    await b.client.disconnect();
    await new Promise((r) => setTimeout(r, 1500));
    const c = await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: false });
    expect(c.connack.sessionPresent).toBe(false);
    await c.client.disconnect();
  });

  it('clean start discards an existing session [MQTT-3.1.2-4] [MQTT-3.2.2-2]', async () => {
    const clientId = uid();
    const props = { sessionExpiryInterval: 60 };
    const a = await TestClient.connect(broker.port, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: props,
    });
    await a.client.disconnect();
    const b = await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: true });
    expect(b.connack.sessionPresent).toBe(false);
    await b.client.disconnect();
  });

  it('DISCONNECT may not raise a session expiry of 0 (Protocol Error)', async () => {
    const a = await TestClient.connect(broker.port, { clientId: uid(), protocolVersion: 5 });
    a.client.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    const [d] = await a.client.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x82 });
  });

  it('DISCONNECT can shorten a session expiry to 0', async () => {
    const clientId = uid();
    const a = await TestClient.connect(broker.port, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    a.client.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await a.client.waitClosed();
    const b = await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: false });
    expect(b.connack.sessionPresent).toBe(false);
    await b.client.disconnect();
  });
});

describe('redelivery and flow control', () => {
  it('resends unacknowledged messages within a smaller Receive Maximum after reconnect [MQTT-3.3.4-9]', async () => {
    const clientId = uid();
    const topic = `${clientId}/t`;
    const props = { sessionExpiryInterval: 60 };
    const first = await TestClient.connect(broker.port, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { ...props, receiveMaximum: 10 },
    });
    await subscribe(first.client, topic, 1);
    const p = await publisher();
    for (let i = 1; i <= 4; i++) await sendAcked(p, pub(topic, String(i), 1, i));
    for (let i = 1; i <= 4; i++) await first.client.expect('publish');
    first.client.destroy();
    await first.client.waitClosed();
    const again = await TestClient.connect(broker.port, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { ...props, receiveMaximum: 2 },
    });
    const c = again.client;
    const a = await c.expect('publish');
    const b = await c.expect('publish');
    await c.expectNothing(150);
    expect([a, b].map((m) => [m.payload.toString(), m.dup])).toEqual([
      ['1', true],
      ['2', true],
    ]);
    c.send({ type: 'puback', packetId: a.packetId!, reasonCode: 0 });
    const third = await c.expect('publish');
    expect([third.payload.toString(), third.dup]).toEqual(['3', true]);
    await c.expectNothing(100);
    for (const m of [b, third]) c.send({ type: 'puback', packetId: m.packetId!, reasonCode: 0 });
    expect((await c.expect('publish')).payload.toString()).toBe('4');
    c.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await c.waitClosed();
    await p.disconnect();
  });
});
