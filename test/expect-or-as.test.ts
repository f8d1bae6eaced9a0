import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import { loadScenarioFile } from '../src/scenario/loader.js';
import { type PlannedCase, runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';

/** `expect: { as, orAs, <packet> }`: a packet met at either of two clients, against the reference broker. */
const YAML = `
section: "3.3.4"
title: orAs fixtures
cases:
  - id: either-passes
    title: the packet comes to the second client, then to the first
    statements: [MQTT-3.3.1-8]
    steps:
      - connect: { as: a }
      - subscribe: { as: a, filter: "{prefix}/a" }
      - connect: { as: b }
      - subscribe: { as: b, filter: "{prefix}/b" }
      - publish: { as: b, topic: "{prefix}/b", payload: one }
      - publish: { as: b, topic: "{prefix}/a", payload: two }
      - expect: { as: a, orAs: b, publish: { payload: one } }
      - expect: { as: a, orAs: b, publish: { payload: two } }
      - expect: { as: a, nothing: 100 }
      - expect: { as: b, nothing: 100 }
  - id: both-get-it
    title: a copy to both clients is left over at the other one
    statements: [MQTT-3.3.1-8]
    steps:
      - connect: { as: a }
      - subscribe: { as: a, filter: "{prefix}/t" }
      - connect: { as: b }
      - subscribe: { as: b, filter: "{prefix}/t" }
      - publish: { as: b, topic: "{prefix}/t", payload: one }
      - expect: { as: a, orAs: b, publish: { payload: one } }
      - expect: { as: a, nothing: 100 }
      - expect: { as: b, nothing: 100 }
  - id: neither-gets-it
    title: the packet comes to neither client
    statements: [MQTT-3.3.1-8]
    steps:
      - connect: { as: a }
      - connect: { as: b }
      - expect: { as: a, orAs: b, publish: { payload: one }, within: 200 }
  - id: something-else-at-both
    title: both clients have another packet next
    statements: [MQTT-3.3.1-8]
    steps:
      - connect: { as: a }
      - subscribe: { as: a, filter: "{prefix}/t" }
      - connect: { as: b }
      - subscribe: { as: b, filter: "{prefix}/t" }
      - publish: { as: b, topic: "{prefix}/t", payload: other }
      - expect: { as: a, orAs: b, publish: { payload: one } }
`;

let broker: { host: string; port: number; close(): Promise<void> };
let planned: PlannedCase[];

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  planned = planCases([loadScenarioFile('or-as.yaml', YAML)], { protocols: ['3.1.1', '5.0'] });
});
afterAll(async () => {
  await broker?.close();
});

describe('expect orAs', () => {
  it('meets a packet at either client and fails when it comes to both, neither or neither next', async () => {
    const out = await runCases(planned, { target: broker, stepTimeoutMs: 1000 });
    const by = (id: string) => out.results.filter((r) => r.id === `3.3.4/${id}`);
    for (const r of by('either-passes')) expect(r.status, r.message).toBe('passed');
    for (const r of by('both-get-it')) expect(r.status).toBe('failed');
    for (const r of by('neither-gets-it')) {
      expect(r.status).toBe('failed');
      expect(r.actual).toBe('a: nothing within 200 ms; b: nothing within 200 ms');
    }
    for (const r of by('something-else-at-both')) {
      expect(r.status).toBe('failed');
      expect(r.actual).toMatch(/^a: PUBLISH .*other.*; b: PUBLISH .*other/);
      expect(r.durationMs).toBeLessThan(900);
    }
  });

  it('takes one packet expectation only', () => {
    expect(() =>
      loadScenarioFile(
        'bad.yaml',
        `section: "3.3.4"
title: bad
cases:
  - id: x
    statements: [MQTT-3.3.1-8]
    steps:
      - connect: { as: a }
      - expect: { as: a, orAs: b, closed: true }
`,
      ),
    ).toThrow(/orAs/);
  });
});
