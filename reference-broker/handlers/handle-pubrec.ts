import type { PubrecPacket } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';

/** PUBREC: the server releases with PUBREL (3.1.1 [MQTT-4.3.3-1]; 5.0 [MQTT-4.3.3-4]); 5.0 failure codes end the flow [MQTT-4.4.0-2]. */
export function handlePubrec(conn: Connection, packet: PubrecPacket): void {
  conn.session?.onPubrec(packet.packetId, packet.reasonCode ?? 0);
}
