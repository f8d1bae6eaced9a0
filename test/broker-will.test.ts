import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';
import type { ProtocolVersion, Will } from '../src/codec/index.js';

let broker: RunningBroker;
let n = 0;
const uid = () => `wl${++n}`;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(() => broker.close());

async function watcher(topic: string, version: ProtocolVersion = 4): Promise<TestClient> {
  const { client } = await TestClient.connect(broker.port, { clientId: uid(), protocolVersion: version });
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      version === 5
        ? { topic, qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0 }
        : { topic, qos: 1 },
    ],
    ...(version === 5 ? { properties: {} } : {}),
  });
  await client.expect('suback');
  return client;
}

function will(topic: string, extra: Partial<Will> = {}): Will {
  return { topic, payload: Buffer.from('gone'), qos: 1, retain: false, ...extra };
}

describe('will messages', () => {
  it('publishes the will on an abnormal close [MQTT-3.1.2-8]', async () => {
    const topic = `${uid()}/will`;
    const w = await watcher(topic);
    const { client } = await TestClient.connect(broker.port, { clientId: uid(), will: will(topic) });
    client.destroy();
    expect(await w.expect('publish')).toMatchObject({ topic, qos: 1, retain: false });
    await w.disconnect();
  });

  it('does not publish the will after DISCONNECT [MQTT-3.1.2-10] [MQTT-3.14.4-3]', async () => {
    const topic = `${uid()}/will`;
    const w = await watcher(topic);
    const { client } = await TestClient.connect(broker.port, { clientId: uid(), will: will(topic) });
    await client.disconnect();
    await w.expectNothing(200);
    await w.disconnect();
  });

  it('publishes the will on a protocol violation', async () => {
    const topic = `${uid()}/will`;
    const w = await watcher(topic);
    const { client } = await TestClient.connect(broker.port, { clientId: uid(), will: will(topic) });
    client.sendRaw('36 08 00 03 61 2f 62 00 01 00');
    await client.expectClosed();
    expect((await w.expect('publish')).topic).toBe(topic);
    await w.disconnect();
  });

  it('closes after 1.5x keep-alive and publishes the will; 5.0 sends DISCONNECT 0x8D [MQTT-3.1.2-22]', async () => {
    const topic = `${uid()}/will`;
    const w = await watcher(topic);
    const started = Date.now();
    const { client } = await TestClient.connect(broker.port, {
      clientId: uid(),
      protocolVersion: 5,
      keepAlive: 1,
      will: will(topic, { properties: {} }),
    });
    const [d] = await client.expectClosed(3000, ['disconnect']);
    const elapsed = Date.now() - started;
    expect(d).toMatchObject({ reasonCode: 0x8d });
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(4000);
    expect((await w.expect('publish')).topic).toBe(topic);
    await w.disconnect();
  });

  it('keeps a 3.1.1 connection alive while PINGREQs arrive within the keep-alive [MQTT-3.1.2-24]', async () => {
    const { client } = await TestClient.connect(broker.port, { clientId: uid(), keepAlive: 1 });
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 600));
      client.send({ type: 'pingreq' });
      await client.expect('pingresp');
    }
    await client.disconnect();
  });

  it('stores a retained will as retained [MQTT-3.1.2-17]', async () => {
    const topic = `${uid()}/will`;
    const { client } = await TestClient.connect(broker.port, {
      clientId: uid(),
      will: will(topic, { retain: true }),
    });
    client.destroy();
    await client.waitClosed();
    // The will is published when the broker sees the close; a late subscriber gets it as retained.
    const deadline = Date.now() + 2000;
    for (;;) {
      const w = await watcher(topic);
      const m = await w.next(200);
      await w.disconnect();
      if (m?.kind === 'packet' && m.packet.type === 'publish') {
        expect(m.packet.retain).toBe(true);
        break;
      }
      if (Date.now() > deadline) throw new Error('retained will not stored');
    }
  });

  it('5.0: DISCONNECT 0x04 publishes the will', async () => {
    const topic = `${uid()}/will`;
    const w = await watcher(topic, 5);
    const { client } = await TestClient.connect(broker.port, {
      clientId: uid(),
      protocolVersion: 5,
      will: will(topic, { properties: { userProperties: [['k', 'v']] } }),
    });
    client.send({ type: 'disconnect', reasonCode: 0x04, properties: {} });
    const m = await w.expect('publish');
    expect(m).toMatchObject({ topic, properties: { userProperties: [['k', 'v']] } });
    await w.disconnect();
  });

  it('5.0: will delay postpones the will, and a reconnect before it withdraws it [MQTT-3.1.3-9]', async () => {
    const topic = `${uid()}/will`;
    const w = await watcher(topic, 5);
    const clientId = uid();
    const opts = {
      clientId,
      protocolVersion: 5 as const,
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      will: will(topic, { properties: { willDelayInterval: 1 } }),
    };
    const first = await TestClient.connect(broker.port, opts);
    first.client.destroy();
    await w.expectNothing(300);
    const second = await TestClient.connect(broker.port, opts);
    expect(second.connack.sessionPresent).toBe(true);
    await w.expectNothing(1000);
    // Now let the delay run out.
    const started = Date.now();
    second.client.destroy();
    await w.expect('publish', 2500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // Clean up the persistent session.
    const last = await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: true });
    await last.client.disconnect();
    await w.disconnect();
  });
});

describe('will edge cases', () => {
  it('a takeover publishes the old connection will (3.1.1)', async () => {
    const topic = `${uid()}/will`;
    const w = await watcher(topic);
    const clientId = uid();
    await TestClient.connect(broker.port, { clientId, will: will(topic, { qos: 2 }) });
    const second = await TestClient.connect(broker.port, { clientId });
    const m = await w.expect('publish');
    // Delivered at min(will QoS 2, granted 1).
    expect(m).toMatchObject({ topic, qos: 1 });
    await second.client.disconnect();
    await w.disconnect();
  });

  it('5.0: a will delay with session expiry 0 is published at once (the session ends)', async () => {
    const topic = `${uid()}/will`;
    const w = await watcher(topic, 5);
    const { client } = await TestClient.connect(broker.port, {
      clientId: uid(),
      protocolVersion: 5,
      will: will(topic, { properties: { willDelayInterval: 30 } }),
    });
    client.destroy();
    await w.expect('publish', 1000);
    await w.disconnect();
  });

  it('5.0: DISCONNECT with an error reason code from the client keeps the will [MQTT-3.1.2-10]', async () => {
    const topic = `${uid()}/will`;
    const w = await watcher(topic, 5);
    const { client } = await TestClient.connect(broker.port, {
      clientId: uid(),
      protocolVersion: 5,
      will: will(topic, { properties: {} }),
    });
    client.send({ type: 'disconnect', reasonCode: 0x80, properties: {} });
    await w.expect('publish');
    await w.disconnect();
  });
});
