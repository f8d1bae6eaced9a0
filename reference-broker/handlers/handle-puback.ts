import type { PubackPacket } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';

/** PUBACK completes an outgoing QoS 1 delivery (3.1.1 [MQTT-4.3.2-1]; 5.0 [MQTT-4.3.2-3]); an unknown id is ignored. */
export function handlePuback(conn: Connection, packet: PubackPacket): void {
  conn.session?.onPuback(packet.packetId);
}
