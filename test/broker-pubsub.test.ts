import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';
import type { ProtocolVersion, PublishPacket, QoS } from '../src/codec/index.js';

let broker: RunningBroker;
let n = 0;
const uid = () => `ps${++n}`;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(() => broker.close());

async function client(version: ProtocolVersion = 4, clientId = uid()): Promise<TestClient> {
  const { client: c } = await TestClient.connect(broker.port, { clientId, protocolVersion: version });
  return c;
}

async function subscribe(c: TestClient, topic: string, qos: QoS = 0): Promise<number[]> {
  c.send({
    type: 'subscribe',
    packetId: 7,
    subscriptions: [{ topic, qos }],
    ...(c.version === 5 ? { properties: {} } : {}),
  });
  return (await c.expect('suback')).reasonCodes;
}

function pub(
  topic: string,
  payload: string,
  qos: QoS = 0,
  packetId?: number,
  extra: Partial<PublishPacket> = {},
): PublishPacket {
  return {
    type: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: false,
    dup: false,
    ...(qos > 0 ? { packetId: packetId ?? 1 } : {}),
    ...extra,
  };
}

describe('topic matching', () => {
  const cases: Array<[string, string, boolean]> = [
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/#', 'sport', true],
    ['sport/#', 'sport/tennis/player1', true],
    ['#', 'anything/at/all', true],
    ['+/+', '/finance', true],
    ['+', '/finance', false],
    ['#', '$SYS/broker', false],
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker', true],
    ['Sport', 'sport', false],
  ];
  for (const [filter, topic, match] of cases) {
    it(`${filter} ${match ? 'matches' : 'does not match'} ${topic} [MQTT-4.7.2-1]`, async () => {
      // A broker of its own, so wildcard subscriptions see no other test's traffic.
      const own = await startBroker();
      try {
        const { client: sub } = await TestClient.connect(own.port, { clientId: 'sub' });
        const { client: p } = await TestClient.connect(own.port, { clientId: 'pub' });
        sub.send({
          type: 'subscribe',
          packetId: 1,
          subscriptions: [
            { topic: 'zz-marker', qos: 0 },
            { topic: filter, qos: 0 },
          ],
        });
        await sub.expect('suback');
        p.send(pub(topic, 'x'));
        p.send(pub('zz-marker', 'marker'));
        const first = await sub.expect('publish');
        expect(first.topic).toBe(match ? topic : 'zz-marker');
        if (match) expect((await sub.expect('publish')).topic).toBe('zz-marker');
        await sub.disconnect();
        await p.disconnect();
      } finally {
        await own.close();
      }
    });
  }
});

