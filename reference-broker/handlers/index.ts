import { type Packet, ReasonCode } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';
import { handleAuth } from './handle-auth.js';
import { handleConnect } from './handle-connect.js';
import { handleDisconnect } from './handle-disconnect.js';
import { handlePingreq } from './handle-pingreq.js';
import { handlePuback } from './handle-puback.js';
import { handlePubcomp } from './handle-pubcomp.js';
import { handlePublish } from './handle-publish.js';
import { handlePubrec } from './handle-pubrec.js';
import { handlePubrel } from './handle-pubrel.js';
import { handleSubscribe } from './handle-subscribe.js';
import { handleUnsubscribe } from './handle-unsubscribe.js';

/** One handler per packet type; packets a client never sends are protocol errors. */
export function dispatch(conn: Connection, packet: Packet): void {
  if (packet.type === 'connect') {
    handleConnect(conn, packet);
    return;
  }
  if (conn.state !== 'connected') {
    // Before CONNACK only the answer to an authentication challenge is taken (5.0 section 4.12).
    if (packet.type === 'auth' && conn.authPending !== undefined) handleAuth(conn, packet);
    return;
  }
  switch (packet.type) {
    case 'publish':
      handlePublish(conn, packet);
      return;
    case 'puback':
      handlePuback(conn, packet);
      return;
    case 'pubrec':
      handlePubrec(conn, packet);
      return;
    case 'pubrel':
      handlePubrel(conn, packet);
      return;
    case 'pubcomp':
      handlePubcomp(conn, packet);
      return;
    case 'subscribe':
      handleSubscribe(conn, packet);
      return;
    case 'unsubscribe':
      handleUnsubscribe(conn, packet);
      return;
    case 'pingreq':
      handlePingreq(conn);
      return;
    case 'disconnect':
      handleDisconnect(conn, packet);
      return;
    case 'auth':
      handleAuth(conn, packet);
      return;
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP are server-to-client only [MQTT-4.8.0-1] (5.0 section 4.13).
      conn.violation(ReasonCode.ProtocolError, `${packet.type} is not sent by clients`);
  }
}
