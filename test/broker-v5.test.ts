import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';
import type { Properties, PublishPacket, QoS, Subscription } from '../src/codec/index.js';

let broker: RunningBroker;
let n = 0;
const uid = () => `v5-${++n}`;

beforeAll(async () => {
  broker = await startBroker({ config: { limits: { maxPacketSize: 1024, maxKeepAlive: 30 } } });
});
afterAll(() => broker.close());

async function client(properties: Properties = {}, clientId = uid()): Promise<TestClient> {
  return (await TestClient.connect(broker.port, { clientId, protocolVersion: 5, properties })).client;
}

async function subscribe(
  c: TestClient,
  subs: Array<Partial<Subscription> & { topic: string }>,
  properties: Properties = {},
) {
  c.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: subs.map((s) => ({
      qos: 0 as QoS,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0 as const,
      ...s,
    })),
    properties,
  });
  return (await c.expect('suback')).reasonCodes;
}

function pub(
  topic: string,
  payload: string,
  qos: QoS = 0,
  properties: Properties = {},
  packetId = 1,
): PublishPacket {
  return {
    type: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: false,
    dup: false,
    properties,
    ...(qos ? { packetId } : {}),
  };
}

describe('topic aliases', () => {
  it('accepts a client alias, then the alias alone [MQTT-3.3.2-12]', async () => {
    const topic = `${uid()}/alias`;
    const s = await client();
    await subscribe(s, [{ topic }]);
    const p = await client();
    p.send(pub(topic, 'a', 0, { topicAlias: 3 }));
    p.send(pub('', 'b', 0, { topicAlias: 3 }));
    expect(await s.expect('publish')).toMatchObject({ topic, payload: Buffer.from('a') });
    expect(await s.expect('publish')).toMatchObject({ topic, payload: Buffer.from('b') });
    for (const c of [s, p]) await c.disconnect();
  });

  it('rejects an alias above the maximum with DISCONNECT 0x94', async () => {
    const p = await client();
    p.send(pub('x/y', 'a', 0, { topicAlias: 11 }));
    const [d] = await p.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x94 });
  });

  it('an empty topic without alias is a Protocol Error (0x82)', async () => {
    const p = await client();
    p.send(pub('', 'a', 0));
    const [d] = await p.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x82 });
  });

  it('rejects an unknown alias with an empty topic (Protocol Error 0x82)', async () => {
    const p = await client();
    p.send(pub('', 'a', 0, { topicAlias: 2 }));
    const [d] = await p.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x82 });
  });

  it('uses aliases towards a client that allows them, within its maximum [MQTT-3.3.2-11]', async () => {
    const prefix = uid();
    const s = await client({ topicAliasMaximum: 1 });
    await subscribe(s, [{ topic: `${prefix}/+` }]);
    const p = await client();
    p.send(pub(`${prefix}/a`, '1'));
    p.send(pub(`${prefix}/a`, '2'));
    p.send(pub(`${prefix}/b`, '3'));
    expect(await s.expect('publish')).toMatchObject({ topic: `${prefix}/a`, properties: { topicAlias: 1 } });
    expect(await s.expect('publish')).toMatchObject({ topic: '', properties: { topicAlias: 1 } });
    const third = await s.expect('publish');
    expect(third.topic).toBe(`${prefix}/b`);
    expect(third.properties?.topicAlias).toBeUndefined();
    for (const c of [s, p]) await c.disconnect();
  });

  it('sends no aliases when the client maximum is 0 [MQTT-3.1.2-27]', async () => {
    const topic = `${uid()}/t`;
    const s = await client();
    await subscribe(s, [{ topic }]);
    const p = await client();
    p.send(pub(topic, '1'));
    p.send(pub(topic, '2'));
    for (let i = 0; i < 2; i++) {
      const m = await s.expect('publish');
      expect(m.topic).toBe(topic);
      expect(m.properties?.topicAlias).toBeUndefined();
    }
    for (const c of [s, p]) await c.disconnect();
  });
});

