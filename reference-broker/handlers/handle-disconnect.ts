import { type DisconnectPacket, ReasonCode } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';

/**
 * DISCONNECT: the will is discarded [MQTT-3.1.2-10] [MQTT-3.14.4-3], in 5.0 only for reason 0x00 (0x04 Disconnect
 * with Will Message and error codes keep it); 5.0 may update the session expiry, but not from 0 to non-zero (section 3.14.2.2.2).
 */
export function handleDisconnect(conn: Connection, packet: DisconnectPacket): void {
  if (conn.version === 5) {
    const expiry = packet.properties?.sessionExpiryInterval;
    if (expiry !== undefined) {
      if (conn.connectSessionExpiry === 0 && expiry !== 0) {
        conn.violation(ReasonCode.ProtocolError, 'DISCONNECT sets session expiry after CONNECT gave 0');
        return;
      }
      if (conn.session !== null)
        conn.session.expiryInterval = Math.min(expiry, conn.broker.limits.maxSessionExpiryInterval);
    }
    // Only a Normal Disconnection (0x00) withdraws the will [MQTT-3.1.2-10]; 0x04 and error codes publish it.
    conn.willOnClose = (packet.reasonCode ?? 0) !== ReasonCode.NormalDisconnection;
  } else {
    conn.willOnClose = false;
  }
  conn.broker.log.debug(`${conn.label} sent DISCONNECT`);
  conn.close();
}
