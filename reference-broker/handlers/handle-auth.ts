import { type AuthPacket, ReasonCode } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';
import { handleConnect } from './handle-connect.js';

/**
 * AUTH (5.0 section 4.12): the broker's one challenge-response method (config `authentication`). A CONNECT
 * naming it got AUTH 0x18 with the challenge; the answer completes or refuses that CONNECT. Once connected
 * with it, AUTH 0x19 starts a re-authentication: the same challenge, then AUTH 0x00 or DISCONNECT 0x87.
 * Every AUTH the broker sends carries the method of the CONNECT [MQTT-4.12.0-5] and a valid AUTH reason code
 * [MQTT-3.15.2-1] (its flags are 0 by construction [MQTT-3.15.1-1]); a connection whose CONNECT named no
 * method never gets one [MQTT-4.12.0-6], and an AUTH from it is a Protocol Error.
 */
export function handleAuth(conn: Connection, packet: AuthPacket): void {
  const auth = conn.broker.authentication;
  const method = packet.properties?.authenticationMethod;
  const data = packet.properties?.authenticationData;
  const answered = auth !== undefined && data !== undefined && Buffer.from(data).toString() === auth.response;
  const pending = conn.authPending;
  if (pending !== undefined) {
    conn.authPending = undefined;
    if (
      auth === undefined ||
      method !== auth.method ||
      packet.reasonCode !== ReasonCode.ContinueAuthentication
    ) {
      conn.refuse(ReasonCode.ProtocolError, 'unexpected AUTH during authentication');
      return;
    }
    if (!answered) {
      // Rejected: CONNACK 0x87, then close [MQTT-4.12.0-4].
      conn.refuse(ReasonCode.NotAuthorized, 'authentication failed');
      return;
    }
    conn.authMethod = auth.method;
    handleConnect(conn, pending);
    return;
  }
  if (auth === undefined || conn.authMethod === undefined) {
    conn.violation(ReasonCode.ProtocolError, 'AUTH without an authentication method');
    return;
  }
  if (method !== conn.authMethod) {
    // Re-authentication must use the CONNECT's method (client rule [MQTT-4.12.1-1]): a Protocol Error.
    conn.violation(ReasonCode.ProtocolError, 'AUTH with another authentication method');
    return;
  }
  if (packet.reasonCode === ReasonCode.ReAuthenticate && !conn.reauthPending) {
    conn.reauthPending = true;
    conn.send({
      type: 'auth',
      reasonCode: ReasonCode.ContinueAuthentication,
      properties: { authenticationMethod: auth.method, authenticationData: Buffer.from(auth.challenge) },
    });
    return;
  }
  if (packet.reasonCode === ReasonCode.ContinueAuthentication && conn.reauthPending) {
    conn.reauthPending = false;
    if (answered) {
      conn.send({
        type: 'auth',
        reasonCode: ReasonCode.Success,
        properties: { authenticationMethod: auth.method },
      });
      return;
    }
    // Failed re-authentication: DISCONNECT 0x87, then close [MQTT-4.12.1-2].
    conn.violation(ReasonCode.NotAuthorized, 're-authentication failed');
    return;
  }
  conn.violation(ReasonCode.ProtocolError, 'unexpected AUTH');
}
