import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';

let broker: RunningBroker;
let authBroker: RunningBroker;
let n = 0;
const id = (p = 'c') => `${p}-connect-${++n}`;

beforeAll(async () => {
  broker = await startBroker({ config: { limits: { connectTimeoutMs: 300 } } });
  authBroker = await startBroker({ config: { users: [{ username: 'alice', password: 'secret' }] } });
});
afterAll(async () => {
  await broker.close();
  await authBroker.close();
});

describe('CONNECT / CONNACK', () => {
  it('accepts a 3.1.1 CONNECT with return code 0 and session present 0 [MQTT-3.2.2-1]', async () => {
    const { client, connack } = await TestClient.connect(broker.port, { clientId: id() });
    expect(connack).toMatchObject({ sessionPresent: false, reasonCode: 0 });
    await client.disconnect();
  });

  it('accepts a 5.0 CONNECT and announces limits', async () => {
    const { client, connack } = await TestClient.connect(broker.port, { clientId: id(), protocolVersion: 5 });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.maximumPacketSize).toBeGreaterThan(0);
    expect(connack.properties?.topicAliasMaximum).toBe(10);
    await client.disconnect();
  });

  it('closes a connection whose first packet is not CONNECT', async () => {
    const c = await TestClient.open(broker.port);
    c.send({ type: 'pingreq' });
    await c.expectClosed();
  });

  it('closes on a second CONNECT (3.1.1) [MQTT-3.1.0-2]', async () => {
    const clientId = id();
    const { client } = await TestClient.connect(broker.port, { clientId });
    client.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 0,
      clientId,
    });
    await client.expectClosed();
  });

  it('sends DISCONNECT 0x82 on a second CONNECT (5.0) [MQTT-3.1.0-2]', async () => {
    const clientId = id();
    const { client } = await TestClient.connect(broker.port, { clientId, protocolVersion: 5 });
    client.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId,
      properties: {},
    });
    const [d] = await client.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ type: 'disconnect', reasonCode: 0x82 });
  });

  it('refuses an empty client id with clean session 0 in 3.1.1 (0x02) [MQTT-3.1.3-8]', async () => {
    const { client, connack } = await TestClient.connect(broker.port, { clientId: '', clean: false });
    expect(connack).toMatchObject({ sessionPresent: false, reasonCode: 2 });
    await client.expectClosed();
  });

  it('accepts an empty client id with clean session 1 in 3.1.1 [MQTT-3.1.3-6]', async () => {
    const { client, connack } = await TestClient.connect(broker.port, { clientId: '', clean: true });
    expect(connack.reasonCode).toBe(0);
    await client.disconnect();
  });

  it('assigns a client id in 5.0 and returns it [MQTT-3.2.2-16]', async () => {
    const { client, connack } = await TestClient.connect(broker.port, {
      clientId: '',
      clean: false,
      protocolVersion: 5,
    });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.assignedClientIdentifier).toMatch(/.+/);
    await client.disconnect();
  });

  it('answers an unsupported protocol level with CONNACK 0x01 and closes [MQTT-3.1.2-2]', async () => {
    const c = await TestClient.open(broker.port);
    c.sendRaw('10 0c 00 04 4d 51 54 54 06 02 00 3c 00 00');
    const [ack] = await c.expectClosed(2000, ['connack']);
    expect(ack).toMatchObject({ type: 'connack', reasonCode: 1, sessionPresent: false });
  });

  it('closes without CONNACK on a wrong protocol name [MQTT-3.1.2-1]', async () => {
    const c = await TestClient.open(broker.port);
    c.sendRaw('10 0c 00 04 4d 51 54 58 04 02 00 3c 00 00');
    await c.expectClosed();
  });

  it('closes on the CONNECT reserved flag [MQTT-3.1.2-3]', async () => {
    const c = await TestClient.open(broker.port);
    c.sendRaw('10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00');
    await c.expectClosed();
  });

  it('takes over an existing connection with the same client id (3.1.1) [MQTT-3.1.4-2]', async () => {
    const clientId = id();
    const { client: a } = await TestClient.connect(broker.port, { clientId });
    const { client: b, connack } = await TestClient.connect(broker.port, { clientId });
    expect(connack.reasonCode).toBe(0);
    await a.expectClosed();
    b.send({ type: 'pingreq' });
    await b.expect('pingresp');
    await b.disconnect();
  });

  it('sends DISCONNECT 0x8E to the taken-over 5.0 connection [MQTT-3.1.4-3]', async () => {
    const clientId = id();
    const { client: a } = await TestClient.connect(broker.port, { clientId, protocolVersion: 5 });
    const { client: b } = await TestClient.connect(broker.port, { clientId, protocolVersion: 5 });
    const [d] = await a.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x8e });
    await b.disconnect();
  });

  it('closes a socket that sends no CONNECT within the connect timeout', async () => {
    const c = await TestClient.open(broker.port);
    await c.expectClosed(3000);
  });

  it('refuses an unknown 5.0 authentication method with 0x8C [MQTT-4.12.0-1]', async () => {
    const { client, connack } = await TestClient.connect(broker.port, {
      clientId: id(),
      protocolVersion: 5,
      properties: { authenticationMethod: 'SCRAM-SHA-1' },
    });
    expect(connack.reasonCode).toBe(0x8c);
    await client.expectClosed();
  });

  it('answers PINGREQ with PINGRESP [MQTT-3.12.4-1]', async () => {
    const { client } = await TestClient.connect(broker.port, { clientId: id() });
    client.send({ type: 'pingreq' });
    await client.expect('pingresp');
    await client.disconnect();
  });
});

