import type net from 'node:net';
import type { Packet, ProtocolVersion } from '../../../src/codec/index.js';

/**
 * What a fault sees of one proxied connection. `state` is private to the connection, `shared` is common to
 * every connection through the same proxy (e.g. retained topics seen so far).
 */
export interface FaultConn {
  client: net.Socket;
  broker: net.Socket;
  version: ProtocolVersion;
  /** Packet identifiers the proxy invents (60000..65535) do not collide with the scenarios' own. */
  nextProxyId(): number;
  state: Map<string, unknown>;
  shared: Map<string, unknown>;
  /** Sends a packet to the client, encoded for the connection's version. */
  toClient(p: Packet): void;
  /** Sends a packet to the broker, encoded for the connection's version. */
  toBroker(p: Packet): void;
}

/**
 * Client -> broker: 'raw' forwards the original bytes, a packet is re-encoded and forwarded, null drops it,
 * 'abort-broker' resets the broker side and ends the client side (the broker sees a crashed client),
 * 'refuse' / 'refuse-id' answer a CONNECT with a refusing CONNACK (0x84, or 0x02/0x85) and close.
 */
export type UpResult = Packet | 'raw' | null | 'abort-broker' | 'refuse' | 'refuse-id';

/** Broker -> client: 'raw' forwards, a packet is re-encoded, null drops. */
export type DownResult = Packet | 'raw' | null;

export interface FaultDef {
  /** The rule this fault breaks, in a few words. */
  describe: string;
  up?(p: Packet, conn: FaultConn): UpResult;
  /**
   * Client -> broker bytes the strict decoder rejects (e.g. a CONNECT with a wrong protocol name or level,
   * or a reserved flag set): return bytes to forward in their place and keep decoding the stream, or
   * undefined to forward them as they are and pass the rest of the connection through untouched.
   */
  upMalformed?(raw: Buffer, conn: FaultConn): Buffer | undefined;
  /** May return several packets to send in place of one. */
  down?(p: Packet, conn: FaultConn): DownResult | Packet[];
  /**
   * When the broker closes the connection, keep the client's side open and silent: 'always' (a broker that
   * never closes on a violation), 'after-refusal' (only once a refusing CONNACK went by).
   */
  keepClientOpen?: 'always' | 'after-refusal';
}

/** A 5.0 or 3.1.1 acknowledgement with reason code 0. */
export function ack(
  type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp',
  packetId: number,
  version: ProtocolVersion,
): Packet {
  return version === 5 ? { type, packetId, reasonCode: 0, properties: {} } : { type, packetId };
}
