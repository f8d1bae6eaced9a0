import { isUtf8 } from 'node:buffer';
import {
  type ConnectPacket,
  encode,
  isValidTopicName,
  type Properties,
  ReasonCode,
  ReturnCode,
} from '../../src/codec/index.js';
import { authenticate } from '../acl.js';
import type { Connection } from '../connection.js';
import { Session } from '../session.js';

/**
 * CONNECT: validation, authentication, client identifier rules, session takeover and resumption, CONNACK.
 * The decoder already enforced the wire format (protocol name and level, reserved flag, will flags, UTF-8)
 * [MQTT-3.1.2-1] [MQTT-3.1.2-2] [MQTT-3.1.2-3] [MQTT-3.1.4-1].
 */
function connackSize(properties: Properties): number {
  return encode({ type: 'connack', sessionPresent: false, reasonCode: 0, properties }, { protocolVersion: 5 })
    .length;
}

export function handleConnect(conn: Connection, packet: ConnectPacket): void {
  const broker = conn.broker;
  const limits = broker.limits;
  if (conn.state === 'connected' || conn.authPending !== undefined) {
    // A second CONNECT is a protocol violation [MQTT-3.1.0-2]; there is only ever one CONNACK (5.0 [MQTT-3.2.0-2]).
    conn.violation(ReasonCode.ProtocolError, 'second CONNECT');
    return;
  }
  conn.clearConnectTimer();
  const v5 = packet.protocolVersion === 5;
  conn.version = v5 ? 5 : 4;
  const props: Properties = packet.properties ?? {};
  // The will is stored only when the Will Flag is set (3.1.1 [MQTT-3.1.2-12]; 5.0 [MQTT-3.1.2-7]).
  conn.will = packet.will;
  conn.username = packet.username;
  if (v5) {
    if (props.requestProblemInformation === 0) conn.requestProblemInfo = false;
    if (props.receiveMaximum !== undefined)
      conn.sendQuota = Math.min(props.receiveMaximum, limits.maxInflight);
    if (props.maximumPacketSize !== undefined) conn.clientMaxPacketSize = props.maximumPacketSize;
    if (props.topicAliasMaximum !== undefined) conn.clientTopicAliasMax = props.topicAliasMaximum;
  }

  // Enhanced authentication (section 4.12): the configured challenge-response method; any other is refused
  // with 0x8C [MQTT-4.12.0-1]. The CONNECT waits for the answer to the challenge (handle-auth.ts), which
  // processes it again with conn.authMethod set.
  if (v5 && props.authenticationMethod !== undefined && conn.authMethod === undefined) {
    const auth = broker.authentication;
    if (auth === undefined || props.authenticationMethod !== auth.method) {
      conn.refuse(
        ReasonCode.BadAuthenticationMethod,
        `unsupported authentication method ${props.authenticationMethod}`,
      );
      return;
    }
    conn.authPending = packet;
    // AUTH with 0x18 Continue authentication [MQTT-4.12.0-2] and the CONNECT's method [MQTT-4.12.0-5].
    conn.send({
      type: 'auth',
      reasonCode: ReasonCode.ContinueAuthentication,
      properties: { authenticationMethod: auth.method, authenticationData: Buffer.from(auth.challenge) },
    });
    return;
  }

  if (packet.clientId.length > limits.maxClientIdLength) {
    // Client identifier not accepted: 0x02 / 0x85, then close (3.1.1 [MQTT-3.1.3-9]; 5.0 [MQTT-3.1.3-8]).
    conn.refuse(
      v5 ? ReasonCode.ClientIdentifierNotValid : ReturnCode.IdentifierRejected,
      'client id too long',
    );
    return;
  }
  // Any non-empty identifier up to the configured length is accepted [MQTT-3.1.3-5]; it keys the session
  // [MQTT-3.1.3-2].
  let clientId = packet.clientId;
  let assigned = false;
  if (clientId === '') {
    if (!v5 && !packet.clean) {
      // Empty client id needs Clean Session 1 in 3.1.1 [MQTT-3.1.3-8] [MQTT-3.1.3-9].
      conn.refuse(ReturnCode.IdentifierRejected, 'empty client id with clean session 0');
      return;
    }
    // Assign a unique id [MQTT-3.1.3-6]; 5.0 returns it in CONNACK [MQTT-3.1.3-7] [MQTT-3.2.2-16].
    clientId = broker.assignClientId();
    assigned = true;
  }
  conn.clientId = clientId;

  const auth = authenticate(
    broker.config.users,
    broker.config.allowAnonymous,
    packet.username,
    packet.password,
  );
  if (auth !== 'ok') {
    // Refused credentials close the connection after CONNACK [MQTT-3.1.4-2] (5.0) / section 3.2.2.3 (3.1.1).
    if (auth === 'bad-credentials') {
      conn.refuse(
        v5 ? ReasonCode.BadUserNameOrPassword : ReturnCode.BadUsernameOrPassword,
        'bad user name or password',
      );
    } else {
      conn.refuse(v5 ? ReasonCode.NotAuthorized : ReturnCode.NotAuthorized, 'anonymous clients not allowed');
    }
    return;
  }

  const will = packet.will;
  if (will !== undefined) {
    if (!isValidTopicName(will.topic) || will.topic.length > limits.maxTopicLength) {
      if (v5) conn.refuse(ReasonCode.TopicNameInvalid, 'invalid will topic');
      else conn.close();
      return;
    }
    if (v5 && will.properties?.payloadFormatIndicator === 1 && !isUtf8(will.payload)) {
      conn.refuse(ReasonCode.PayloadFormatInvalid, 'will payload is not valid UTF-8');
      return;
    }
    if (v5 && will.qos > limits.maximumQoS) {
      // 5.0 [MQTT-3.2.2-12]
      conn.refuse(ReasonCode.QoSNotSupported, 'will QoS above maximum QoS');
      return;
    }
    if (will.retain && !limits.retainAvailable) {
      // 5.0 [MQTT-3.2.2-13]. 3.1.1 can neither honour a retained will [MQTT-3.1.2-17] nor name the reason, so the
      // connection is closed without CONNACK (3.1.1 [MQTT-3.2.2-6]), as a retained PUBLISH closes it.
      if (v5) conn.refuse(ReasonCode.RetainNotSupported, 'will retain not supported');
      else conn.close();
      return;
    }
    if (
      broker.acl.enabled &&
      !broker.acl.canPublish({ clientId, username: packet.username }, will.topic) &&
      v5
    ) {
      conn.refuse(ReasonCode.NotAuthorized, 'will topic not authorised');
      return;
    }
  }

  let expiry: number;
  if (v5) {
    conn.connectSessionExpiry = props.sessionExpiryInterval ?? 0;
    expiry = Math.min(conn.connectSessionExpiry, limits.maxSessionExpiryInterval);
  } else {
    // 3.1.1: a persistent session lasts until a clean connect.
    expiry = packet.clean ? 0 : Number.POSITIVE_INFINITY;
  }

  let keepAlive = packet.keepAlive;
  // 5.0 CONNACK: no Response Information (never requested by us) [MQTT-3.1.2-28], no reason string or user
  // properties [MQTT-3.1.2-29] [MQTT-3.2.2-19] [MQTT-3.2.2-20].
  const connackProps: Properties = {};
  if (v5) {
    if (assigned) connackProps.assignedClientIdentifier = clientId;
    // A successful CONNACK names the method of an enhanced authentication [MQTT-4.12.0-5]; without one in
    // CONNECT, no method and no AUTH are ever sent [MQTT-4.12.0-6].
    if (conn.authMethod !== undefined) connackProps.authenticationMethod = conn.authMethod;
    if (keepAlive > limits.maxKeepAlive || (keepAlive === 0 && limits.maxKeepAlive < 65535)) {
      // The server's value replaces the client's [MQTT-3.2.2-22].
      keepAlive = limits.maxKeepAlive;
      connackProps.serverKeepAlive = keepAlive;
    }
    if (expiry !== conn.connectSessionExpiry) connackProps.sessionExpiryInterval = expiry;
    if (limits.receiveMaximum < 65535) connackProps.receiveMaximum = limits.receiveMaximum;
    // Advertise the maximum QoS when below 2 [MQTT-3.2.2-9].
    if (limits.maximumQoS < 2) connackProps.maximumQoS = limits.maximumQoS;
    if (!limits.retainAvailable) connackProps.retainAvailable = 0;
    if (!limits.wildcardSubscriptionAvailable) connackProps.wildcardSubscriptionAvailable = 0;
    if (!limits.subscriptionIdentifiersAvailable) connackProps.subscriptionIdentifiersAvailable = 0;
    if (!limits.sharedSubscriptionAvailable) connackProps.sharedSubscriptionAvailable = 0;
    connackProps.maximumPacketSize = limits.maxPacketSize;
    if (limits.topicAliasMaximum > 0) connackProps.topicAliasMaximum = limits.topicAliasMaximum;
    // The CONNACK must fit the client's Maximum Packet Size (5.0 [MQTT-3.1.2-24]): the optional announcements
    // are left out first (no Topic Alias Maximum means the client uses no aliases); if it still does not fit,
    // the CONNECT is refused (0x85 when the Assigned Client Identifier is what does not fit).
    for (const optional of ['topicAliasMaximum', 'maximumPacketSize'] as const) {
      if (connackSize(connackProps) <= conn.clientMaxPacketSize) break;
      delete connackProps[optional];
    }
    if (connackSize(connackProps) > conn.clientMaxPacketSize) {
      conn.refuse(
        assigned ? ReasonCode.ClientIdentifierNotValid : ReasonCode.UnspecifiedError,
        'CONNACK would exceed the client Maximum Packet Size',
      );
      return;
    }
    conn.topicAliasMaximum = connackProps.topicAliasMaximum ?? 0;
  }

  // Take over an existing connection with the same client id (3.1.1 [MQTT-3.1.4-2]; 5.0: DISCONNECT 0x8E first
  // [MQTT-3.1.4-3]). Its will follows the normal rules.
  const existing = broker.sessions.get(clientId);
  if (existing?.conn != null) {
    const old = existing.conn;
    broker.log.info(`${old.label} taken over by conn ${conn.id}`);
    old.violation(ReasonCode.SessionTakenOver, 'session taken over');
  }

  // Clean Session / Clean Start (3.1.1 [MQTT-3.1.2-4] [MQTT-3.1.2-6] [MQTT-3.1.4-3]; 5.0 [MQTT-3.1.2-4]
  // [MQTT-3.1.4-4]).
  let session = broker.sessions.get(clientId);
  let sessionPresent = false;
  if (session !== undefined && !packet.clean) {
    // Resume the stored session (3.1.1 [MQTT-3.1.2-4]; 5.0 [MQTT-3.1.2-5]); a delayed will is not sent (5.0
    // [MQTT-3.1.3-9]).
    session.clearTimers();
    session.pendingWill = undefined;
    sessionPresent = true;
  } else {
    if (session !== undefined) broker.endSession(session);
    if (broker.sessions.size >= limits.maxSessions) {
      conn.refuse(v5 ? ReasonCode.QuotaExceeded : ReturnCode.ServerUnavailable, 'session limit reached');
      return;
    }
    session = new Session(clientId, broker);
    broker.sessions.set(clientId, session);
  }
  session.username = packet.username;
  session.protocolVersion = conn.version;
  session.expiryInterval = expiry === 0xffffffff ? Number.POSITIVE_INFINITY : expiry;
  conn.session = session;
  session.conn = conn;
  conn.state = 'connected';
  // CONNACK is the first packet the server sends [MQTT-3.2.0-1]; session present as above (3.1.1 [MQTT-3.2.2-1]
  // [MQTT-3.2.2-2] [MQTT-3.2.2-3]; 5.0 [MQTT-3.2.2-2] [MQTT-3.2.2-3]); accepted with 0 (3.1.1 [MQTT-3.1.4-4];
  // 5.0 [MQTT-3.1.4-5]).
  conn.send(
    v5
      ? { type: 'connack', sessionPresent, reasonCode: ReasonCode.Success, properties: connackProps }
      : { type: 'connack', sessionPresent, reasonCode: ReturnCode.Accepted },
  );
  conn.startKeepAlive(keepAlive);
  broker.log.info(
    `${conn.label} connected (MQTT ${v5 ? '5.0' : '3.1.1'}, clean=${packet.clean}, present=${sessionPresent}, keepAlive=${keepAlive})`,
  );
  if (sessionPresent) session.resume();
}
