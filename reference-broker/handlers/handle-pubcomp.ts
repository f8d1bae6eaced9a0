import type { PubcompPacket } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';

/** PUBCOMP completes an outgoing QoS 2 delivery; the packet id becomes free again. */
export function handlePubcomp(conn: Connection, packet: PubcompPacket): void {
  conn.session?.onPubcomp(packet.packetId);
}
