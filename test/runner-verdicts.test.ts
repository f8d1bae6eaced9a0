import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import { loadScenarioFile } from '../src/scenario/loader.js';
import { type PlannedCase, runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';
import { startAedes } from './helpers/aedes.js';
import { startFaultyProxy } from './helpers/faulty-proxy.js';

/** Each verdict, produced by a real broker (the reference broker, alone or behind the faulty proxy). */
const YAML = `
section: "3.12.4"
title: verdict fixtures
cases:
  - id: passes
    title: PINGREQ answered
    statements: [MQTT-3.12.4-1]
    steps:
      - connect: { as: c }
      - send: { as: c, packet: { type: pingreq } }
      - expect: { as: c, pingresp: {} }
  - id: must-broken
    title: expects a PUBACK that never comes
    statements: [MQTT-3.12.4-1]
    steps:
      - connect: { as: c }
      - send: { as: c, packet: { type: pingreq } }
      - expect: { as: c, puback: { packetId: 9 }, within: 500 }
  - id: should-broken
    title: the same, at should level
    statements: [MQTT-3.12.4-1]
    level: should
    steps:
      - connect: { as: c }
      - send: { as: c, packet: { type: pingreq } }
      - expect: { as: c, puback: { packetId: 9 }, within: 500 }
  - id: info-observed
    title: an informational observation
    statements: [MQTT-3.12.4-1]
    level: info
    steps:
      - connect: { as: c }
      - expect: { as: c, nothing: 100 }
  - id: needs-qos2
    title: needs a QoS 2 grant
    statements: [MQTT-3.12.4-1]
    steps:
      - connect: { as: c }
      - subscribe: { as: c, filter: "{prefix}/q", qos: 2 }
  - id: expectation-forms
    title: oneOf with a quiet alternative, skip, allOf in any order
    statements: [MQTT-3.12.4-1]
    steps:
      - connect: { as: c }
      - expect: { as: c, oneOf: [ { closed: true }, { nothing: 200 } ] }
      - send: { as: c, packet: { type: pingreq } }
      - expect: { as: c, nothing: 200, skip: [pingresp] }
      - subscribe: { as: c, filter: "{prefix}/#", qos: 0 }
      - publish: { as: c, topic: "{prefix}/1", payload: one }
      - publish: { as: c, topic: "{prefix}/2", payload: two }
      - expect: { as: c, allOf: [ { publish: { payload: two } }, { publish: { payload: one } } ] }
  - id: within-exceeded
    title: a bound that is not met
    statements: [MQTT-3.12.4-1]
    steps:
      - connect: { as: c }
      - expect: { as: c, closed: true, within: 200 }
  - id: allof-missing
    title: allOf names what is missing
    statements: [MQTT-3.12.4-1]
    steps:
      - connect: { as: c }
      - subscribe: { as: c, filter: "{prefix}/#", qos: 0 }
      - publish: { as: c, topic: "{prefix}/1", payload: one }
      - expect: { as: c, allOf: [ { publish: { payload: one } }, { publish: { payload: three } } ], within: 300 }
  - id: case-timeout
    title: a case longer than its bound
    statements: [MQTT-3.12.4-1]
    timeout: 300
    steps:
      - connect: { as: c }
      - wait: { ms: 5000 }
  - id: control-not-met
    title: a positive control that is not met skips the case
    statements: [MQTT-3.12.4-1]
    steps:
      - connect: { as: c }
      - expect: { as: c, puback: { packetId: 9 }, within: 200, orSkip: "no PUBACK came" }
  - id: unused-packet-ids
    title: unacknowledged packet ids are tracked, acknowledged ones freed, across a resumed session
    statements: [MQTT-3.12.4-1]
    steps:
      - connect: { as: c, clean: false, properties: { sessionExpiryInterval: 30 } }
      - subscribe: { as: c, filter: "{prefix}/q", qos: 1 }
      - publish: { as: c, topic: "{prefix}/q", payload: one, qos: 1 }
      - expect: { as: c, publish: { payload: one, packetId: unused } }
      - publish: { as: c, topic: "{prefix}/q", payload: two, qos: 1 }
      - expect: { as: c, publish: { payload: two, packetId: unused } }
      - send: { as: c, packet: { type: puback, packetId: last } }
      - publish: { as: c, topic: "{prefix}/q", payload: three, qos: 1 }
      - expect: { as: c, publish: { payload: three, packetId: unused } }
      - reconnect: { as: c, clean: false }
      - expect: { as: c, publish: { payload: one, dup: true } }
      - send: { as: c, packet: { type: puback, packetId: last } }
      - expect: { as: c, publish: { payload: three, dup: true } }
      - publish: { as: c, topic: "{prefix}/q", payload: four, qos: 1 }
      - expect: { as: c, publish: { payload: four, packetId: unused } }
      - reconnect: { as: c, clean: true, properties: {} }
      - disconnect: { as: c }
  - id: first-packet-not-connect
    title: a first packet that is not CONNECT is closed without any packet
    statements: [MQTT-3.12.4-1]
    steps:
      - connect: { as: c, firstPacket: { type: pingreq } }
      - expect: { as: c, closed: no-packet }
  - id: closed-no-packet-refused
    title: closed no-packet fails on a refusing CONNACK (closed true would accept it)
    statements: [MQTT-3.12.4-1]
    protocols: ["3.1.1"]
    steps:
      - connect: { as: c, clientId: "", clean: false, connack: false }
      - expect: { as: c, closed: no-packet }
  - id: harness-error
    title: a step on a client that was never connected
    statements: [MQTT-3.12.4-1]
    steps:
      - expect: { as: ghost, closed: true }
`;

let broker: { host: string; port: number; close(): Promise<void> };
let planned: PlannedCase[];

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  planned = planCases([loadScenarioFile('verdicts.yaml', YAML)], { protocols: ['3.1.1', '5.0'] });
});
afterAll(async () => {
  await broker?.close();
});

