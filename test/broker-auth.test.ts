import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateBrokerConfig } from '../reference-broker/config.js';
import { type RunningBroker, startBroker } from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';
import type { Properties } from '../src/codec/index.js';

/** The reference broker's enhanced authentication (5.0 section 4.12): one challenge-response method. */
let broker: RunningBroker;
let n = 0;
const METHOD = 'mqtt-conform-challenge';

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(() => broker.close());

async function connectWith(properties: Properties, port = broker.port): Promise<TestClient> {
  const c = await TestClient.open(port, 5);
  c.send({
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: 5,
    clean: true,
    keepAlive: 60,
    clientId: `auth-${++n}`,
    properties,
  });
  return c;
}

function answer(data: string, reasonCode = 0x18) {
  return {
    type: 'auth' as const,
    reasonCode,
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(data) },
  };
}

describe('enhanced authentication', () => {
  it('challenges, accepts the right answer naming the method in CONNACK, and re-authenticates [MQTT-4.12.0-2] [MQTT-4.12.0-5]', async () => {
    const c = await connectWith({ authenticationMethod: METHOD });
    const challenge = await c.expect('auth');
    expect(challenge.reasonCode).toBe(0x18);
    expect(challenge.properties?.authenticationMethod).toBe(METHOD);
    expect(Buffer.from(challenge.properties?.authenticationData ?? []).toString()).toBe('challenge');
    c.send(answer('response'));
    const connack = await c.expect('connack');
    expect(connack).toMatchObject({ reasonCode: 0, properties: { authenticationMethod: METHOD } });
    c.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: METHOD } });
    expect(await c.expect('auth')).toMatchObject({ reasonCode: 0x18 });
    c.send(answer('response'));
    expect(await c.expect('auth')).toMatchObject({
      reasonCode: 0,
      properties: { authenticationMethod: METHOD },
    });
    c.send({ type: 'pingreq' });
    await c.expect('pingresp');
    c.destroy();
  });

  it('refuses a wrong answer with CONNACK 0x87 and closes [MQTT-4.12.0-4]', async () => {
    const c = await connectWith({ authenticationMethod: METHOD });
    await c.expect('auth');
    c.send(answer('wrong'));
    const [connack] = await c.expectClosed(2000, ['connack']);
    expect(connack).toMatchObject({ type: 'connack', reasonCode: 0x87 });
  });

  it('closes with DISCONNECT 0x87 on a failed re-authentication [MQTT-4.12.1-2]', async () => {
    const c = await connectWith({ authenticationMethod: METHOD });
    await c.expect('auth');
    c.send(answer('response'));
    await c.expect('connack');
    c.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: METHOD } });
    await c.expect('auth');
    c.send(answer('wrong'));
    const [d] = await c.expectClosed(2000, ['disconnect']);
    expect(d).toMatchObject({ type: 'disconnect', reasonCode: 0x87 });
  });

  it('refuses any other method with CONNACK 0x8C [MQTT-4.12.0-1]', async () => {
    const c = await connectWith({ authenticationMethod: 'SCRAM-SHA-1' });
    const [connack] = await c.expectClosed(2000, ['connack']);
    expect(connack).toMatchObject({ type: 'connack', reasonCode: 0x8c });
  });

  it('speaks no method with authentication: false, and validates the config', async () => {
    const off = await startBroker({ config: { authentication: false } });
    try {
      const c = await connectWith({ authenticationMethod: METHOD }, off.port);
      const [connack] = await c.expectClosed(2000, ['connack']);
      expect(connack).toMatchObject({ type: 'connack', reasonCode: 0x8c });
    } finally {
      await off.close();
    }
    expect(validateBrokerConfig({ authentication: { method: 'm', challenge: 'c', response: 'r' } })).toEqual({
      authentication: { method: 'm', challenge: 'c', response: 'r' },
    });
    expect(() => validateBrokerConfig({ authentication: { method: 'm' } })).toThrow(/authentication/);
  });
});