describe('flow control and sizes', () => {
  it('never exceeds the client Receive Maximum [MQTT-3.3.4-9]', async () => {
    const topic = `${uid()}/rm`;
    const s = await client({ receiveMaximum: 2 });
    await subscribe(s, [{ topic, qos: 1 }]);
    const p = await client();
    for (let i = 1; i <= 5; i++) p.send(pub(topic, String(i), 1, {}, i));
    const a = await s.expect('publish');
    const b = await s.expect('publish');
    await s.expectNothing(150);
    s.send({ type: 'puback', packetId: a.packetId!, reasonCode: 0 });
    const c = await s.expect('publish');
    await s.expectNothing(100);
    expect([a, b, c].map((m) => m.payload.toString())).toEqual(['1', '2', '3']);
    // PINGREQ is still answered with the window full [MQTT-3.3.4-10].
    s.send({ type: 'pingreq' });
    await s.expect('pingresp');
    for (const c of [s, p]) await c.disconnect();
  });

  it('drops a message above the client Maximum Packet Size [MQTT-3.1.2-25]', async () => {
    const topic = `${uid()}/mps`;
    const s = await client({ maximumPacketSize: 64 });
    await subscribe(s, [{ topic, qos: 1 }]);
    const p = await client();
    p.send(pub(topic, 'x'.repeat(200), 1, {}, 1));
    p.send(pub(topic, 'small', 1, {}, 2));
    const m = await s.expect('publish');
    expect(m.payload.toString()).toBe('small');
    for (const c of [s, p]) await c.disconnect();
  });

  it('fits CONNACK into a small client Maximum Packet Size by leaving out optional announcements [MQTT-3.1.2-24]', async () => {
    // The full CONNACK of this broker is 16 bytes: 5 + Server Keep Alive (3, keep-alive 60 > 30) + Maximum
    // Packet Size (5) + Topic Alias Maximum (3); without the two optional announcements it is 8.
    const { client: c, connack } = await TestClient.connect(broker.port, {
      clientId: uid(),
      protocolVersion: 5,
      properties: { maximumPacketSize: 12 },
    });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.topicAliasMaximum).toBeUndefined();
    // No Topic Alias Maximum announced means none may be used (5.0 section 3.2.2.3.8).
    c.send(pub('a', 'x', 0, { topicAlias: 1 }));
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x94 });
  });

  it('refuses with 0x85 when the Assigned Client Identifier cannot fit the client Maximum Packet Size', async () => {
    const { client: c, connack } = await TestClient.connect(broker.port, {
      clientId: '',
      protocolVersion: 5,
      properties: { maximumPacketSize: 20 },
    });
    expect(connack).toMatchObject({ reasonCode: 0x85, sessionPresent: false });
    await c.expectClosed();
  });

  it('disconnects with 0x95 on a packet above its own Maximum Packet Size', async () => {
    const p = await client();
    p.send(pub('big', 'x'.repeat(2000)));
    const [d] = await p.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x95 });
  });

  it('disconnects a client announcing a 256 MB packet without waiting for it', async () => {
    const p = await client();
    p.sendRaw('30 ff ff ff 7f');
    const [d] = await p.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x95 });
  });

  it('replaces a too long keep-alive with Server Keep Alive [MQTT-3.2.2-22]', async () => {
    const { client: c, connack } = await TestClient.connect(broker.port, {
      clientId: uid(),
      protocolVersion: 5,
      keepAlive: 300,
    });
    expect(connack.properties?.serverKeepAlive).toBe(30);
    await c.disconnect();
  });
});

