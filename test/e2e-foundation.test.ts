import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../src/client/index.js';
import type { ExpectOptions } from '../src/client/types.js';
import type { Packet, ProtocolVersion, QoS } from '../src/codec/index.js';
import { startAedes } from './helpers/aedes.js';
import { MOSQUITTO_MISSING, mosquittoAvailable, startMosquitto } from './helpers/mosquitto.js';
import { assertOk, packetOf } from './helpers/raw-assert.js';

/**
 * The raw client against real brokers: CONNECT, SUBSCRIBE and PUBLISH at QoS 0, 1 and 2 (both directions of
 * each acknowledgement flow), and the connection being closed after a malformed packet.
 */

interface Target {
  name: string;
  version: ProtocolVersion;
  start(): Promise<{ host: string; port: number; stop(): Promise<void> }>;
}

// In CI mosquitto is installed by .ci/run, so a missing binary there is a failure, not a skip.
const withMosquitto = mosquittoAvailable() || process.env.CI !== undefined;
const targets: Target[] = [
  { name: 'aedes', version: 4, start: startAedes },
  ...(withMosquitto
    ? ([
        { name: 'mosquitto', version: 4, start: startMosquitto },
        { name: 'mosquitto', version: 5, start: startMosquitto },
      ] as const)
    : []),
];

if (!withMosquitto) describe.skip(`mosquitto: ${MOSQUITTO_MISSING}`, () => {});

const TIMEOUT = 3000;
const wait = (extra: Partial<ExpectOptions> = {}): ExpectOptions => ({ timeoutMs: TIMEOUT, ...extra });
let counter = 0;
const runId = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;

const labelled = targets.map((t) => [`${t.name}, MQTT ${t.version === 5 ? '5.0' : '3.1.1'}`, t] as const);

