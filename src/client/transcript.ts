import { describePacket } from './match.js';
import type { TranscriptEntry } from './types.js';

/** Bytes shown per transcript line before truncating. */
const MAX_HEX_BYTES = 48;

/** Lowercase hex without separators, as stored in TranscriptEntry.hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** `30 0a 00 03 ...` with a byte count when truncated. */
export function spacedHex(hex: string, maxBytes = MAX_HEX_BYTES): string {
  const total = hex.length / 2;
  const shown = Math.min(total, maxBytes);
  const pairs: string[] = [];
  for (let i = 0; i < shown; i++) pairs.push(hex.slice(i * 2, i * 2 + 2));
  return total > shown ? `${pairs.join(' ')} … (${total} bytes)` : pairs.join(' ');
}

export class InvalidHexError extends Error {
  readonly code = 'INVALID_HEX';
  override readonly name = 'InvalidHexError';
}

/** Parses hex with optional whitespace between digits (`"30 02 00 01"`). */
export function parseHex(text: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(compact) || compact.length % 2 !== 0) {
    throw new InvalidHexError(`not an even number of hex digits: ${JSON.stringify(text)}`);
  }
  return Buffer.from(compact, 'hex');
}

/** One line: `  +12.3ms  c1 -> PUBLISH {...}  30 0a ...`. */
export function formatTranscriptEntry(entry: TranscriptEntry, name = entry.client ?? 'client'): string {
  const time = `+${entry.at.toFixed(1)}ms`.padStart(10);
  const who = entry.client ?? name;
  if (entry.dir === 'event') return `${time}  ${who} -- ${entry.note ?? ''}`;
  const arrow = entry.dir === 'out' ? '->' : '<-';
  let what: string;
  if (entry.packet) what = describePacket(entry.packet);
  else if (entry.error) {
    const e = entry.error;
    what = `MALFORMED ${e.code}${e.statement ? ` [${e.statement}]` : ''}: ${e.message}`;
  } else what = 'bytes';
  const note = entry.note ? ` (${entry.note})` : '';
  const hex = entry.hex !== undefined ? `  ${spacedHex(entry.hex)}` : '';
  return `${time}  ${who} ${arrow} ${what}${note}${hex}`;
}

/** Several entries (possibly of several clients, sorted by time) as report text. */
export function formatTranscript(entries: readonly TranscriptEntry[], name?: string): string {
  return entries.map((e) => formatTranscriptEntry(e, name)).join('\n');
}

/** Merges the transcripts of several clients (sharing one epoch) in time order. */
export function mergeTranscripts(
  ...transcripts: ReadonlyArray<readonly TranscriptEntry[]>
): TranscriptEntry[] {
  return transcripts.flat().sort((a, b) => a.at - b.at);
}
