/**
 * The fuzzer's data model: a case is a few connections, each a short list of byte parts (valid packets,
 * mutated packets or raw bytes) followed by a sentinel PINGREQ; a finding is what an oracle reported.
 */
import type { ProtocolVersion } from '../codec/index.js';

/** Mutation families, each a named fast-check arbitrary (src/fuzz/families.ts). */
export const FAMILY_NAMES = ['lengths', 'properties', 'fields', 'headers', 'sequences', 'valid'] as const;
export type FamilyName = (typeof FAMILY_NAMES)[number];

export const FINDING_KINDS = [
  'crash',
  'hang',
  'no-close',
  'malformed-response',
  'wrong-delivery',
  'leak',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/**
 * Placeholders written into generated packets and replaced, byte for byte and with the same length, by a
 * value unique to the case when it runs: concurrent cases never share a client identifier or a topic.
 */
export const CLIENT_ID_TOKEN = 'fzCIDxxxxxxxxxxxxxxxxxx'; // 23 characters [MQTT-3.1.3-5]
export const PREFIX_TOKEN = 'fzPFXxxxxxxxxxxxxxxx'; // 20 characters

export interface Part {
  bytes: Buffer;
  /** One line on what these bytes are: `PUBLISH (remaining length = actual + 1)`. */
  note: string;
}

export interface FuzzConnection {
  parts: Part[];
  /** Slow / partial sends: write the stream in pieces of this many bytes, a macrotask apart. */
  chunkSize?: number;
  /** Slow sends: this long between pieces (default: one macrotask). */
  pauseMs?: number;
  /** Use the client identifier of that earlier connection (a takeover); by default each has its own. */
  clientIdOf?: number;
}

export interface FuzzCase {
  family: FamilyName;
  protocol: ProtocolVersion;
  /** The packet type the mutation targets (`stream` for non-MQTT bytes). */
  packetType: string;
  /** The field or aspect mutated (`remaining length`, `topic`, `flags`, `second CONNECT`, ...). */
  field: string;
  /** The mutation applied, for the report (`actual + 1`, `0xc0 0x80`, ...). */
  variant: string;
  /** Run in order; every connection but the last stays open until the case ends. */
  connections: FuzzConnection[];
}

export interface Finding {
  kind: FindingKind;
  statement?: string;
  description: string;
  protocol: ProtocolVersion;
  packetType: string;
  field: string;
  family: FamilyName | 'run';
  /** The streams of the (shrunk) case, one hex string per connection, tokens already replaced. */
  packetsHex: string[];
  count: number;
  /** Path of the saved scenario (set when written). */
  reproducer?: string;
  /** fast-check seed and shrink path of the case: `generateCase(arb, caseSeed, path)` regenerates it. */
  caseSeed?: number;
  path?: string;
  /** Shrink steps taken. */
  shrinks?: number;
  /** Exit code / signal and stderr tail of a spawned target, for crashes. */
  exit?: { code: number | null; signal: string | null; stderr: string };
}

export function dedupKey(f: Pick<Finding, 'kind' | 'packetType' | 'field' | 'protocol'>): string {
  return `${f.kind}|${f.protocol}|${f.packetType}|${f.field}`;
}