describe('QoS flows', () => {
  it('acknowledges QoS 1 with PUBACK echoing the packet id [MQTT-4.3.2-2] [MQTT-2.3.1-6]', async () => {
    const p = await client();
    p.send(pub(`${uid()}/q1`, 'x', 1, 4242));
    expect(await p.expect('puback')).toMatchObject({ packetId: 4242 });
    await p.disconnect();
  });

  it('QoS 2 inbound: PUBREC, a DUP resend is not delivered twice, PUBREL -> PUBCOMP [MQTT-4.3.3-2]', async () => {
    const topic = `${uid()}/q2`;
    const sub = await client();
    await subscribe(sub, topic, 2);
    const p = await client();
    p.send(pub(topic, 'once', 2, 10));
    expect(await p.expect('pubrec')).toMatchObject({ packetId: 10 });
    p.send(pub(topic, 'once', 2, 10, { dup: true }));
    expect(await p.expect('pubrec')).toMatchObject({ packetId: 10 });
    p.send({ type: 'pubrel', packetId: 10 });
    expect(await p.expect('pubcomp')).toMatchObject({ packetId: 10 });
    const got = await sub.expect('publish');
    expect(got).toMatchObject({ topic, qos: 2 });
    sub.send({ type: 'pubrec', packetId: got.packetId! });
    expect(await sub.expect('pubrel')).toMatchObject({ packetId: got.packetId });
    sub.send({ type: 'pubcomp', packetId: got.packetId! });
    await sub.expectNothing(150);
    // The id is free again after PUBCOMP: a new message with id 10 is delivered.
    p.send(pub(topic, 'twice', 2, 10));
    await p.expect('pubrec');
    expect((await sub.expect('publish')).payload.toString()).toBe('twice');
    await sub.disconnect();
    await p.disconnect();
  });

  it('delivers at min(published, granted) QoS [MQTT-3.8.4-6]', async () => {
    const topic = `${uid()}/min`;
    const sub = await client();
    await subscribe(sub, topic, 1);
    const p = await client();
    p.send(pub(topic, 'q2', 2, 1));
    await p.expect('pubrec');
    const a = await sub.expect('publish');
    expect(a.qos).toBe(1);
    sub.send({ type: 'puback', packetId: a.packetId! });
    p.send(pub(topic, 'q0', 0));
    const b = await sub.expect('publish');
    expect(b.qos).toBe(0);
    expect(b.packetId).toBeUndefined();
    await sub.disconnect();
    await p.disconnect();
  });

  it('sends one copy at the highest QoS for overlapping subscriptions [MQTT-3.3.5-1]', async () => {
    const prefix = uid();
    const sub = await client();
    await subscribe(sub, `${prefix}/+`, 0);
    await subscribe(sub, `${prefix}/#`, 2);
    const p = await client();
    p.send(pub(`${prefix}/a`, 'x', 2, 3));
    await p.expect('pubrec');
    const got = await sub.expect('publish');
    expect(got.qos).toBe(2);
    sub.send({ type: 'pubrec', packetId: got.packetId! });
    await sub.expect('pubrel');
    await sub.expectNothing(150);
    await sub.disconnect();
    await p.disconnect();
  });

  it('keeps per-topic order for QoS 1 beyond the in-flight window [MQTT-4.6.0-6]', async () => {
    const topic = `${uid()}/order`;
    const sub = await client();
    await subscribe(sub, topic, 1);
    const p = await client();
    const count = 250;
    for (let i = 0; i < count; i++) p.send(pub(topic, String(i), 1, i + 1));
    const got: string[] = [];
    while (got.length < count) {
      const m = await sub.expect('publish');
      got.push(m.payload.toString());
      sub.send({ type: 'puback', packetId: m.packetId! });
    }
    expect(got).toEqual(Array.from({ length: count }, (_, i) => String(i)));
    await sub.disconnect();
    await p.disconnect();
  });

  it('sets RETAIN 0 when forwarding to existing subscribers (3.1.1) [MQTT-3.3.1-9]', async () => {
    const topic = `${uid()}/live`;
    const sub = await client();
    await subscribe(sub, topic);
    const p = await client();
    p.send(pub(topic, 'r', 0, undefined, { retain: true }));
    expect((await sub.expect('publish')).retain).toBe(false);
    p.send(pub(topic, '', 0, undefined, { retain: true }));
    await sub.expect('publish');
    await sub.disconnect();
    await p.disconnect();
  });
});