describe.each(labelled)('%s', (_label, { version, start }) => {
  const v5 = version === 5;
  let broker: Awaited<ReturnType<Target['start']>>;
  let clients: RawClient[] = [];
  let epoch = 0;

  beforeAll(async () => {
    broker = await start();
  });
  afterAll(async () => {
    await broker?.stop();
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.destroy()));
    clients = [];
    epoch = performance.now();
  });

  /** A unique client id (within 23 characters, which every 3.1.1 server must accept [MQTT-3.1.3-5]). */
  const uniqueId = (): string => `mc${runId}x${++counter}`;
  const uniqueTopic = (label: string): string => `mqtt-conform/${runId}/${++counter}/${label}`;

  async function open(name: string): Promise<RawClient> {
    const c = await RawClient.connect({
      host: broker.host,
      port: broker.port,
      name,
      epoch,
      protocolVersion: version,
    });
    clients.push(c);
    return c;
  }

  function connectPacket(clientId: string): Packet {
    return {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: version,
      clean: true,
      keepAlive: 60,
      clientId,
      ...(v5 ? { properties: {} } : {}),
    };
  }

  async function connected(name: string): Promise<RawClient> {
    const c = await open(name);
    c.send(connectPacket(uniqueId()));
    assertOk(await c.expect({ type: 'connack', reasonCode: 0, sessionPresent: false }, wait()), c);
    return c;
  }

  async function subscribed(name: string, topic: string, qos: QoS): Promise<RawClient> {
    const c = await connected(name);
    c.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topic, qos, ...(v5 ? { noLocal: false, retainAsPublished: false, retainHandling: 0 } : {}) },
      ],
      ...(v5 ? { properties: {} } : {}),
    });
    assertOk(await c.expect({ type: 'suback', packetId: 1, reasonCodes: [qos] }, wait()), c);
    return c;
  }

  function publishPacket(topic: string, payload: string, qos: QoS, packetId?: number): Packet {
    return {
      type: 'publish',
      topic,
      payload: Buffer.from(payload),
      qos,
      retain: false,
      dup: false,
      ...(packetId !== undefined ? { packetId } : {}),
      ...(v5 ? { properties: {} } : {}),
    };
  }

  const ack = (type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', packetId: number): Packet =>
    v5 ? { type, packetId, reasonCode: 0, properties: {} } : { type, packetId };

  it('CONNECT is answered by a successful CONNACK', async () => {
    const c = await open('c');
    c.send(connectPacket(uniqueId()));
    const event = assertOk(await c.expect({ type: 'connack' }, wait()), c);
    const connack = packetOf(event, 'connack');
    expect(connack.reasonCode).toBe(0);
    expect(connack.sessionPresent).toBe(false);
    if (v5) expect(connack.properties).toBeTypeOf('object');
    else expect(connack.properties).toBeUndefined();
  });

  it('SUBSCRIBE is answered by a SUBACK granting each requested QoS', async () => {
    const c = await connected('c');
    const base = uniqueTopic('sub');
    const options = v5 ? { noLocal: false, retainAsPublished: false, retainHandling: 0 as const } : {};
    c.send({
      type: 'subscribe',
      packetId: 42,
      subscriptions: [
        { topic: `${base}/zero`, qos: 0, ...options },
        { topic: `${base}/one/+`, qos: 1, ...options },
        { topic: `${base}/two/#`, qos: 2, ...options },
      ],
      ...(v5 ? { properties: {} } : {}),
    });
    assertOk(await c.expect({ type: 'suback', packetId: 42, reasonCodes: [0, 1, 2] }, wait()), c);
  });

  it('QoS 0: the subscriber receives the message without a packet id', async () => {
    const topic = uniqueTopic('q0');
    const sub = await subscribed('sub', topic, 0);
    const pub = await connected('pub');
    pub.send(publishPacket(topic, 'zero', 0));
    const got = assertOk(
      await sub.expect({ type: 'publish', topic, payload: 'zero', qos: 0 }, wait()),
      sub,
      pub,
    );
    expect(packetOf(got, 'publish').packetId).toBeUndefined();
    // QoS 0 has no acknowledgement: the publisher hears nothing back.
    assertOk(await pub.expectNothing(150), sub, pub);
  });

  it('QoS 1: PUBLISH/PUBACK on the publisher side and on the subscriber side', async () => {
    const topic = uniqueTopic('q1');
    const sub = await subscribed('sub', topic, 1);
    const pub = await connected('pub');

    pub.send(publishPacket(topic, 'one', 1, 11));
    assertOk(await pub.expect({ type: 'puback', packetId: 11 }, wait()), sub, pub);

    const got = assertOk(
      await sub.expect({ type: 'publish', topic, payload: 'one', qos: 1 }, wait()),
      sub,
      pub,
    );
    const packetId = packetOf(got, 'publish').packetId;
    expect(packetId).toBeGreaterThan(0);
    sub.send(ack('puback', packetId!));
    // Acknowledged: no redelivery and nothing else for either client.
    assertOk(await sub.expectNothing(200), sub, pub);
    assertOk(await pub.expectNothing(1), sub, pub);
  });

  it('QoS 2: PUBLISH/PUBREC/PUBREL/PUBCOMP on the publisher side and on the subscriber side', async () => {
    const topic = uniqueTopic('q2');
    const sub = await subscribed('sub', topic, 2);
    const pub = await connected('pub');

    pub.send(publishPacket(topic, 'two', 2, 22));
    assertOk(await pub.expect({ type: 'pubrec', packetId: 22 }, wait()), sub, pub);
    pub.send(ack('pubrel', 22));
    assertOk(await pub.expect({ type: 'pubcomp', packetId: 22 }, wait()), sub, pub);

    const got = assertOk(
      await sub.expect({ type: 'publish', topic, payload: 'two', qos: 2 }, wait()),
      sub,
      pub,
    );
    const packetId = packetOf(got, 'publish').packetId!;
    sub.send(ack('pubrec', packetId));
    assertOk(await sub.expect({ type: 'pubrel', packetId }, wait()), sub, pub);
    sub.send(ack('pubcomp', packetId));
    // Exactly once: no second copy, no repeated PUBREL.
    assertOk(await sub.expectNothing(200), sub, pub);
  });

  it('QoS 1 message to a QoS 2 subscription is delivered at QoS 1', async () => {
    const topic = uniqueTopic('down');
    const sub = await subscribed('sub', topic, 2);
    const pub = await connected('pub');
    pub.send(publishPacket(topic, 'min', 1, 5));
    assertOk(await pub.expect({ type: 'puback', packetId: 5 }, wait()), sub, pub);
    assertOk(await sub.expect({ type: 'publish', topic, payload: 'min', qos: 1 }, wait()), sub, pub);
  });

  it('PINGREQ is answered by PINGRESP, UNSUBSCRIBE by UNSUBACK', async () => {
    const topic = uniqueTopic('unsub');
    const c = await subscribed('c', topic, 1);
    c.send({ type: 'pingreq' });
    assertOk(await c.expect({ type: 'pingresp' }, wait()), c);
    c.send({ type: 'unsubscribe', packetId: 9, topics: [topic], ...(v5 ? { properties: {} } : {}) });
    assertOk(
      await c.expect({ type: 'unsuback', packetId: 9, ...(v5 ? { reasonCodes: [0] } : {}) }, wait()),
      c,
    );
    // No longer subscribed: its own QoS 0 publish is not delivered back.
    c.send(publishPacket(topic, 'gone', 0));
    assertOk(await c.expectNothing(150), c);
  });

  // 5.0 (section 4.13.1) lets the server send DISCONNECT 0x81 (Malformed Packet) or 0x82 (Protocol Error)
  // before the close it owes [MQTT-4.13.1-1]; 3.1.1 has no such packet.
  const beforeClose: NonNullable<ExpectOptions['skip']> = v5
    ? [
        { type: 'disconnect', reasonCode: 0x81 },
        { type: 'disconnect', reasonCode: 0x82 },
      ]
    : [];

  it('closes the connection after a PUBLISH with both QoS bits set [MQTT-3.3.1-4]', async () => {
    const topic = uniqueTopic('qos3');
    const c = await connected('c');
    // PUBLISH QoS 1 with the fixed-header flags rewritten to QoS 3 (0b0110).
    const bytes = c.send(publishPacket(topic, 'bad', 1, 3), { overrides: { flags: 0b0110 } });
    expect(bytes[0]).toBe(0x36);
    assertOk(await c.expectClosed(TIMEOUT, { skip: beforeClose }), c);
  });

  it('closes the connection after a CONNECT with the reserved flag set [MQTT-3.1.2-3]', async () => {
    const c = await open('c');
    // Clean Session/Start plus the reserved bit 0.
    const bytes = c.send(connectPacket(uniqueId()), { overrides: { connectFlags: 0b0000_0011 } });
    expect(bytes[9]).toBe(0x03);
    // A 5.0 server may first send CONNACK 0x81 (Malformed Packet); it must not accept the connection.
    const skip: NonNullable<ExpectOptions['skip']> = v5
      ? [
          { type: 'connack', reasonCode: 0x81 },
          { type: 'connack', reasonCode: 0x82 },
        ]
      : [];
    assertOk(await c.expectClosed(TIMEOUT, { skip }), c);
  });

  it('closes the connection after bytes that are not a valid fixed header (raw hex)', async () => {
    const c = await connected('c');
    // Packet type 0 is reserved [MQTT-2.2.2] : "00 00".
    c.sendRaw('00 00');
    assertOk(await c.expectClosed(TIMEOUT, { skip: beforeClose }), c);
  });
});
