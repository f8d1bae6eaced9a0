/**
 * What a conformant broker must do with a stream a client writes, read with the strict decoder from the
 * server's side (the same codec the reference broker uses) plus the sequence rules a decoder cannot see.
 */
import {
  type DecodeError,
  type Packet,
  type ProtocolVersion,
  parseSharedFilter,
  StreamDecoder,
} from '../codec/index.js';

export type Expectation = ExpectationKind & {
  /** PINGREQs the broker reads before the violation (or before the sentinel): a PINGRESP beyond these answers the sentinel. */
  pingsBefore: number;
};

type ExpectationKind =
  /** A malformed packet or a protocol violation comes before the sentinel: the broker must close. */
  | {
      kind: 'close';
      statement: string;
      reason: string;
      /** The decoder's error, when the stream is malformed (not a sequence violation). */
      error?: DecodeError;
      /** 5.0 topic alias: no violation when the CONNACK allowed an alias this high. */
      unlessAliasMax?: number;
    }
  /** Every packet is valid up to the sentinel: a PINGRESP is due (unless the broker refuses or closes). */
  | { kind: 'open' }
  /** The stream ends inside a packet (a length larger than the bytes sent): silence or a close. */
  | { kind: 'incomplete' }
  /** Nothing can be required of the sentinel (after DISCONNECT, a non-minimal length in 3.1.1, ...). */
  | { kind: 'any'; reason: string };

/** The close-on-violation rule of each version. */
export function closeStatement(v: ProtocolVersion): string {
  return v === 5 ? 'MQTT-4.13.1-1' : 'MQTT-4.8.0-1';
}

const SERVER_ONLY = new Set(['connack', 'suback', 'unsuback', 'pingresp']);

/** Decode errors that are not a violation the broker must close for. */
const TOLERATED = new Set(['NON_MINIMAL_VARINT', 'PACKET_TOO_LARGE']);

/**
 * The expectation for one connection's stream (the sentinel PINGREQ included as its last two bytes),
 * decoded as the server reads it.
 */
export function expectationOf(stream: Buffer, v: ProtocolVersion): Expectation {
  let pings = 0;
  const kind = expectationKind(stream, v, () => pings++);
  return { ...kind, pingsBefore: kind.kind === 'open' ? pings - 1 : pings };
}

function expectationKind(stream: Buffer, v: ProtocolVersion, ping: () => void): ExpectationKind {
  const dec = new StreamDecoder({ protocolVersion: v });
  const close = (reason: string, statement = closeStatement(v), error?: DecodeError): ExpectationKind => ({
    kind: 'close',
    statement,
    reason,
    ...(error ? { error } : {}),
  });
  let first = true;
  let authMethod = false;
  let version = v;
  let consumed = 0;
  let last: Packet | undefined;
  for (const ev of dec.push(stream)) {
    if (!ev.ok) {
      if (TOLERATED.has(ev.error.code)) return { kind: 'any', reason: ev.error.message };
      return close(
        `${ev.error.code}: ${ev.error.message}${ev.error.statement ? ` [${ev.error.statement}]` : ''}`,
        first && ev.error.packetType !== 'connect' ? 'MQTT-3.1.0-1' : closeStatement(version),
        ev.error,
      );
    }
    const p = ev.packet;
    consumed += ev.raw.length;
    last = p;
    if (first) {
      first = false;
      if (p.type !== 'connect') return close(`${p.type.toUpperCase()} before CONNECT`, 'MQTT-3.1.0-1');
      if (p.protocolVersion === 4 || p.protocolVersion === 5) version = p.protocolVersion;
      authMethod = p.properties?.authenticationMethod !== undefined;
      continue;
    }
    if (p.type === 'connect') return close('a second CONNECT', 'MQTT-3.1.0-2');
    if (SERVER_ONLY.has(p.type)) return close(`${p.type.toUpperCase()} sent by a client`);
    if (p.type === 'disconnect') return { kind: 'any', reason: 'DISCONNECT ends the connection' };
    if (p.type === 'pingreq') ping();
    if (version === 5) {
      if (p.type === 'auth' && !authMethod) return close('AUTH without an authentication method in CONNECT');
      if (p.type === 'publish' && p.properties?.topicAlias !== undefined) {
        const alias = p.properties.topicAlias;
        if (alias === 0) return close('topic alias 0', 'MQTT-3.3.2-8');
        return { ...close(`topic alias ${alias}`), unlessAliasMax: alias } as ExpectationKind;
      }
      if (p.type === 'subscribe') {
        for (const s of p.subscriptions) {
          if (s.noLocal && parseSharedFilter(s.topic)) {
            return close('No Local on a shared subscription', 'MQTT-3.8.3-4');
          }
        }
      }
    }
  }
  if (consumed === stream.length && last?.type === 'pingreq') return { kind: 'open' };
  if (dec.buffered > 0 || consumed < stream.length) return { kind: 'incomplete' };
  return { kind: 'any', reason: 'the sentinel was read as part of another packet' };
}

/** The topic filters a connection's own stream subscribed to and did not unsubscribe (shared: inner filter). */
export function activeFilters(stream: Buffer, v: ProtocolVersion): string[] {
  const dec = new StreamDecoder({ protocolVersion: v });
  const filters = new Set<string>();
  for (const ev of dec.push(stream)) {
    if (!ev.ok) break;
    const p = ev.packet;
    if (p.type === 'subscribe') for (const s of p.subscriptions) filters.add(s.topic);
    if (p.type === 'unsubscribe') for (const t of p.topics) filters.delete(t);
  }
  return [...filters].map((f) => parseSharedFilter(f)?.filter ?? f);
}
