import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioLoadError } from '../src/scenario/errors.js';
import { loadExpectedFailures } from '../src/scenario/expected-failures.js';
import { loadScenarioFile, loadScenarios } from '../src/scenario/loader.js';
import type { ScenarioCase } from '../src/scenario/model.js';
import { matchesSelector, planCases } from '../src/scenario/select.js';
import { Templater, topicPrefixProblem } from '../src/scenario/template.js';
import { tempDir } from './helpers/temp-dir.js';

function issuesOf(text: string, name = 'specs/x.yaml'): string[] {
  try {
    loadScenarioFile(name, text, name);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioLoadError);
    return (err as ScenarioLoadError).message.split('\n');
  }
  throw new Error('expected a ScenarioLoadError');
}

const HEAD = 'section: "3.3.1"\ntitle: t\ncases:\n';

describe('scenario loader errors name file:line:col and what was expected', () => {
  it('reports an unknown key with the keys it expected', () => {
    const lines = issuesOf(
      `${HEAD}  - id: a\n    title: t\n    statements: [MQTT-3.3.1-5]\n    steps:\n      - expect: { as: c, publsh: { topic: x } }\n`,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^specs\/x\.yaml:8:26: cases\[0\]\.steps\[0\]\.expect: unknown key "publsh"; expected one of as, within/,
    );
  });

  it('reports a wrong type as expected-vs-found', () => {
    const lines = issuesOf(
      `${HEAD}  - id: a\n    title: t\n    statements: [MQTT-3.3.1-5]\n    steps:\n      - publish: { as: c, topic: x, qos: 7 }\n`,
    );
    expect(lines[0]).toBe(
      'specs/x.yaml:8:42: cases[0].steps[0].publish.qos: expected an integer from 0 to 2, found number 7',
    );
  });

  it('reports YAML syntax errors with their position', () => {
    const lines = issuesOf(`${HEAD}  - id: a\n    title: [unclosed\n`);
    expect(lines[0]).toMatch(/^specs\/x\.yaml:\d+:\d+: YAML syntax: /);
  });

  it('reports unknown steps, unknown statements, missing keys, bad ids and bad hex', () => {
    const lines = issuesOf(
      `${HEAD}  - id: Bad_Id\n    title: t\n    statements: [MQTT-9.9.9-1]\n    steps:\n      - conect: { as: c }\n      - send: { as: c, hex: "3" }\n  - title: no id\n    statements: [MQTT-3.3.1-5]\n    steps: [ { wait: { ms: 1 } } ]\n`,
    );
    const text = lines.join('\n');
    expect(text).toContain('specs/x.yaml:4:9: cases[0].id: expected a kebab-case slug');
    expect(text).toContain(
      'specs/x.yaml:6:18: cases[0].statements: "MQTT-9.9.9-1" is not a normative statement of MQTT 3.1.1',
    );
    expect(text).toContain(
      'specs/x.yaml:8:9: cases[0].steps[0]: unknown step "conect"; expected one of connect,',
    );
    expect(text).toContain(
      'specs/x.yaml:9:29: cases[0].steps[1].send.hex: expected a string of hex bytes, found string "3"',
    );
    expect(text).toContain('specs/x.yaml:10:5: cases[1]: missing required key "id"');
  });

  it('checks cross-field rules and per-protocol statement maps', () => {
    const lines = issuesOf(
      `${HEAD}  - id: a\n    title: t\n    statements: { "3.1.1": [MQTT-3.3.1-5] }\n    steps:\n      - expect: { as: c, closed: true, nothing: 5 }\n`,
    );
    const text = lines.join('\n');
    expect(text).toContain('cases[0].statements: no statement ids for protocol 5.0');
    expect(text).toContain(
      'expect: give exactly one of packet, <packet type>, closed, nothing, oneOf, allOf (found closed, nothing)',
    );
  });

  it('rejects statements that bind clients only (a broker cannot fail them)', () => {
    const lines = issuesOf(
      `${HEAD}  - id: a\n    title: t\n    statements: [MQTT-3.1.2-23]\n    protocols: ["3.1.1"]\n    steps: [ { wait: { ms: 1 } } ]\n`,
    );
    expect(lines[0]).toBe(
      'specs/x.yaml:6:18: cases[0].statements: "MQTT-3.1.2-23" (MQTT 3.1.1, PINGREQ within keep alive) binds clients only; expected a statement that binds the server',
    );
  });

  it('rejects duplicate case ids across files', () => {
    const dir = tempDir('mc-load-');
    const body = `${HEAD}  - id: a\n    title: t\n    statements: [MQTT-3.3.1-5]\n    steps: [ { wait: { ms: 1 } } ]\n`;
    writeFileSync(join(dir, 'a.yaml'), body);
    writeFileSync(join(dir, 'b.yaml'), body);
    expect(() => loadScenarios([dir], dir)).toThrow(
      /b\.yaml:4:5: case id "3\.3\.1\/a" is already used at a\.yaml:4:5/,
    );
  });

  it('loads a valid file into the model', () => {
    const f = loadScenarioFile(
      'x.yaml',
      `${HEAD}  - id: a\n    title: t\n    level: may\n    protocols: ["5.0"]\n    statements: [MQTT-3.3.1-5]\n    steps:\n      - connect: { as: c, will: { topic: w, payload: { hex: "00ff" } } }\n      - expect: { as: c, oneOf: [ [ { connack: { reasonCode: 0x84 } }, { closed: true } ], { closed: true } ] }\n`,
    );
    const c = f.cases[0]!;
    expect(c.id).toBe('3.3.1/a');
    expect(c.level).toBe('info');
    expect(c.protocols).toEqual(['5.0']);
    const connect = c.steps[0]!;
    expect(connect.kind === 'connect' && connect.will?.payload).toEqual(Buffer.from([0, 255]));
    const exp = c.steps[1]!;
    expect(exp.kind === 'expect' && exp.expectation.kind).toBe('oneOf');
  });
});

