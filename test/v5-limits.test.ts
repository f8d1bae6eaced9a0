import { beforeAll, describe, expect, it } from 'vitest';
import { type BrokerConfig, startBroker } from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';
import type { SubscribePacket } from '../src/codec/index.js';
import { loadScenarios } from '../src/scenario/loader.js';
import { defaultSpecsDir } from '../src/scenario/paths.js';
import { type PlannedCase, runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';
import { summary } from './helpers/scenario-setup.js';

/**
 * The 5.0 cases about limits and availability the CONNACK announces (specs/3.2.2.3-limits-exceeded.yaml,
 * specs/3.2.2.3-availability-honoured.yaml) run only where the broker announces them: they pass against a
 * reference broker configured with small limits and without wildcards, subscription identifiers and shared
 * subscriptions, and are skipped (never failed) against the default configuration, which announces none of
 * that (Receive Maximum 65535, Maximum Packet Size 16 MiB, above what a case goes past).
 */
const LIMITS = [
  '3.2.2.3/receive-maximum-exceeded-closed',
  '3.2.2.3/receive-maximum-exceeded-disconnect-0x93',
  '3.2.2.3/maximum-packet-size-exceeded-closed',
  '3.2.2.3/maximum-packet-size-exceeded-disconnect-0x95',
];
const AVAILABILITY = [
  '3.2.2.3/wildcard-unavailable-honoured',
  '3.2.2.3/subscription-identifiers-unavailable-honoured',
  '3.2.2.3/shared-unavailable-honoured',
];

let planned: PlannedCase[];
beforeAll(() => {
  const ids = new Set([...LIMITS, ...AVAILABILITY]);
  planned = planCases(loadScenarios([defaultSpecsDir()]), { protocols: ['5.0'] }).filter((p) =>
    ids.has(p.scenario.id),
  );
});

async function run(config: BrokerConfig | undefined, ids: string[]) {
  const broker = await startBroker({ port: 0, ...(config ? { config } : {}) });
  try {
    const subset = planned.filter((p) => ids.includes(p.scenario.id));
    expect(subset).toHaveLength(ids.length);
    return (await runCases(subset, { target: broker, stepTimeoutMs: 2000, concurrency: 8 })).results;
  } finally {
    await broker.close();
  }
}

describe('5.0 limits and availability announced in CONNACK', () => {
  it('passes where the reference broker announces small limits (Receive Maximum 3, Maximum Packet Size 2048)', async () => {
    const out = await run({ limits: { receiveMaximum: 3, maxPacketSize: 2048 } }, LIMITS);
    for (const r of out) expect(r.status, summary([r])).toBe('passed');
  }, 30_000);

  it('passes where the reference broker announces wildcards, subscription ids and shared subscriptions unavailable', async () => {
    const out = await run(
      {
        limits: {
          wildcardSubscriptionAvailable: false,
          subscriptionIdentifiersAvailable: false,
          sharedSubscriptionAvailable: false,
        },
      },
      AVAILABILITY,
    );
    for (const r of out) expect(r.status, summary([r])).toBe('passed');
  }, 30_000);

  it('skips, not fails, the Receive Maximum cases when the broker refuses the publishes (PUBREC 0x87 frees the quota)', async () => {
    const broker = await startBroker({
      port: 0,
      config: {
        limits: { receiveMaximum: 3 },
        users: [{ username: 'u', password: 'p' }],
        // u may use no topic of the cases: every QoS 2 PUBLISH is answered with PUBREC 0x87.
        acl: [{ topic: 'elsewhere/#', access: 'readwrite', username: 'u' }],
      },
    });
    try {
      const ids = LIMITS.filter((id) => id.includes('receive-maximum'));
      const out = await runCases(
        planned.filter((p) => ids.includes(p.scenario.id)),
        { target: broker, stepTimeoutMs: 2000, username: 'u', password: 'p' },
      );
      expect(out.results).toHaveLength(2);
      for (const r of out.results) {
        expect(r.status, summary([r])).toBe('skipped');
        expect(r.message).toMatch(/the broker refuses the publishes .*PUBREC .*reasonCode: 135/);
      }
    } finally {
      await broker.close();
    }
  }, 30_000);

  it('skips every case against the default configuration, which announces none of it', async () => {
    const out = await run(undefined, [...LIMITS, ...AVAILABILITY]);
    for (const r of out) expect(r.status, summary([r])).toBe('skipped');
  }, 30_000);

  it('the reference broker answers each unavailable feature used with DISCONNECT 0xA2 / 0xA1 / 0x9E and closes', async () => {
    const broker = await startBroker({
      port: 0,
      config: {
        limits: {
          wildcardSubscriptionAvailable: false,
          subscriptionIdentifiersAvailable: false,
          sharedSubscriptionAvailable: false,
        },
      },
    });
    const sub = (topic: string, properties = {}): SubscribePacket => ({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [{ topic, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
      properties,
    });
    try {
      const tries: Array<[SubscribePacket, number]> = [
        [sub('a/+'), 0xa2],
        [sub('a/b', { subscriptionIdentifier: [3] }), 0xa1],
        [sub('$share/g/a/b'), 0x9e],
        [sub('$share/g/a/#'), 0x9e],
      ];
      for (const [i, [packet, code]] of tries.entries()) {
        const { client: c, connack } = await TestClient.connect(broker.port, {
          clientId: `avail-${i}`,
          protocolVersion: 5,
        });
        expect(connack.properties).toMatchObject({
          wildcardSubscriptionAvailable: 0,
          subscriptionIdentifiersAvailable: 0,
          sharedSubscriptionAvailable: 0,
        });
        c.send(packet);
        const [d] = await c.expectClosed(2000, ['disconnect']);
        expect(d).toMatchObject({ type: 'disconnect', reasonCode: code });
      }
      // 3.1.1 has no such announcement: a wildcard filter is refused in its SUBACK slot [MQTT-3.8.3-2].
      const { client: old } = await TestClient.connect(broker.port, {
        clientId: 'avail-311',
        protocolVersion: 4,
      });
      old.send({
        type: 'subscribe',
        packetId: 1,
        subscriptions: [
          { topic: 'a/b', qos: 0 },
          { topic: 'a/#', qos: 0 },
        ],
      });
      expect((await old.expect('suback')).reasonCodes).toEqual([0, 0x80]);
      old.destroy();
      // A plain filter is still granted.
      const { client: ok } = await TestClient.connect(broker.port, {
        clientId: 'avail-ok',
        protocolVersion: 5,
      });
      ok.send(sub('a/b'));
      expect((await ok.expect('suback')).reasonCodes).toEqual([0]);
      ok.destroy();
    } finally {
      await broker.close();
    }
  });
});
