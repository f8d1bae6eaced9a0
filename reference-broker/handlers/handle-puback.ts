import type { PubackPacket } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';

/** PUBACK completes an outgoing QoS 1 delivery [MQTT-4.3.2-1]; an unknown id is ignored. */
export function handlePuback(conn: Connection, packet: PubackPacket): void {
  conn.session?.onPuback(packet.packetId);
}