describe('expected-failures file', () => {
  it('validates entries with positions and rejects unknown ids', () => {
    const dir = tempDir('mc-xf-');
    const file = join(dir, 'xf.yaml');
    writeFileSync(
      file,
      '- id: 3.3.1/a\n  reason: known\n- id: 3.3.1/zzz\n  reason: typo\n- id: 3.3.1/a\n  why: no\n',
    );
    expect(() => loadExpectedFailures(file, new Set(['3.3.1/a']), 'xf.yaml')).toThrow(
      /xf\.yaml:6:3: expected-failures\[2\]: unknown key "why"/,
    );
    writeFileSync(file, '- id: 3.3.1/a\n  reason: known\n- id: 3.3.1/zzz\n  reason: typo\n');
    expect(() => loadExpectedFailures(file, new Set(['3.3.1/a']), 'xf.yaml')).toThrow(
      /xf\.yaml:3:3: expected-failures\[1\]\.id: no case "3\.3\.1\/zzz"/,
    );
  });

  it('rejects an empty reason and a case listed twice for the same protocol', () => {
    const dir = tempDir('mc-xf-');
    const file = join(dir, 'xf.yaml');
    const ids = new Set(['3.3.1/a', '3.3.1/b']);
    writeFileSync(file, '- id: 3.3.1/a\n  reason: "  "\n');
    expect(() => loadExpectedFailures(file, ids, 'xf.yaml')).toThrow(
      /xf\.yaml:2:11: expected-failures\[0\]\.reason: give the reason the deviation is accepted/,
    );
    writeFileSync(file, '- id: 3.3.1/a\n  reason: one\n- id: 3.3.1/a\n  protocol: "5.0"\n  reason: two\n');
    expect(() => loadExpectedFailures(file, ids, 'xf.yaml')).toThrow(
      /xf\.yaml:3:3: expected-failures\[1\]: 3\.3\.1\/a \[5\.0\] is already listed at entry 0/,
    );
    writeFileSync(
      file,
      '- id: 3.3.1/a\n  protocol: "3.1.1"\n  reason: one\n- id: 3.3.1/a\n  protocol: "5"\n  reason: two\n',
    );
    expect(loadExpectedFailures(file, ids, 'xf.yaml').map((e) => e.protocol)).toEqual(['3.1.1', '5.0']);
  });
});

