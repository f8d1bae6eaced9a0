/**
 * Findings on disk: one replayable scenario per finding in the specs/ YAML format (src/scenario/loader.ts
 * loads it; `mqtt-conform replay` runs it), the raw bytes as `.hex` (one line per connection), `fuzz.json`
 * and, on request, a JUnit file with one testcase per oracle.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { stringify } from 'yaml';
import { type ProtocolVersion, StreamDecoder, topicMatches } from '../codec/index.js';
import { findStatement } from '../scenario/statements/index.js';
import type { FuzzResult } from './fuzzer.js';
import { FINDING_KINDS, type Finding } from './model.js';
import { activeFilters, closeStatement, expectationOf } from './oracle.js';

const SKIP_BEFORE_CLOSE = [
  'connack',
  'suback',
  'unsuback',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'publish',
];

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

function spaced(hex: string): string {
  return hex.replace(/(..)(?!$)/g, '$1 ');
}

/** Server-bound statements only: a scenario may not name a rule that binds clients alone. */
function scenarioStatements(f: Finding): string[] {
  const proto = f.protocol === 5 ? '5.0' : '3.1.1';
  const ids = new Set<string>();
  if (f.statement) ids.add(f.statement);
  if (f.kind === 'no-close') ids.add(closeStatement(f.protocol));
  // Every reproducer ends with a fresh client's PINGREQ, which must be answered.
  ids.add('MQTT-3.12.4-1');
  return [...ids].filter((id) => {
    const s = findStatement(proto, id);
    return s !== undefined && (s.binds === 'server' || s.binds === 'both');
  });
}

/** The scenario case id of a finding (`<kind>-<packet type>-<field>`). */
export function findingSlug(f: Finding): string {
  return slug(`${f.kind}-${f.protocol === 5 ? 'v5' : 'v311'}-${f.packetType}-${f.field}`) || 'finding';
}

/**
 * A scenario that passes against a broker without the defect and fails (or errors) against one with it:
 * each connection writes its stream with `firstBytes`; a stream with a violation must be closed, a valid one
 * answered; subscribers receive nothing more; and a fresh client still gets CONNACK and PINGRESP.
 */
