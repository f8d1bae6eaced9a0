import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode } from '../codec/index.js';
import { loadScenarioFile } from '../scenario/loader.js';
import { DEFAULT_EXEC, materialise, SENTINEL } from './executor.js';
import { familyArbitraries, fuzzCaseArbitrary, plainConnect } from './families.js';
import { caseSeed, generateCase } from './fuzzer.js';
import { CLIENT_ID_TOKEN, dedupKey, FAMILY_NAMES, type Finding, PREFIX_TOKEN } from './model.js';
import { activeFilters, expectationOf } from './oracle.js';
import { junitXml, scenarioYaml } from './reproducer.js';
import { leakVerdict } from './spawn.js';

const connect4 = encode(plainConnect(4));
const connect5 = encode(plainConnect(5));
const stream = (...parts: Array<Buffer | string>) =>
  Buffer.concat([
    ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p.replace(/\s/g, ''), 'hex') : p)),
    SENTINEL,
  ]);

describe('families', () => {
  it('every family generates cases of the selected protocols, with placeholders the executor replaces', () => {
    const fams = familyArbitraries({ protocols: [4, 5] });
    expect(Object.keys(fams).sort()).toEqual([...FAMILY_NAMES].sort());
    for (const [name, arb] of Object.entries(fams)) {
      for (const c of fc.sample(arb, { seed: 7, numRuns: 30 })) {
        expect(c.family).toBe(name);
        expect(c.connections.length).toBeGreaterThan(0);
        for (const s of materialise(c)) {
          expect(s.includes(Buffer.from(CLIENT_ID_TOKEN))).toBe(false);
          expect(s.includes(Buffer.from(PREFIX_TOKEN))).toBe(false);
          expect(s.subarray(-2)).toEqual(SENTINEL);
        }
      }
    }
    expect(familyArbitraries({ protocols: [4] }).properties).toBeUndefined();
    for (const c of fc.sample(fuzzCaseArbitrary({ protocols: [4] }), { seed: 3, numRuns: 100 })) {
      expect(c.protocol).toBe(4);
    }
  });

  it('the same seed gives the same case sequence; a shrink path regenerates a case', () => {
    const arb = fuzzCaseArbitrary({ protocols: [4, 5] });
    const a = Array.from({ length: 20 }, (_, i) => generateCase(arb, caseSeed(42, i)));
    const b = Array.from({ length: 20 }, (_, i) => generateCase(arb, caseSeed(42, i)));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(generateCase(arb, caseSeed(43, 0)))).not.toBe(JSON.stringify(a[0]));
    // Path "0" is the generated case itself.
    expect(JSON.stringify(generateCase(arb, caseSeed(42, 3), '0'))).toBe(JSON.stringify(a[3]));
  });

  it('client identifiers are unique per connection unless a takeover asks for the same one', () => {
    const c = {
      family: 'sequences' as const,
      protocol: 4 as const,
      packetType: 'connect',
      field: 'takeover',
      variant: '',
      connections: [
        { parts: [{ bytes: connect4, note: '' }] },
        { parts: [{ bytes: connect4, note: '' }] },
        { parts: [{ bytes: connect4, note: '' }], clientIdOf: 0 },
      ],
    };
    const [s0, s1, s2] = materialise(c);
    expect(s0).not.toEqual(s1);
    expect(s2).toEqual(s0);
  });
});

describe('expectationOf (the server-side oracle)', () => {
  it('valid streams must answer the sentinel', () => {
    expect(expectationOf(stream(connect4), 4)).toMatchObject({ kind: 'open', pingsBefore: 0 });
    expect(expectationOf(stream(connect4, 'c000'), 4)).toMatchObject({ kind: 'open', pingsBefore: 1 });
  });
  it('a malformed packet, a packet before CONNECT, a second CONNECT or a server-only packet must close', () => {
    expect(expectationOf(stream(connect4, '3c 03 00 01 61'), 4)).toMatchObject({
      kind: 'close',
      statement: 'MQTT-4.8.0-1',
    });
    expect(expectationOf(stream(connect5, '3c 04 00 01 61 00'), 5)).toMatchObject({
      kind: 'close',
      statement: 'MQTT-4.13.1-1',
    });
    expect(expectationOf(stream('c000', connect4), 4)).toMatchObject({
      kind: 'close',
      statement: 'MQTT-3.1.0-1',
    });
    expect(expectationOf(stream(connect4, connect4), 4)).toMatchObject({
      kind: 'close',
      statement: 'MQTT-3.1.0-2',
    });
    expect(expectationOf(stream(connect4, '20 02 00 00'), 4)).toMatchObject({ kind: 'close' });
    expect(expectationOf(stream(connect4, 'c0 00', '40 03 00 01 00'), 4)).toMatchObject({
      kind: 'close',
      pingsBefore: 1,
    });
  });
  it('a stream that ends inside a packet is incomplete; DISCONNECT and non-minimal lengths ask nothing', () => {
    expect(expectationOf(stream(connect4, '30 7f 00'), 4).kind).toBe('incomplete');
    expect(expectationOf(stream(connect4, 'e0 00'), 4).kind).toBe('any');
    expect(expectationOf(stream(connect4, 'c0 80 00'), 4).kind).toBe('any');
  });
  it('5.0 topic alias 0 closes; a higher alias depends on the CONNACK', () => {
    const alias = (n: number) =>
      encode(
        {
          type: 'publish',
          topic: 'a',
          payload: Buffer.alloc(0),
          qos: 0,
          retain: false,
          dup: false,
          properties: { topicAlias: n },
        },
        { protocolVersion: 5 },
      );
    expect(expectationOf(stream(connect5, alias(0)), 5)).toMatchObject({ kind: 'close' });
    expect(expectationOf(stream(connect5, alias(9)), 5)).toMatchObject({ kind: 'close', unlessAliasMax: 9 });
  });
  it('active filters: subscribed minus unsubscribed, shared ones by their inner filter', () => {
    const sub = encode({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topic: 'a/+', qos: 0 },
        { topic: '$share/g/b/#', qos: 0 },
        { topic: 'c', qos: 0 },
      ],
    });
    const unsub = encode({ type: 'unsubscribe', packetId: 2, topics: ['c'] });
    expect(activeFilters(stream(connect4, sub, unsub), 4)).toEqual(['a/+', 'b/#']);
  });
});