describe('templating and selection', () => {
  it('gives unique, short, alphanumeric client ids and a per-case prefix', () => {
    const a = new Templater({ runId: 'abc123', caseIndex: 5, protocol: '5.0' });
    const b = new Templater({ runId: 'abc123', caseIndex: 6, protocol: '5.0' });
    expect(a.string('{prefix}/x')).toBe('mqtt-conform/abc123/5/x');
    expect(a.string('{client:sub}')).toMatch(/^[0-9a-zA-Z]{1,23}$/);
    expect(a.string('{client:sub}')).toBe(a.string('{client:sub}'));
    expect(a.string('{client:sub}')).not.toBe(a.string('{client:pub}'));
    expect(a.string('{client:sub}')).not.toBe(b.string('{client:sub}'));
    expect(a.value({ t: ['{protocol}'], n: 3 })).toEqual({ t: ['5.0'], n: 3 });
    expect(a.string('{prefix}/{repeat:3:ab/}x')).toBe('mqtt-conform/abc123/5/ab/ab/ab/x');
    expect(a.string('{repeat:65535:a}')).toHaveLength(65_535);
  });

  it('heads {prefix} with the run topic prefix (--topic-prefix) and refuses prefixes that cannot head a topic', () => {
    const t = new Templater({ runId: 'abc123', caseIndex: 5, protocol: '3.1.1', topicPrefix: 'acme/dev' });
    expect(t.string('{prefix}/x')).toBe('acme/dev/abc123/5/x');
    expect(t.string('$mc/{prefix}/x')).toBe('$mc/acme/dev/abc123/5/x');
    expect(topicPrefixProblem('acme/dev')).toBeUndefined();
    for (const bad of ['', 'a/+', 'a/#', '$SYS', '/a', 'a/', 'a\u0000b', 'x'.repeat(201)])
      expect(topicPrefixProblem(bad), bad).toBeDefined();
  });

  it('selects by section prefix, id glob and statement id', () => {
    const c = {
      id: '3.3.1/retain-x',
      section: '3.3.1',
      statements: { '3.1.1': ['MQTT-3.3.1-5'], '5.0': ['MQTT-3.3.1-9'] },
    } as unknown as ScenarioCase;
    expect(matchesSelector(c, '3.1.1', '3.3')).toBe(true);
    expect(matchesSelector(c, '3.1.1', '3.3.1')).toBe(true);
    expect(matchesSelector(c, '3.1.1', '3.3.10')).toBe(false);
    expect(matchesSelector(c, '3.1.1', '3.30')).toBe(false);
    expect(matchesSelector(c, '3.1.1', '3.3.1/retain-*')).toBe(true);
    expect(matchesSelector(c, '3.1.1', '*qos*')).toBe(false);
    expect(matchesSelector(c, '3.1.1', 'MQTT-3.3.1-5')).toBe(true);
    expect(matchesSelector(c, '5.0', 'MQTT-3.3.1-5')).toBe(false);
    const files = [
      { file: 'f', section: '3.3.1', title: 't', cases: [{ ...c, protocols: ['3.1.1', '5.0'] }] },
    ];
    expect(
      planCases(files as never, { protocols: ['3.1.1', '5.0'], only: ['MQTT-3.3.1-9'] }).map(
        (p) => p.protocol,
      ),
    ).toEqual(['5.0']);
    expect(planCases(files as never, { protocols: ['3.1.1', '5.0'], exclude: ['3.3'] })).toEqual([]);
  });
});
