import { type PubrelPacket, ReasonCode } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';

/**
 * PUBREL ends an incoming QoS 2 flow: the id is forgotten and PUBCOMP sent with the same id (3.1.1 [MQTT-4.3.3-2]
 * [MQTT-2.3.1-6]; 5.0 [MQTT-4.3.3-11] [MQTT-2.2.1-5]); 5.0 answers an unknown id with 0x92 (PUBCOMP codes [MQTT-3.7.2-1]).
 */
export function handlePubrel(conn: Connection, packet: PubrelPacket): void {
  const known = conn.session?.inboundQos2.delete(packet.packetId) ?? false;
  conn.inboundQos2.delete(packet.packetId);
  conn.sendAck('pubcomp', packet.packetId, known ? 0 : ReasonCode.PacketIdentifierNotFound);
}
