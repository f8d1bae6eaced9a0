import type { Packet } from '../codec/index.js';
import type { ClientEvent, PacketMatch } from './types.js';

/**
 * A match value that requires a field to be absent (`new Presence(false)`) or present with any value
 * (`new Presence(true)`): the `absent: [...]` / `present: [...]` property lists of a scenario expectation.
 */
export class Presence {
  constructor(readonly present: boolean) {}
}

export type MatchResult = { ok: true } | { ok: false; mismatches: string[] };

/** A match value that accepts any number except the listed ones (e.g. packet identifiers still in use). */
export class NoneOf {
  constructor(readonly values: readonly number[]) {}
}

/**
 * Partial deep match of `packet` against `match` (see PacketMatch): every key given must equal the packet's
 * value; nested objects match partially; arrays by length and element; Buffers by bytes; a string matches a
 * Buffer by its UTF-8 bytes. A key given as `undefined` requires the field to be absent.
 */
export function matchPacket(match: PacketMatch, packet: Packet): MatchResult {
  const mismatches: string[] = [];
  if (match.type !== packet.type) {
    mismatches.push(`type: expected ${match.type}, got ${packet.type}`);
    return { ok: false, mismatches };
  }
  const actual = packet as unknown as Record<string, unknown>;
  for (const [key, expected] of Object.entries(match)) {
    if (key === 'type') continue;
    matchValue(expected, actual[key], key, mismatches, packet.type);
  }
  return mismatches.length === 0 ? { ok: true } : { ok: false, mismatches };
}

/**
 * The match value `failure` of a reason code (`reasonCode: failure`, `reasonCodes: [0, failure]`): one of the
 * failure codes (0x80 or above) that MQTT 5.0 defines for that packet type, e.g. for SUBACK 0x80, 0x83, 0x87,
 * 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2. A code the packet may not carry is no failure code of it
 * [MQTT-3.9.3-2 and the like]. (3.1.1 has one failure code, SUBACK 0x80: write it.)
 */
export const FAILURE_CODE = 'failure';