describe('message properties', () => {
  it('forwards user properties in order, response topic, correlation data, content type, format [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]', async () => {
    const topic = `${uid()}/props`;
    const s = await client();
    await subscribe(s, [{ topic }]);
    const p = await client();
    const properties: Properties = {
      payloadFormatIndicator: 1,
      contentType: 'text/plain',
      responseTopic: 'reply/here',
      correlationData: Buffer.from([1, 2, 3]),
      userProperties: [
        ['b', '2'],
        ['a', '1'],
        ['b', '3'],
      ],
    };
    p.send(pub(topic, 'x', 0, properties));
    expect((await s.expect('publish')).properties).toEqual(properties);
    for (const c of [s, p]) await c.disconnect();
  });

  it('drops an expired queued message and lowers the expiry of a forwarded one [MQTT-3.3.2-5] [MQTT-3.3.2-6]', async () => {
    const clientId = uid();
    const topic = `${clientId}/exp`;
    const first = await TestClient.connect(broker.port, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await subscribe(first.client, [{ topic, qos: 1 }]);
    await first.client.disconnect();
    const p = await client();
    p.send(pub(topic, 'short', 1, { messageExpiryInterval: 1 }, 1));
    await p.expect('puback');
    p.send(pub(topic, 'long', 1, { messageExpiryInterval: 100 }, 2));
    await p.expect('puback');
    await new Promise((r) => setTimeout(r, 1100));
    const again = await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: false });
    const m = await again.client.expect('publish');
    expect(m.payload.toString()).toBe('long');
    expect(m.properties?.messageExpiryInterval).toBeLessThanOrEqual(99);
    again.client.send({ type: 'puback', packetId: m.packetId!, reasonCode: 0 });
    await again.client.expectNothing(100);
    await again.client.disconnect();
    await (
      await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: true })
    ).client.disconnect();
    await p.disconnect();
  });
});

describe('subscription options', () => {
  it('carries subscription identifiers, all of them in one copy [MQTT-3.3.4-3] [MQTT-3.3.4-4]', async () => {
    const prefix = uid();
    const s = await client();
    await subscribe(s, [{ topic: `${prefix}/+` }], { subscriptionIdentifier: [7] });
    await subscribe(s, [{ topic: `${prefix}/#` }], { subscriptionIdentifier: [9] });
    const p = await client();
    p.send(pub(`${prefix}/a`, 'x'));
    const m = await s.expect('publish');
    expect([...(m.properties?.subscriptionIdentifier ?? [])].sort()).toEqual([7, 9]);
    await s.expectNothing(100);
    for (const c of [s, p]) await c.disconnect();
  });

  it('No Local: no copy back to the publisher [MQTT-3.8.3-3]', async () => {
    const topic = `${uid()}/nl`;
    const c = await client();
    await subscribe(c, [{ topic, noLocal: true }]);
    const other = await client();
    await subscribe(other, [{ topic }]);
    c.send(pub(topic, 'x'));
    await other.expect('publish');
    await c.expectNothing(150);
    for (const x of [c, other]) await x.disconnect();
  });

  it('shared subscriptions deliver each message to one member', async () => {
    const topic = `${uid()}/shared`;
    const a = await client();
    const b = await client();
    await subscribe(a, [{ topic: `$share/g/${topic}`, qos: 1 }]);
    await subscribe(b, [{ topic: `$share/g/${topic}`, qos: 1 }]);
    const p = await client();
    for (let i = 0; i < 10; i++) p.send(pub(topic, String(i)));
    const got: string[] = [];
    const counts = [0, 0];
    for (const [i, c] of [a, b].entries()) {
      for (;;) {
        const m = await c.next(200);
        if (m?.kind !== 'packet') break;
        if (m.packet.type === 'publish') {
          got.push(m.packet.payload.toString());
          counts[i]!++;
        }
      }
    }
    expect(got.sort()).toEqual(Array.from({ length: 10 }, (_, i) => String(i)).sort());
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
    for (const c of [a, b, p]) await c.disconnect();
  });

  it('No Local on a shared subscription is a Protocol Error', async () => {
    const c = await client();
    c.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topic: '$share/g/x', qos: 0, noLocal: true, retainAsPublished: false, retainHandling: 0 },
      ],
      properties: {},
    });
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x82 });
  });

  it('a SUBSCRIBE that is a Protocol Error leaves no subscription behind, not even from its valid filters', async () => {
    const clientId = uid();
    const topic = `${clientId}/t`;
    const kept = { sessionExpiryInterval: 60 };
    const first = (
      await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: false, properties: kept })
    ).client;
    first.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topic, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topic: `$share/g/${topic}`, qos: 0, noLocal: true, retainAsPublished: false, retainHandling: 0 },
      ],
      properties: {},
    });
    const [d] = await first.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x82 });
    const again = await TestClient.connect(broker.port, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: kept,
    });
    expect(again.connack.sessionPresent).toBe(true);
    const p = await client();
    p.send(pub(topic, 'x'));
    await again.client.expectNothing(150);
    await again.client.disconnect();
    await (
      await TestClient.connect(broker.port, { clientId, protocolVersion: 5, clean: true })
    ).client.disconnect();
    await p.disconnect();
  });
});