export function scenarioYaml(f: Finding): string {
  const v: ProtocolVersion = f.protocol;
  const steps: unknown[] = [];
  const streams = f.packetsHex.map((h) => Buffer.from(h, 'hex'));
  const names = streams.map((_, i) => `c${i + 1}`);
  const publishedTopics: string[] = [];
  streams.forEach((stream, i) => {
    const as = names[i]!;
    steps.push({ connect: { as, firstBytes: spaced(stream.toString('hex')) } });
    const e = expectationOf(stream, v);
    if (e.kind === 'close') {
      steps.push({
        expect: {
          as,
          closed: true,
          skip: [...SKIP_BEFORE_CLOSE, ...(e.pingsBefore > 0 ? ['pingresp'] : [])],
        },
      });
    } else if (e.kind === 'open') {
      for (let k = 0; k <= e.pingsBefore; k++) {
        steps.push({ expect: { as, pingresp: {}, skip: SKIP_BEFORE_CLOSE } });
      }
    }
    for (const t of publishedIn(stream, v)) publishedTopics.push(t);
  });
  if (f.kind === 'wrong-delivery') {
    streams.forEach((stream, i) => {
      const filters = activeFilters(stream, v);
      if (filters.length === 0 || i === streams.length - 1) return;
      // Shared subscriptions split deliveries between subscribers: nothing exact can be asked of one of them.
      if (subscribedShared(stream, v)) return;
      const owed = publishedTopics.filter((t) => filters.some((fl) => topicMatches(fl, t)));
      // What the subscriber is owed arrives with the topic published (a broker that rewrites it fails here)...
      for (const topic of owed)
        steps.push({ expect: { as: names[i]!, publish: { topic }, skip: ['pingresp'] } });
      // ...and nothing else does (unless overlapping filters may bring a message twice).
      const overlapping = owed.some((t) => filters.filter((fl) => topicMatches(fl, t)).length > 1);
      if (!overlapping) steps.push({ expect: { as: names[i]!, nothing: 'auto', skip: ['pingresp'] } });
    });
  }
  steps.push({ connect: { as: 'probe' } });
  steps.push({ send: { as: 'probe', packet: { type: 'pingreq' } } });
  steps.push({ expect: { as: 'probe', pingresp: {} } });
  const statements = scenarioStatements(f);
  const doc = {
    section: '4.8',
    title: `fuzz finding: ${f.kind} ${f.packetType} ${f.field}`,
    protocols: [v === 5 ? '5.0' : '3.1.1'],
    cases: [
      {
        id: findingSlug(f),
        title: `${f.kind}: ${f.packetType} ${f.field}`.slice(0, 200),
        description: f.description,
        ...(statements.length > 0 ? { statements } : {}),
        level: 'must',
        steps,
      },
    ],
  };
  const header = [
    `# mqtt-conform fuzz finding (${f.kind}), seen ${f.count} time(s)`,
    ...(f.caseSeed !== undefined
      ? [`# case seed ${f.caseSeed}${f.path ? `, shrink path ${f.path}` : ''}, family ${f.family}`]
      : []),
    ...(f.exit ? [`# process exit: code ${f.exit.code}, signal ${f.exit.signal}`] : []),
    '# replay: mqtt-conform replay <this file> [host:port | --spawn "cmd --port {port}"]',
    '',
  ];
  return header.join('\n') + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

function subscribedShared(stream: Buffer, v: ProtocolVersion): boolean {
  for (const ev of new StreamDecoder({ protocolVersion: v }).push(stream)) {
    if (!ev.ok) break;
    if (ev.packet.type === 'subscribe' && ev.packet.subscriptions.some((s) => s.topic.startsWith('$share/')))
      return true;
  }
  return false;
}

function publishedIn(stream: Buffer, v: ProtocolVersion): string[] {
  const out: string[] = [];
  for (const ev of new StreamDecoder({ protocolVersion: v }).push(stream)) {
    if (!ev.ok) break;
    if (ev.packet.type === 'publish') out.push(ev.packet.topic);
  }
  return out;
}

export interface WrittenReport {
  json: string;
  junit?: string;
}

/** Writes the scenarios, `.hex` files and `fuzz.json` under `dir`; the findings get their `reproducer`. */
export function writeFuzzReport(dir: string, result: FuzzResult, junit?: string): WrittenReport {
  mkdirSync(dir, { recursive: true });
  const used = new Set<string>();
  for (const f of result.findings) {
    if (f.packetsHex.length === 0) continue;
    let name = findingSlug(f);
    for (let n = 2; used.has(name); n++) name = `${findingSlug(f)}-${n}`;
    used.add(name);
    const yamlPath = join(dir, `${name}.yaml`);
    writeFileSync(yamlPath, scenarioYaml(f));
    writeFileSync(join(dir, `${name}.hex`), `${f.packetsHex.join('\n')}\n`);
    f.reproducer = yamlPath;
  }
  const json = join(dir, 'fuzz.json');
  writeFileSync(
    json,
    `${JSON.stringify(
      {
        seed: result.seed,
        protocol: result.protocol,
        durationMs: result.durationMs,
        cases: result.cases,
        casesPerSecond: result.casesPerSecond,
        ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}),
        unconfirmed: result.unconfirmed,
        restarts: result.restarts,
        findings: result.findings.map((f) => ({
          kind: f.kind,
          ...(f.statement ? { statement: f.statement } : {}),
          description: f.description,
          protocol: f.protocol === 5 ? '5.0' : '3.1.1',
          packetType: f.packetType,
          field: f.field,
          family: f.family,
          packetsHex: f.packetsHex,
          count: f.count,
          ...(f.reproducer ? { reproducer: relative(dir, f.reproducer) } : {}),
          ...(f.caseSeed !== undefined ? { caseSeed: f.caseSeed } : {}),
          ...(f.path ? { path: f.path } : {}),
          ...(f.shrinks !== undefined ? { shrinks: f.shrinks } : {}),
          ...(f.exit ? { exit: f.exit } : {}),
        })),
      },
      null,
      2,
    )}\n`,
  );
  const out: WrittenReport = { json };
  if (junit) {
    mkdirSync(dirname(junit), { recursive: true });
    writeFileSync(junit, junitXml(result));
    out.junit = junit;
  }
  return out;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One testcase per oracle: failed when it has findings. */
export function junitXml(result: FuzzResult): string {
  const failures = FINDING_KINDS.filter((k) => result.findings.some((f) => f.kind === k)).length;
  const secs = (result.durationMs / 1000).toFixed(3);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mqtt-conform fuzz" tests="${FINDING_KINDS.length}" failures="${failures}" time="${secs}">`,
    `  <testsuite name="fuzz seed ${result.seed} (${esc(result.protocol)})" tests="${FINDING_KINDS.length}" failures="${failures}" time="${secs}">`,
  ];
  for (const k of FINDING_KINDS) {
    const fs = result.findings.filter((f) => f.kind === k);
    lines.push(`    <testcase classname="fuzz" name="${k}" time="${secs}">`);
    if (fs.length > 0) {
      const text = fs
        .map(
          (f) =>
            `${f.statement ? `[${f.statement}] ` : ''}${f.packetType} ${f.field} (x${f.count}): ${f.description}${f.reproducer ? `\n  reproducer: ${f.reproducer}` : ''}`,
        )
        .join('\n');
      lines.push(`      <failure message="${fs.length} ${k} finding(s)">${esc(text)}</failure>`);
    }
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