describe('authentication', () => {
  it('accepts the right password', async () => {
    const { client, connack } = await TestClient.connect(authBroker.port, {
      clientId: id(),
      username: 'alice',
      password: Buffer.from('secret'),
    });
    expect(connack.reasonCode).toBe(0);
    await client.disconnect();
  });

  it('refuses a bad password: 3.1.1 0x04, 5.0 0x86', async () => {
    const bad = { username: 'alice', password: Buffer.from('nope') };
    const v4 = await TestClient.connect(authBroker.port, { clientId: id(), ...bad });
    expect(v4.connack.reasonCode).toBe(4);
    await v4.client.expectClosed();
    const v5 = await TestClient.connect(authBroker.port, { clientId: id(), protocolVersion: 5, ...bad });
    expect(v5.connack.reasonCode).toBe(0x86);
    await v5.client.expectClosed();
  });

  it('refuses anonymous clients: 3.1.1 0x05, 5.0 0x87', async () => {
    const v4 = await TestClient.connect(authBroker.port, { clientId: id() });
    expect(v4.connack).toMatchObject({ reasonCode: 5, sessionPresent: false });
    await v4.client.expectClosed();
    const v5 = await TestClient.connect(authBroker.port, { clientId: id(), protocolVersion: 5 });
    expect(v5.connack.reasonCode).toBe(0x87);
    await v5.client.expectClosed();
  });

  it('ignores packets sent after a refused CONNECT [MQTT-3.1.4-5]', async () => {
    const { client: sub } = await TestClient.connect(authBroker.port, {
      clientId: id(),
      username: 'alice',
      password: Buffer.from('secret'),
    });
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'after-refusal', qos: 0 }] });
    await sub.expect('suback');
    const c = await TestClient.open(authBroker.port);
    const { encode } = await import('../src/codec/index.js');
    c.sendRaw(
      Buffer.concat([
        encode({
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepAlive: 0,
          clientId: 'x',
        }),
        encode({
          type: 'publish',
          topic: 'after-refusal',
          payload: Buffer.from('x'),
          qos: 0,
          retain: false,
          dup: false,
        }),
      ]),
    );
    await c.expectClosed(2000, ['connack']);
    await sub.expectNothing(150);
    await sub.disconnect();
  });
});

describe('shutdown', () => {
  it('sends DISCONNECT 0x8B to 5.0 clients and closes 3.1.1 clients on close()', async () => {
    const own = await startBroker();
    const v5 = await TestClient.connect(own.port, { clientId: 'a', protocolVersion: 5 });
    const v4 = await TestClient.connect(own.port, { clientId: 'b' });
    await own.close();
    const [d] = await v5.client.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ reasonCode: 0x8b });
    await v4.client.expectClosed();
  });
});