describe('AUTH', () => {
  it('an AUTH packet without an authentication method is a Protocol Error', async () => {
    const c = await client();
    c.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'x' } });
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x82 });
  });
});

describe('more refusals', () => {
  it('topic alias 0 is Topic Alias invalid (0x94) [MQTT-3.3.2-8]', async () => {
    const c = await client();
    c.sendRaw('30 07 00 01 61 03 23 00 00');
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x94 });
  });

  it('a client id above the configured length is refused with 0x85 / 0x02', async () => {
    const own = await startBroker({ config: { limits: { maxClientIdLength: 8 } } });
    try {
      const v5 = await TestClient.connect(own.port, { clientId: 'much-too-long', protocolVersion: 5 });
      expect(v5.connack).toMatchObject({ reasonCode: 0x85, sessionPresent: false });
      await v5.client.expectClosed();
      const v4 = await TestClient.connect(own.port, { clientId: 'much-too-long' });
      expect(v4.connack.reasonCode).toBe(2);
      await v4.client.expectClosed();
    } finally {
      await own.close();
    }
  });

  it('a PUBLISH from a client with a subscription identifier is a Protocol Error', async () => {
    const c = await client();
    c.send(pub('a/b', 'x', 0, { subscriptionIdentifier: [1] }));
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x82 });
  });
});

describe('server capabilities from limits', () => {
  it('Receive Maximum: one QoS 2 too many gets DISCONNECT 0x93', async () => {
    const own = await startBroker({ config: { limits: { receiveMaximum: 2 } } });
    try {
      const { client: c, connack } = await TestClient.connect(own.port, {
        clientId: 'rm',
        protocolVersion: 5,
      });
      expect(connack.properties?.receiveMaximum).toBe(2);
      for (let id = 1; id <= 2; id++) {
        c.send(pub('t', 'x', 2, {}, id));
        await c.expect('pubrec');
      }
      c.send(pub('t', 'x', 2, {}, 3));
      const [d] = await c.expectClosed(2000, ['disconnect']);
      expect(d).toMatchObject({ reasonCode: 0x93 });
    } finally {
      await own.close();
    }
  });

  it('Receive Maximum counts per connection: QoS 2 left open by an earlier connection does not count', async () => {
    // The send quota is re-initialised with each Network Connection (section 4.9).
    const own = await startBroker({ config: { limits: { receiveMaximum: 2 } } });
    try {
      const opts = {
        clientId: 'rm-again',
        protocolVersion: 5 as const,
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      };
      const first = (await TestClient.connect(own.port, opts)).client;
      for (let id = 1; id <= 2; id++) {
        first.send(pub('t', 'x', 2, {}, id));
        await first.expect('pubrec');
      }
      first.destroy();
      await first.waitClosed();
      const { client: c, connack } = await TestClient.connect(own.port, opts);
      expect(connack.sessionPresent).toBe(true);
      for (let id = 3; id <= 4; id++) {
        c.send(pub('t', 'x', 2, {}, id));
        expect(await c.expect('pubrec')).toMatchObject({ packetId: id, reasonCode: 0 });
      }
      // The ids of the earlier connection are still known: PUBREL completes them.
      for (let id = 1; id <= 4; id++) {
        c.send({ type: 'pubrel', packetId: id, reasonCode: 0, properties: {} });
        expect(await c.expect('pubcomp')).toMatchObject({ packetId: id, reasonCode: 0 });
      }
      await c.disconnect();
    } finally {
      await own.close();
    }
  });

  it('Maximum QoS 1: announced, grants capped, QoS 2 will refused, QoS 2 PUBLISH is 0x9B [MQTT-3.2.2-9] [MQTT-3.2.2-10] [MQTT-3.2.2-12]', async () => {
    const own = await startBroker({ config: { limits: { maximumQoS: 1 } } });
    try {
      const { client: c, connack } = await TestClient.connect(own.port, {
        clientId: 'mq',
        protocolVersion: 5,
      });
      expect(connack.properties?.maximumQoS).toBe(1);
      c.send({
        type: 'subscribe',
        packetId: 1,
        subscriptions: [{ topic: 't', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
        properties: {},
      });
      expect((await c.expect('suback')).reasonCodes).toEqual([1]);
      c.send(pub('t', 'x', 2, {}, 1));
      const [d] = await c.expectClosed(2000, ['disconnect', 'publish']);
      expect(d).toMatchObject({ type: 'disconnect', reasonCode: 0x9b });
      const w = await TestClient.connect(own.port, {
        clientId: 'mqw',
        protocolVersion: 5,
        will: { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: false, properties: {} },
      });
      expect(w.connack.reasonCode).toBe(0x9b);
      await w.client.expectClosed();
    } finally {
      await own.close();
    }
  });

  it('Retain not available: announced, retained will refused, retained PUBLISH is 0x9A [MQTT-3.2.2-13]', async () => {
    const own = await startBroker({ config: { limits: { retainAvailable: false } } });
    try {
      const { client: c, connack } = await TestClient.connect(own.port, {
        clientId: 'ra',
        protocolVersion: 5,
      });
      expect(connack.properties?.retainAvailable).toBe(0);
      c.send({ ...pub('t', 'x'), retain: true });
      const [d] = await c.expectClosed(2000, ['disconnect']);
      expect(d).toMatchObject({ reasonCode: 0x9a });
      const w = await TestClient.connect(own.port, {
        clientId: 'raw',
        protocolVersion: 5,
        will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: true, properties: {} },
      });
      expect(w.connack.reasonCode).toBe(0x9a);
      await w.client.expectClosed();
      // A 3.1.1 retained will cannot be honoured either [MQTT-3.1.2-17]; no return code fits, so the
      // connection is closed without CONNACK (3.1.1 [MQTT-3.2.2-6]) and nothing is retained later.
      const old = await TestClient.open(own.port, 4);
      old.send({
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepAlive: 60,
        clientId: 'ra311',
        will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: true },
      });
      await old.expectClosed();
    } finally {
      await own.close();
    }
  });
});

