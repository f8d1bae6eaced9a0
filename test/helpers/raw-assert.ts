import {
  describeFailure,
  formatTranscript,
  mergeTranscripts,
  type RawClient,
} from '../../src/client/index.js';
import type { ClientEvent, ExpectResult, NothingResult } from '../../src/client/types.js';

/**
 * Throws with Expected / Actual and the merged wire log of `clients` when an expectation failed, so a test
 * failure reads like a conformance report. Returns the matched event on success.
 */
export function assertOk(result: ExpectResult, ...clients: RawClient[]): ClientEvent;
export function assertOk(result: NothingResult, ...clients: RawClient[]): undefined;
export function assertOk(
  result: ExpectResult | NothingResult,
  ...clients: RawClient[]
): ClientEvent | undefined {
  if (result.ok) return 'event' in result ? result.event : undefined;
  const log = formatTranscript(mergeTranscripts(...clients.map((c) => c.transcript())));
  throw new Error(`${describeFailure(result)}\nWire log:\n${log}`);
}

/** The packet of a successful expect, narrowed to `type`. */
export function packetOf<T extends Extract<ClientEvent, { kind: 'packet' }>['packet']['type']>(
  event: ClientEvent,
  type: T,
): Extract<Extract<ClientEvent, { kind: 'packet' }>['packet'], { type: T }> {
  if (event.kind !== 'packet' || event.packet.type !== type) {
    throw new Error(`expected a ${type} packet event, got ${event.kind}`);
  }
  return event.packet as Extract<Extract<ClientEvent, { kind: 'packet' }>['packet'], { type: T }>;
}
