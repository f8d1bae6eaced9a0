import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningReferenceBroker, startBroker } from '../reference-broker/index.js';
import { TestClient } from '../reference-broker/testing/test-client.js';
import {
  type ConnectPacket,
  type EncodeOverrides,
  encode,
  type Packet,
  type ProtocolVersion,
} from '../src/codec/index.js';
import { anyPacket, packetOf } from '../src/fuzz/arbitraries.js';

/**
 * Robustness over real sockets, seeded: random byte streams and structurally valid but wrong packets must
 * never crash the broker or leak connections/sessions, and a probe client keeps getting PINGRESP.
 * MQTT_CONFORM_SOAK=1 raises the counts from 200 to 10,000 each.
 */
const SOAK = process.env.MQTT_CONFORM_SOAK !== undefined && process.env.MQTT_CONFORM_SOAK !== '';
const RUNS = SOAK ? 10_000 : 200;
const SEED = Number(process.env.MQTT_CONFORM_SEED ?? 20260601);
const BATCH = 25;
const TIMEOUT = SOAK ? 900_000 : 30_000;

let broker: RunningReferenceBroker;
let probe: TestClient;

beforeAll(async () => {
  broker = await startBroker({ config: { limits: { connectTimeoutMs: 500, maxPacketSize: 64 * 1024 } } });
  probe = (await TestClient.connect(broker.port, { clientId: 'probe', keepAlive: 0 })).client;
});
afterAll(async () => {
  await probe.disconnect();
  await broker.close();
});

function connectBytes(v: ProtocolVersion, clientId: string): Buffer {
  return encode({
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: v,
    clean: true,
    keepAlive: 0,
    clientId,
    ...(v === 5 ? { properties: {} } : {}),
  });
}

/** Opens a socket, writes the bytes, waits briefly for the broker to react, then drops the socket. */
async function hit(bytes: Buffer): Promise<void> {
  const c = await TestClient.open(broker.port);
  c.sendRaw(bytes);
  await c.waitClosed(60);
  c.destroy();
  await c.waitClosed(500);
}

async function probeAlive(): Promise<void> {
  probe.send({ type: 'pingreq' });
  await probe.expect('pingresp', 1000);
}

async function settle(): Promise<void> {
  // Give the broker time to see the last closes, then check for leaks (only the probe remains).
  for (let i = 0; i < 50; i++) {
    const s = broker.stats();
    if (s.connections === 1 && s.sessions === 1) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // Exceptions are contained per connection; any at all is a broker bug the fuzzing found.
  expect(broker.stats()).toMatchObject({ connections: 1, sessions: 1, internalErrors: 0 });
}

async function runBatched(cases: Buffer[]): Promise<void> {
  for (let i = 0; i < cases.length; i += BATCH) {
    await Promise.all(cases.slice(i, i + BATCH).map(hit));
    await probeAlive();
  }
  await settle();
}

const overridesArb: fc.Arbitrary<EncodeOverrides> = fc.oneof(
  fc.record({ flags: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ packetType: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ remainingLength: fc.integer({ min: 0, max: 300 }) }),
  fc.record({ trailing: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ truncate: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ extraProperties: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
  fc.record({ propertyLength: fc.integer({ min: 0, max: 200 }) }),
  fc.constant<EncodeOverrides>({}),
);

describe('robustness', () => {
  it(
    `survives ${RUNS} random byte streams (seed ${SEED})`,
    async () => {
      const arb = fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
        // A valid CONNECT first, so the random bytes reach the connected state.
        fc
          .tuple(fc.constantFrom<ProtocolVersion>(4, 5), fc.uint8Array({ minLength: 1, maxLength: 200 }))
          .map(([v, b]) => Buffer.concat([connectBytes(v, ''), Buffer.from(b)])),
      );
      const cases = fc.sample(arb, { numRuns: RUNS, seed: SEED });
      await runBatched(cases);
    },
    TIMEOUT,
  );

  it(
    `survives ${RUNS} structurally valid but wrong packets (seed ${SEED})`,
    async () => {
      const arb = fc.constantFrom<ProtocolVersion>(4, 5).chain((v) =>
        fc.tuple(
          fc.constant(v),
          fc.array(fc.tuple(anyPacket(v, { maxStringLength: 20, maxPayload: 64 }), overridesArb), {
            minLength: 1,
            maxLength: 4,
          }),
        ),
      );
      const cases: Buffer[] = [];
      for (const [v, packets] of fc.sample(arb, { numRuns: RUNS, seed: SEED + 1 })) {
        const parts = [connectBytes(v, '')];
        for (const [packet, overrides] of packets as Array<[Packet, EncodeOverrides]>) {
          try {
            parts.push(encode(packet, { protocolVersion: v, overrides }));
          } catch {
            // An override combination the encoder cannot express: skip that packet.
          }
        }
        cases.push(Buffer.concat(parts));
      }
      await runBatched(cases);
    },
    TIMEOUT,
  );

  it(
    'holds 2,000 concurrent connections and keeps answering the probe',
    async () => {
      const clients: TestClient[] = [];
      for (let i = 0; i < 2000; i += 200) {
        const batch = await Promise.all(
          Array.from({ length: 200 }, (_, j) =>
            TestClient.connect(broker.port, { clientId: `many-${i + j}`, keepAlive: 0 }),
          ),
        );
        for (const { client, connack } of batch) {
          expect(connack.reasonCode).toBe(0);
          clients.push(client);
        }
      }
      expect(broker.stats().connections).toBe(2001);
      await probeAlive();
      for (const c of clients) c.destroy();
      await Promise.all(clients.map((c) => c.waitClosed()));
      await settle();
    },
    TIMEOUT,
  );

  it(
    `survives ${RUNS / 4} rounds of valid packets from clients sharing ids (seed ${SEED})`,
    async () => {
      // Three clients per round, ids from a pool of two, so takeovers, persistent sessions, wills, second
      // CONNECTs, stray acknowledgements and overlapping subscriptions all meet.
      const clientArb = fc
        .constantFrom<ProtocolVersion>(4, 5)
        .chain((v) =>
          fc.tuple(
            fc.constant(v),
            packetOf('connect', v, { maxStringLength: 8, maxPayload: 16 }),
            fc.constantFrom('fuzz-a', 'fuzz-b'),
            fc.array(anyPacket(v, { maxStringLength: 8, maxPayload: 16 }), { maxLength: 6 }),
          ),
        );
      const rounds = fc.sample(fc.array(clientArb, { minLength: 3, maxLength: 3 }), {
        numRuns: RUNS / 4,
        seed: SEED + 2,
      });
      for (const round of rounds) {
        const clients = await Promise.all(round.map(() => TestClient.open(broker.port)));
        round.forEach(([v, connect, clientId, packets], i) => {
          const c = { ...(connect as ConnectPacket), clientId, keepAlive: 0 };
          const parts = [encode(c)];
          for (const p of packets as Packet[]) parts.push(encode(p, { protocolVersion: v }));
          clients[i]!.sendRaw(Buffer.concat(parts));
        });
        await Promise.all(clients.map((c) => c.waitClosed(40)));
        for (const c of clients) c.destroy();
        await Promise.all(clients.map((c) => c.waitClosed(500)));
        await probeAlive();
      }
      for (let i = 0; i < 50 && broker.stats().connections > 1; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(broker.stats()).toMatchObject({ connections: 1, internalErrors: 0 });
    },
    TIMEOUT,
  );
});
