import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '../reference-broker/index.js';

/** MQTT.js as an independent client: the broker must interoperate with it in both protocol versions. */
let broker: RunningBroker;
let n = 0;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(() => broker.close());

function connect(version: 4 | 5, opts: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({
      host: '127.0.0.1',
      port: broker.port,
      protocolVersion: version,
      clientId: `interop-${version}-${++n}`,
      reconnectPeriod: 0,
      ...opts,
    });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

function nextMessage(
  c: MqttClient,
  timeoutMs = 3000,
): Promise<{ topic: string; payload: Buffer; packet: mqtt.IPublishPacket }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message')), timeoutMs);
    c.once('message', (topic, payload, packet) => {
      clearTimeout(timer);
      resolve({ topic, payload, packet });
    });
  });
}

for (const version of [4, 5] as const) {
  describe(`MQTT.js ${version === 4 ? '3.1.1' : '5.0'}`, () => {
    it('pub/sub at QoS 0, 1 and 2 (QoS 2 round trip)', async () => {
      const sub = await connect(version);
      const pub = await connect(version);
      const topic = `interop/${version}/pubsub`;
      await sub.subscribeAsync(topic, { qos: 2 });
      for (const qos of [0, 1, 2] as const) {
        const got = nextMessage(sub);
        await pub.publishAsync(topic, `qos${qos}`, { qos });
        const m = await got;
        expect(m.payload.toString()).toBe(`qos${qos}`);
        expect(m.packet.qos).toBe(qos);
      }
      await sub.endAsync();
      await pub.endAsync();
    });

    it('retained message', async () => {
      const pub = await connect(version);
      const topic = `interop/${version}/retain`;
      await pub.publishAsync(topic, 'kept', { qos: 1, retain: true });
      const sub = await connect(version);
      const got = nextMessage(sub);
      await sub.subscribeAsync(topic, { qos: 1 });
      const m = await got;
      expect(m.payload.toString()).toBe('kept');
      expect(m.packet.retain).toBe(true);
      await pub.publishAsync(topic, '', { qos: 1, retain: true });
      await sub.endAsync();
      await pub.endAsync();
    });

    it('will message on an abnormal close', async () => {
      const topic = `interop/${version}/will`;
      const watcher = await connect(version);
      await watcher.subscribeAsync(topic, { qos: 1 });
      const dying = await connect(version, {
        will: { topic, payload: Buffer.from('bye'), qos: 1, retain: false },
      });
      const got = nextMessage(watcher);
      dying.stream.destroy();
      expect((await got).payload.toString()).toBe('bye');
      dying.end(true);
      await watcher.endAsync();
    });

    it('persistent session receives QoS 1 published while offline', async () => {
      const clientId = `interop-persist-${version}`;
      const topic = `interop/${version}/persist`;
      const sessionOpts: IClientOptions =
        version === 5
          ? { clientId, clean: false, properties: { sessionExpiryInterval: 60 } }
          : { clientId, clean: false };
      const first = await connect(version, sessionOpts);
      await first.subscribeAsync(topic, { qos: 1 });
      await first.endAsync();
      const pub = await connect(version);
      await pub.publishAsync(topic, 'queued', { qos: 1 });
      const again = mqtt.connect({
        host: '127.0.0.1',
        port: broker.port,
        protocolVersion: version,
        reconnectPeriod: 0,
        ...sessionOpts,
      });
      const got = nextMessage(again);
      expect((await got).payload.toString()).toBe('queued');
      await again.endAsync();
      await pub.endAsync();
    });
  });
}

describe('MQTT.js 5.0 topic aliases', () => {
  it('round-trips with aliases in both directions', async () => {
    const sub = await connect(5, { properties: { topicAliasMaximum: 5 } });
    const pub = await connect(5, { autoUseTopicAlias: true });
    const topic = 'interop/5/alias';
    await sub.subscribeAsync(topic, { qos: 1 });
    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      sub.on('message', (t, payload) => {
        expect(t).toBe(topic);
        got.push(payload.toString());
        if (got.length === 3) resolve();
      });
    });
    for (const p of ['1', '2', '3']) await pub.publishAsync(topic, p, { qos: 1 });
    await all;
    expect(got).toEqual(['1', '2', '3']);
    await sub.endAsync();
    await pub.endAsync();
  });
});