/** The 5.0 failure reason codes (0x80 and above) of each packet type that carries reason codes. */
export const FAILURE_CODES: Partial<Record<Packet['type'], readonly number[]>> = {
  connack: [
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a,
    0x9b, 0x9c, 0x9d, 0x9f,
  ],
  puback: [0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrec: [0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrel: [0x92],
  pubcomp: [0x92],
  suback: [0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  unsuback: [0x80, 0x83, 0x87, 0x8f, 0x91],
  disconnect: [
    0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
    0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
  ],
};

function matchValue(
  expected: unknown,
  actual: unknown,
  path: string,
  out: string[],
  type?: Packet['type'],
): void {
  if (expected === FAILURE_CODE && /(^|\.)reasonCodes?(\[\d+\])?$/.test(path)) {
    const codes = (type && FAILURE_CODES[type]) ?? [];
    if (typeof actual !== 'number' || !codes.includes(actual))
      out.push(
        `${path}: expected a ${type?.toUpperCase() ?? ''} failure code (${codes.map((c) => `0x${c.toString(16)}`).join(', ')}), got ${formatValue(actual)}`,
      );
    return;
  }
  if (expected === undefined) {
    if (actual !== undefined) out.push(`${path}: expected absent, got ${formatValue(actual)}`);
    return;
  }
  if (expected instanceof Presence) {
    if (expected.present && actual === undefined) out.push(`${path}: expected present, got absent`);
    if (!expected.present && actual !== undefined)
      out.push(`${path}: expected absent, got ${formatValue(actual)}`);
    return;
  }
  if (expected instanceof NoneOf) {
    if (typeof actual !== 'number' || expected.values.includes(actual))
      out.push(`${path}: expected ${formatValue(expected)}, got ${formatValue(actual)}`);
    return;
  }
  if (expected instanceof Uint8Array || (typeof expected === 'string' && actual instanceof Uint8Array)) {
    const want = typeof expected === 'string' ? Buffer.from(expected, 'utf8') : expected;
    if (!(actual instanceof Uint8Array) || !Buffer.from(want).equals(Buffer.from(actual))) {
      out.push(`${path}: expected ${formatValue(expected)}, got ${formatValue(actual)}`);
    }
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) {
      out.push(`${path}: expected an array, got ${formatValue(actual)}`);
      return;
    }
    if (actual.length !== expected.length) {
      out.push(
        `${path}: expected ${expected.length} element(s) ${formatValue(expected)}, got ${actual.length} ${formatValue(actual)}`,
      );
      return;
    }
    expected.forEach((e, i) => {
      matchValue(e, actual[i], `${path}[${i}]`, out, type);
    });
    return;
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) {
      out.push(`${path}: expected an object ${formatValue(expected)}, got ${formatValue(actual)}`);
      return;
    }
    for (const [key, value] of Object.entries(expected)) {
      matchValue(value, actual[key], `${path}.${key}`, out);
    }
    return;
  }
  if (!Object.is(expected, actual)) {
    out.push(`${path}: expected ${formatValue(expected)}, got ${formatValue(actual)}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Longest string or byte run shown before truncating. */
const MAX_SHOWN = 64;

/** Bytes as text when they are printable UTF-8, otherwise as hex, truncated. */
export function formatBytes(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('utf8');
  const printable = /^[\x20-\x7e\t\r\n\u00a0-\uffff]*$/.test(text) && !text.includes('\ufffd');
  if (printable) {
    const shown = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
    return `${JSON.stringify(shown)}${text.length > MAX_SHOWN ? ` (${buf.length} bytes)` : ''}`;
  }
  const hex = buf.subarray(0, MAX_SHOWN).toString('hex');
  return `<${hex}${buf.length > MAX_SHOWN ? `… ${buf.length} bytes` : ''}>`;
}

/** Compact, deterministic rendering of any value found in a packet or a match. */
export function formatValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return formatBytes(v);
  if (v instanceof NoneOf) return `none of [${v.values.join(', ')}]`;
  if (v instanceof Presence) return v.present ? 'present' : 'absent';
  if (typeof v === 'string') {
    return JSON.stringify(v.length > MAX_SHOWN ? `${v.slice(0, MAX_SHOWN)}…` : v);
  }
  if (typeof v === 'function') return v.name ? `[function ${v.name}]` : '[function]';
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  if (typeof v === 'object') {
    const parts = Object.entries(v as Record<string, unknown>)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}: ${formatValue(value)}`);
    return `{${parts.join(', ')}}`;
  }
  return String(v);
}

function formatFields(fields: Record<string, unknown>, dropEmptyProperties: boolean): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'type' || value === undefined) continue;
    if (
      dropEmptyProperties &&
      key === 'properties' &&
      isPlainObject(value) &&
      Object.values(value).every((x) => x === undefined)
    ) {
      continue;
    }
    parts.push(`${key}: ${formatValue(value)}`);
  }
  return parts.length > 0 ? ` {${parts.join(', ')}}` : '';
}

/** e.g. `PUBLISH {topic: "a/b", payload: "hi", qos: 1, retain: false, dup: false, packetId: 7}`. */
export function describePacket(packet: Packet): string {
  return `${packet.type.toUpperCase()}${formatFields(packet as unknown as Record<string, unknown>, true)}`;
}

/** e.g. `PUBACK {packetId: 7}`; a predicate is shown by its function name. */
export function describeMatch(match: PacketMatch | ((e: ClientEvent) => boolean)): string {
  if (typeof match === 'function') return `event matching ${match.name || 'predicate'}`;
  return `${String(match.type).toUpperCase()}${formatFields(match, false)}`;
}

/** One-line description of an inbox event, for expected/actual messages. */
export function describeEvent(event: ClientEvent): string {
  switch (event.kind) {
    case 'packet':
      return describePacket(event.packet);
    case 'closed':
      return `connection closed (${event.reason}${event.detail ? `: ${event.detail}` : ''})`;
    case 'malformed': {
      const e = event.error;
      return `malformed bytes ${e.code}${e.statement ? ` [${e.statement}]` : ''}: ${e.message}`;
    }
  }
}
