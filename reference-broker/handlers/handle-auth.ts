import { type AuthPacket, ReasonCode } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';

/**
 * AUTH: the broker supports no extended authentication method, so a CONNECT naming one was already refused
 * with 0x8C [MQTT-4.12.0-1]; an AUTH on a connection without a method is a Protocol Error (section 4.12). The
 * server never sends AUTH [MQTT-4.12.0-6] (so [MQTT-3.15.2-1] [MQTT-3.15.2-2] [MQTT-3.15.2-3] and the
 * re-authentication rules [MQTT-4.12.0-2] [MQTT-4.12.0-4] [MQTT-4.12.0-5] [MQTT-4.12.1-2] never come into play).
 */
export function handleAuth(conn: Connection, _packet: AuthPacket): void {
  conn.violation(ReasonCode.ProtocolError, 'AUTH without an authentication method');
}