describe('SUBSCRIBE / UNSUBSCRIBE', () => {
  it('returns a code per filter, 0x80 for an invalid one (3.1.1) [MQTT-3.8.4-5] [MQTT-3.9.3-1]', async () => {
    const c = await client();
    c.send({
      type: 'subscribe',
      packetId: 99,
      subscriptions: [
        { topic: 'a/b', qos: 1 },
        { topic: 'a/#/b', qos: 1 },
        { topic: 'a/+', qos: 2 },
      ],
    });
    expect(await c.expect('suback')).toMatchObject({ packetId: 99, reasonCodes: [1, 0x80, 2] });
    await c.disconnect();
  });

  it('3.1.1 has no shared subscriptions: $share/{g}/{f} is an ordinary filter, matched literally [MQTT-3.3.2-3]', async () => {
    const prefix = uid();
    const c = await client();
    c.send({
      type: 'subscribe',
      packetId: 5,
      subscriptions: [
        { topic: `$share/g/${prefix}/x`, qos: 0 },
        { topic: '$share/g', qos: 0 },
      ],
    });
    expect(await c.expect('suback')).toMatchObject({ reasonCodes: [0, 0] });
    const p = await client();
    p.send(pub(`${prefix}/x`, 'not-matching'));
    p.send(pub(`$share/g/${prefix}/x`, 'literal'));
    const m = await c.expect('publish');
    expect([m.topic, m.payload.toString()]).toEqual([`$share/g/${prefix}/x`, 'literal']);
    await c.expectNothing(100);
    for (const x of [c, p]) await x.disconnect();
  });

  it('returns 0x8F for an invalid filter (5.0)', async () => {
    const c = await client(5);
    c.send({
      type: 'subscribe',
      packetId: 3,
      subscriptions: [
        { topic: 'a+', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topic: '$share/g', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
      properties: {},
    });
    expect(await c.expect('suback')).toMatchObject({ reasonCodes: [0x8f, 0x8f] });
    await c.disconnect();
  });

  it('replaces an identical subscription instead of adding one [MQTT-3.8.4-3]', async () => {
    const topic = `${uid()}/rep`;
    const sub = await client();
    await subscribe(sub, topic, 0);
    await subscribe(sub, topic, 1);
    const p = await client();
    p.send(pub(topic, 'x', 1, 1));
    const got = await sub.expect('publish');
    expect(got.qos).toBe(1);
    sub.send({ type: 'puback', packetId: got.packetId! });
    await sub.expectNothing(150);
    await sub.disconnect();
    await p.disconnect();
  });

  it('stops delivery after UNSUBSCRIBE and always sends UNSUBACK [MQTT-3.10.4-2] [MQTT-3.10.4-5]', async () => {
    const topic = `${uid()}/un`;
    const sub = await client();
    await subscribe(sub, topic);
    sub.send({ type: 'unsubscribe', packetId: 5, topics: [topic, 'never/subscribed'] });
    expect(await sub.expect('unsuback')).toMatchObject({ packetId: 5 });
    const p = await client();
    p.send(pub(topic, 'x'));
    await sub.expectNothing(150);
    await sub.disconnect();
    await p.disconnect();
  });

  it('5.0 UNSUBACK codes: 0x00 removed, 0x11 no subscription existed', async () => {
    const c = await client(5);
    await subscribe(c, 'x/y');
    c.send({ type: 'unsubscribe', packetId: 6, topics: ['x/y', 'x/+'], properties: {} });
    expect(await c.expect('unsuback')).toMatchObject({ reasonCodes: [0x00, 0x11] });
    await c.disconnect();
  });
});

describe('protocol violations', () => {
  it('closes on PUBLISH with QoS 3 (3.1.1) [MQTT-3.3.1-4]', async () => {
    const c = await client();
    c.sendRaw('36 08 00 03 61 2f 62 00 01 00');
    await c.expectClosed();
  });

  it('sends DISCONNECT 0x81 before closing on a malformed packet (5.0) [MQTT-4.13.1-1]', async () => {
    const c = await client(5);
    c.sendRaw('36 09 00 03 61 2f 62 00 01 00 00');
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x81 });
  });

  it('closes on SUBSCRIBE with bad reserved flags [MQTT-3.8.1-1]', async () => {
    const c = await client();
    c.sendRaw('80 06 00 01 00 01 61 00');
    await c.expectClosed();
  });

  it('closes on a server-only packet type from a client', async () => {
    const c = await client(5);
    c.sendRaw('d0 00');
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x82 });
  });

  it('closes the connection after DISCONNECT', async () => {
    const c = await client();
    c.send({ type: 'disconnect' });
    await c.expectClosed();
  });
});

describe('DUP handling', () => {
  it('sets DUP on outgoing copies independently of the incoming DUP [MQTT-3.3.1-3]', async () => {
    const topic = `${uid()}/dup`;
    const sub = await client();
    await subscribe(sub, topic, 1);
    const p = await client();
    p.send(pub(topic, 'x', 1, 8, { dup: true }));
    await p.expect('puback');
    const m = await sub.expect('publish');
    expect(m.dup).toBe(false);
    await sub.disconnect();
    await p.disconnect();
  });
});

describe('strings and limits', () => {
  it('closes on an ill-formed UTF-8 topic (3.1.1) [MQTT-1.5.3-1]', async () => {
    const c = await client();
    c.sendRaw('30 05 00 02 c3 28 00');
    await c.expectClosed();
  });

  it('sends DISCONNECT 0x81 on U+0000 in a topic (5.0) [MQTT-1.5.4-2]', async () => {
    const c = await client(5);
    c.sendRaw('30 06 00 02 61 00 00 78');
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x81 });
  });

  it('enforces maxTopicLevels on PUBLISH (0x90) and SUBSCRIBE (0x80)', async () => {
    const own = await startBroker({ config: { limits: { maxTopicLevels: 3 } } });
    try {
      const { client: c } = await TestClient.connect(own.port, { clientId: 'levels' });
      c.send({
        type: 'subscribe',
        packetId: 1,
        subscriptions: [
          { topic: 'a/b/c', qos: 0 },
          { topic: 'a/b/c/d', qos: 0 },
        ],
      });
      expect((await c.expect('suback')).reasonCodes).toEqual([0, 0x80]);
      await c.disconnect();
      const { client: d } = await TestClient.connect(own.port, { clientId: 'levels5', protocolVersion: 5 });
      d.send(pub('a/b/c/d', 'x', 0, undefined, { properties: {} }));
      const [x] = await d.expectClosed(2000, ['disconnect']);
      expect(x).toMatchObject({ reasonCode: 0x90 });
    } finally {
      await own.close();
    }
  });
});