const finding: Finding = {
  kind: 'no-close',
  statement: 'MQTT-4.8.0-1',
  description: 'answered the sentinel PINGREQ after INVALID_QOS',
  protocol: 4,
  packetType: 'publish',
  field: 'QoS',
  family: 'fields',
  packetsHex: [stream(connect4, '36 05 00 01 61 00 01').toString('hex')],
  count: 3,
  caseSeed: 5,
  path: '0:1',
};

describe('reproducers', () => {
  it('a finding is saved as a scenario the loader accepts', () => {
    const text = scenarioYaml(finding);
    const file = loadScenarioFile('finding.yaml', text);
    expect(file.cases).toHaveLength(1);
    const c = file.cases[0]!;
    expect(c.id).toBe('4.8/no-close-v311-publish-qos');
    expect(c.protocols).toEqual(['3.1.1']);
    expect(c.statements['3.1.1']).toEqual(['MQTT-4.8.0-1', 'MQTT-3.12.4-1']);
    expect(c.steps.map((s) => s.kind)).toEqual(['connect', 'expect', 'connect', 'send', 'expect']);
    expect((c.steps[0] as { firstBytes?: Buffer }).firstBytes?.toString('hex')).toBe(finding.packetsHex[0]);
  });
  it('a 5.0 finding names only server-bound statements', () => {
    const text = scenarioYaml({
      ...finding,
      protocol: 5,
      statement: 'MQTT-3.3.2-8',
      packetsHex: [stream(connect5).toString('hex')],
    });
    const c = loadScenarioFile('f.yaml', text).cases[0]!;
    expect(c.statements['5.0']).toEqual(['MQTT-4.13.1-1', 'MQTT-3.12.4-1']);
  });
  it('JUnit: one testcase per oracle, failed where there are findings', () => {
    const xml = junitXml({
      seed: 1,
      protocol: '3.1.1',
      durationMs: 10,
      cases: 5,
      casesPerSecond: 500,
      findings: [finding],
      unconfirmed: 0,
      restarts: 0,
    });
    expect(xml.match(/<testcase /g)).toHaveLength(6);
    expect(xml).toContain('<testcase classname="fuzz" name="no-close"');
    expect(xml.match(/<failure /g)).toHaveLength(1);
  });
  it('findings deduplicate by oracle, protocol, packet type and field', () => {
    expect(dedupKey(finding)).toBe(dedupKey({ ...finding, count: 9 } as Finding));
    expect(dedupKey(finding)).not.toBe(dedupKey({ ...finding, field: 'topic' }));
  });
});

describe('leakVerdict', () => {
  const series = (f: (i: number) => { rssKiB: number; fds: number }) =>
    Array.from({ length: 20 }, (_, i) => ({ at: i * 500, ...f(i) }));
  it('steady or levelling resources are no leak', () => {
    expect(leakVerdict(series(() => ({ rssKiB: 10_000, fds: 10 })))).toBeUndefined();
    expect(
      leakVerdict(series((i) => ({ rssKiB: 10_000 + Math.min(i, 3) * 30_000, fds: 10 }))),
    ).toBeUndefined();
  });
  it('files or memory that keep growing are', () => {
    expect(leakVerdict(series((i) => ({ rssKiB: 10_000, fds: 10 + i * 20 })))).toMatch(/open files/);
    expect(leakVerdict(series((i) => ({ rssKiB: 10_000 + i * 30_000, fds: 10 })))).toMatch(/resident memory/);
    // A collector catching up late: +85 MiB from 130 MiB is not a leak.
    expect(leakVerdict(series((i) => ({ rssKiB: 133_000 + i * 4_500, fds: 10 })))).toBeUndefined();
  });
});

it('default timeouts keep a case cheap', () => {
  expect(DEFAULT_EXEC.caseTimeoutMs).toBeLessThanOrEqual(1000);
});
