import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';
import type { ProtocolVersion, PublishPacket, QoS, Subscription } from '../src/codec/index.js';

let broker: RunningBroker;
let n = 0;
const uid = () => `rt${++n}`;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(() => broker.close());

async function client(version: ProtocolVersion = 4): Promise<TestClient> {
  return (await TestClient.connect(broker.port, { clientId: uid(), protocolVersion: version })).client;
}

function retained(topic: string, payload: string, qos: QoS = 0, retain = true): PublishPacket {
  return {
    type: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain,
    dup: false,
    ...(qos ? { packetId: 1 } : {}),
  };
}

async function sub(c: TestClient, s: Subscription, packetId = 1): Promise<void> {
  const full: Subscription =
    c.version === 5
      ? { noLocal: false, retainAsPublished: false, retainHandling: 0, ...s }
      : { topic: s.topic, qos: s.qos };
  c.send({
    type: 'subscribe',
    packetId,
    subscriptions: [full],
    ...(c.version === 5 ? { properties: {} } : {}),
  });
  await c.expect('suback');
}

/** Publishes and waits until the broker has processed it (PUBACK). */
async function publishAcked(p: TestClient, packet: PublishPacket): Promise<void> {
  p.send({ ...packet, qos: 1, packetId: 9 });
  await p.expect('puback');
}

describe('retained messages (3.1.1)', () => {
  it('stores and sends a retained message to a new subscriber with RETAIN 1 [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8]', async () => {
    const topic = `${uid()}/r`;
    const p = await client();
    await publishAcked(p, retained(topic, 'v1'));
    const s = await client();
    await sub(s, { topic, qos: 1 });
    expect(await s.expect('publish')).toMatchObject({ topic, retain: true, qos: 1 });
    await s.disconnect();
    await p.disconnect();
  });

  it('replaces the stored message, also at QoS 0 [MQTT-3.3.1-7]', async () => {
    const topic = `${uid()}/r`;
    const p = await client();
    await publishAcked(p, retained(topic, 'v1'));
    p.send(retained(topic, 'v2', 0));
    await publishAcked(p, retained(`${topic}/other`, 'sync'));
    const s = await client();
    await sub(s, { topic, qos: 0 });
    expect((await s.expect('publish')).payload.toString()).toBe('v2');
    await s.expectNothing(100);
    await s.disconnect();
    await p.disconnect();
  });

  it('clears the stored message with an empty payload, which is not stored [MQTT-3.3.1-10] [MQTT-3.3.1-11]', async () => {
    const topic = `${uid()}/r`;
    const p = await client();
    await publishAcked(p, retained(topic, 'v1'));
    await publishAcked(p, retained(topic, ''));
    const s = await client();
    await sub(s, { topic, qos: 0 });
    await s.expectNothing(150);
    await s.disconnect();
    await p.disconnect();
  });

  it('a RETAIN 0 message leaves the store alone [MQTT-3.3.1-12]', async () => {
    const topic = `${uid()}/r`;
    const p = await client();
    await publishAcked(p, retained(topic, 'kept'));
    await publishAcked(p, retained(topic, 'not retained', 0, false));
    const s = await client();
    await sub(s, { topic, qos: 0 });
    expect((await s.expect('publish')).payload.toString()).toBe('kept');
    await s.disconnect();
    await p.disconnect();
  });

  it('sends retained messages matching a wildcard, at min QoS, and again on a replaced subscription [MQTT-3.8.4-3]', async () => {
    const prefix = uid();
    const p = await client();
    await publishAcked(p, retained(`${prefix}/a`, 'a'));
    p.send({ ...retained(`${prefix}/b`, 'b', 2), packetId: 2 });
    await p.expect('pubrec');
    const s = await client();
    await sub(s, { topic: `${prefix}/+`, qos: 1 });
    const got = [await s.expect('publish'), await s.expect('publish')];
    expect(got.map((m) => m.topic).sort()).toEqual([`${prefix}/a`, `${prefix}/b`]);
    expect(got.every((m) => m.qos === 1 && m.retain)).toBe(true);
    for (const m of got) s.send({ type: 'puback', packetId: m.packetId! });
    await sub(s, { topic: `${prefix}/+`, qos: 0 });
    expect((await s.expect('publish')).retain).toBe(true);
    expect((await s.expect('publish')).retain).toBe(true);
    await s.disconnect();
    await p.disconnect();
  });
});

describe('retained messages (5.0)', () => {
  it('retain handling 0 / 1 / 2 [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]', async () => {
    const topic = `${uid()}/r`;
    const p = await client(5);
    await publishAcked(p, { ...retained(topic, 'v'), properties: {} });
    const s = await client(5);
    await sub(s, { topic, qos: 0, retainHandling: 1 });
    expect((await s.expect('publish')).retain).toBe(true);
    // Resubscribing with handling 1: the subscription exists, so nothing.
    await sub(s, { topic, qos: 0, retainHandling: 1 });
    await s.expectNothing(100);
    // Handling 0: sent again on the replaced subscription [MQTT-3.8.4-4].
    await sub(s, { topic, qos: 0, retainHandling: 0 });
    expect((await s.expect('publish')).retain).toBe(true);
    const t = await client(5);
    await sub(t, { topic, qos: 0, retainHandling: 2 });
    await t.expectNothing(100);
    await s.disconnect();
    await t.disconnect();
    await p.disconnect();
  });

  it('retain as published keeps RETAIN on live forwarding, otherwise 0 [MQTT-3.3.1-12] [MQTT-3.3.1-13]', async () => {
    const topic = `${uid()}/r`;
    const keep = await client(5);
    await sub(keep, { topic, qos: 0, retainAsPublished: true });
    const clear = await client(5);
    await sub(clear, { topic, qos: 0, retainAsPublished: false });
    const p = await client(5);
    p.send({ ...retained(topic, 'v'), properties: {} });
    expect((await keep.expect('publish')).retain).toBe(true);
    expect((await clear.expect('publish')).retain).toBe(false);
    for (const c of [keep, clear, p]) await c.disconnect();
  });
});