describe('oversized CONNECT', () => {
  it('answers a 5.0 CONNECT above the maximum packet size with CONNACK 0x95', async () => {
    const { encode } = await import('../src/codec/index.js');
    const c = await TestClient.open(broker.port, 5);
    c.sendRaw(
      encode({
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: 5,
        clean: true,
        keepAlive: 0,
        clientId: 'x'.repeat(3000),
        properties: {},
      }),
    );
    const [ack] = await c.expectClosed(2000, ['connack']);
    expect(ack).toMatchObject({ type: 'connack', reasonCode: 0x95 });
  });
});

describe('payload format', () => {
  it('refuses a payload marked UTF-8 that is not: PUBACK 0x99, DISCONNECT 0x99 at QoS 0, CONNACK 0x99 for a will', async () => {
    const bad = Buffer.from([0xc3, 0x28]);
    const c = await client();
    c.send({
      type: 'publish',
      topic: 'pf',
      payload: bad,
      qos: 1,
      retain: false,
      dup: false,
      packetId: 4,
      properties: { payloadFormatIndicator: 1 },
    });
    expect(await c.expect('puback')).toMatchObject({ packetId: 4, reasonCode: 0x99 });
    c.send({
      type: 'publish',
      topic: 'pf',
      payload: bad,
      qos: 0,
      retain: false,
      dup: false,
      properties: { payloadFormatIndicator: 1 },
    });
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x99 });
    const w = await TestClient.connect(broker.port, {
      clientId: uid(),
      protocolVersion: 5,
      will: { topic: 'w', payload: bad, qos: 0, retain: false, properties: { payloadFormatIndicator: 1 } },
    });
    expect(w.connack.reasonCode).toBe(0x99);
    await w.client.expectClosed();
  });
});
