import { type AuthPacket, ReasonCode } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';

/**
 * AUTH: the broker supports no extended authentication method, so a CONNECT naming one was already refused
 * with 0x8C [MQTT-4.12.0-1]; an AUTH on a connection without a method is a Protocol Error (section 4.12). The
 * server never sends AUTH [MQTT-4.12.0-6].
 */
export function handleAuth(conn: Connection, _packet: AuthPacket): void {
  conn.violation(ReasonCode.ProtocolError, 'AUTH without an authentication method');
}