function byId(results: Awaited<ReturnType<typeof runCases>>['results'], protocol = '3.1.1') {
  return Object.fromEntries(
    results.filter((r) => r.protocol === protocol).map((r) => [r.id.split('/')[1], r]),
  );
}

describe('verdicts', () => {
  it('passed, failed, non-strict, info and error against the reference broker', async () => {
    const out = await runCases(planned, { target: broker, stepTimeoutMs: 1000 });
    for (const protocol of ['3.1.1', '5.0']) {
      const r = byId(out.results, protocol);
      expect(r.passes?.status).toBe('passed');
      expect(r['must-broken']?.status).toBe('failed');
      expect(r['must-broken']?.expected).toBe('PUBACK {packetId: 9}');
      expect(r['must-broken']?.actual).toBe('PINGRESP');
      expect(r['must-broken']?.statements).toEqual(['MQTT-3.12.4-1']);
      expect(r['must-broken']?.wireLog).toContain('PINGREQ');
      expect(r['should-broken']?.status).toBe('non-strict');
      expect(r['info-observed']?.status).toBe('info');
      expect(r['needs-qos2']?.status).toBe('passed');
      expect(r['expectation-forms']?.status, r['expectation-forms']?.message).toBe('passed');
      expect(r['within-exceeded']?.status).toBe('failed');
      expect(r['within-exceeded']?.actual).toBe('connection still open after 200 ms');
      expect(r['allof-missing']?.status).toBe('failed');
      expect(r['allof-missing']?.message).toContain('still missing PUBLISH {payload: "three"}');
      expect(r['case-timeout']?.status).toBe('error');
      expect(r['case-timeout']?.message).toBe('the case did not finish within 300 ms');
      expect(r['case-timeout']?.durationMs).toBeLessThan(1500);
      expect(r['control-not-met']?.status).toBe('skipped');
      expect(r['control-not-met']?.message).toMatch(/^no PUBACK came \(expected PUBACK \{packetId: 9\}/);
      expect(r['unused-packet-ids']?.status, r['unused-packet-ids']?.message).toBe('passed');
      expect(r['first-packet-not-connect']?.status, r['first-packet-not-connect']?.message).toBe('passed');
      if (protocol === '3.1.1') {
        expect(r['closed-no-packet-refused']?.status).toBe('failed');
        expect(r['closed-no-packet-refused']?.actual).toMatch(/^CONNACK/);
      }
      expect(r['harness-error']?.status).toBe('error');
      expect(r['harness-error']?.message).toMatch(/no client "ghost"/);
    }
  }, 30_000);

  it('skipped when the broker grants a lower QoS than the case needs', async () => {
    const proxy = await startFaultyProxy(broker, 'grant-qos1');
    try {
      const out = await runCases(
        planned.filter((p) => p.scenario.id.endsWith('needs-qos2')),
        { target: proxy, stepTimeoutMs: 1000 },
      );
      expect(out.results.map((r) => r.status)).toEqual(['skipped', 'skipped']);
      expect(out.results[0]?.message).toMatch(/granted QoS 1 .* needs QoS 2/);
    } finally {
      await proxy.close();
    }
  });

  it('skipped for every 5.0 case when the broker refuses 5.0 with CONNACK 0x84', async () => {
    const proxy = await startFaultyProxy(broker, 'refuse-5');
    try {
      const out = await runCases(planned, { target: proxy, stepTimeoutMs: 1000 });
      const v5 = out.results.filter((r) => r.protocol === '5.0');
      expect(v5.length).toBeGreaterThan(0);
      for (const r of v5) {
        expect(r.status).toBe('skipped');
        expect(r.message).toMatch(/declines MQTT 5\.0/);
      }
      expect(byId(out.results, '3.1.1').passes?.status).toBe('passed');
    } finally {
      await proxy.close();
    }
  });

  it('skipped for every 5.0 case against a 3.1.1-only broker (aedes answers with a 3.1.1 CONNACK 0x01)', async () => {
    const aedes = await startAedes();
    try {
      const out = await runCases(planned, {
        target: { host: '127.0.0.1', port: aedes.port },
        stepTimeoutMs: 1000,
      });
      const v5 = out.results.filter((r) => r.protocol === '5.0');
      expect(v5.length).toBeGreaterThan(0);
      for (const r of v5) {
        expect(r.status).toBe('skipped');
        expect(r.message).toMatch(/declines MQTT 5\.0 \(it answered with a 3\.1\.1 CONNACK 0x01\)/);
      }
      expect(byId(out.results, '3.1.1').passes?.status).toBe('passed');
    } finally {
      await aedes.stop();
    }
  });

  it('error (not failed) when the target accepts TCP and never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      s.on('error', () => undefined);
      sockets.add(s);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t0 = Date.now();
      const out = await runCases(planned, { target: { host: '127.0.0.1', port }, stepTimeoutMs: 500 });
      expect(out.results).toHaveLength(planned.length);
      expect(out.stoppedBy).toBe('target-not-mqtt');
      for (const r of out.results) {
        expect(r.status).toBe('error');
        expect(r.message).toMatch(/did not answer a valid MQTT .* CONNECT/);
      }
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('target-died (not target-not-mqtt) when the target goes away during the first checks', async () => {
    // Accepts TCP, and on the first bytes of a CONNECT stops listening and drops the connection: a broker
    // that is shutting down while the run starts.
    const sockets = new Set<net.Socket>();
    const dying = net.createServer((s) => {
      s.on('error', () => undefined);
      sockets.add(s);
      s.once('data', () => {
        dying.close();
        for (const x of sockets) x.destroy();
      });
    });
    await new Promise<void>((r) => dying.listen(0, '127.0.0.1', r));
    const port = (dying.address() as net.AddressInfo).port;
    try {
      const out = await runCases(planned, { target: { host: '127.0.0.1', port }, stepTimeoutMs: 1000 });
      expect(out.stoppedBy).toBe('target-died');
      expect(out.results).toHaveLength(planned.length);
      for (const r of out.results) {
        expect(r.status).toBe('error');
        expect(r.message).toMatch(
          /not run: the target stopped accepting connections during the first checks/,
        );
      }
    } finally {
      for (const s of sockets) s.destroy();
      if (dying.listening) await new Promise<void>((r) => dying.close(() => r()));
    }
  });

  it('runs each timing case once, silent ones and those with a schedule of their own', async () => {
    const timing = planCases(
      [
        loadScenarioFile(
          'timing.yaml',
          `
section: "3.12.4"
title: timing fixtures
cases:
  - id: silent
    title: waits in silence
    statements: [MQTT-3.12.4-1]
    timing: true
    steps:
      - connect: { as: c }
      - expect: { as: c, nothing: 50 }
  - id: scheduled
    title: has a wait step
    statements: [MQTT-3.12.4-1]
    timing: true
    steps:
      - connect: { as: c }
      - wait: { ms: 50 }
`,
        ),
      ],
      { protocols: ['3.1.1'] },
    );
    const done: string[] = [];
    const out = await runCases(timing, {
      target: broker,
      stepTimeoutMs: 1000,
      onCaseDone: (r) => done.push(r.id),
    });
    expect(out.results.map((r) => r.status)).toEqual(['passed', 'passed']);
    expect(done.sort()).toEqual(['3.12.4/scheduled', '3.12.4/silent']);
  });
});
