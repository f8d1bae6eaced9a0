import { isUtf8 } from 'node:buffer';
import { isValidTopicName, type PublishPacket, ReasonCode } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';
import { messageFromPublish } from '../message.js';

function topicWithinLimits(topic: string, maxLength: number, maxLevels: number): boolean {
  if (topic.length > maxLength) return false;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) levels++;
  return levels <= maxLevels;
}

/**
 * Incoming PUBLISH: topic alias resolution (5.0), limits, authorisation, routing, and the acknowledgement
 * for its QoS [MQTT-3.3.4-1] (3.1.1 [MQTT-4.3.2-2] [MQTT-4.3.3-2]; 5.0 [MQTT-4.3.2-4] [MQTT-4.3.3-8]). No state is kept
 * for QoS 1, so its packet id is free once PUBACK is sent (5.0 [MQTT-4.3.2-5]); a QoS 2 id is free after
 * PUBCOMP (5.0 [MQTT-4.3.3-12], see handle-pubrel). Incoming QoS 2 is delivered once, on first
 * receipt; a resend of the same packet id before PUBREL is only acknowledged again (5.0 [MQTT-4.3.3-10]).
 */
export function handlePublish(conn: Connection, p: PublishPacket): void {
  const broker = conn.broker;
  const limits = broker.limits;
  const session = conn.session!;
  const v5 = conn.version === 5;
  let topic = p.topic;
  if (v5) {
    if (p.properties?.subscriptionIdentifier !== undefined) {
      // A client's PUBLISH carries no Subscription Identifier (section 3.3.2.3.8): Protocol Error.
      conn.violation(ReasonCode.ProtocolError, 'subscription identifier in PUBLISH from a client');
      return;
    }
    const responseTopic = p.properties?.responseTopic;
    if (responseTopic !== undefined && !isValidTopicName(responseTopic)) {
      // The Response Topic is a topic name, without wildcards (5.0 [MQTT-3.3.2-14]).
      conn.violation(ReasonCode.ProtocolError, 'invalid response topic');
      return;
    }
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) {
      // Alias 0 or above the Topic Alias Maximum we announced is invalid (5.0 [MQTT-3.3.2-8], section 3.3.2.3.4).
      if (alias === 0 || alias > conn.topicAliasMaximum) {
        conn.violation(ReasonCode.TopicAliasInvalid, `topic alias ${alias} out of range`);
        return;
      }
      if (topic === '') {
        const known = conn.inAliases.get(alias);
        if (known === undefined) {
          conn.violation(ReasonCode.ProtocolError, `topic alias ${alias} not set`);
          return;
        }
        topic = known;
      } else {
        // Aliases are per connection and accepted within our maximum (5.0 [MQTT-3.3.2-7] [MQTT-3.3.2-12]).
        conn.inAliases.set(alias, topic);
      }
    } else if (topic === '') {
      conn.violation(ReasonCode.ProtocolError, 'empty topic name without topic alias');
      return;
    }
  }
  if (!topicWithinLimits(topic, limits.maxTopicLength, limits.maxTopicLevels)) {
    conn.violation(ReasonCode.TopicNameInvalid, 'topic name exceeds configured limits');
    return;
  }
  if (p.qos > limits.maximumQoS) {
    conn.violation(ReasonCode.QoSNotSupported, `QoS ${p.qos} above maximum QoS ${limits.maximumQoS}`);
    return;
  }
  if (p.retain && !limits.retainAvailable) {
    conn.violation(ReasonCode.RetainNotSupported, 'retain not supported');
    return;
  }
  const packetId = p.packetId ?? 0;
  if (v5 && p.properties?.payloadFormatIndicator === 1 && !isUtf8(p.payload)) {
    // A payload declared UTF-8 that is not: refused with 0x99 Payload format invalid (section 3.3.2.3.2).
    if (p.qos === 0) conn.violation(ReasonCode.PayloadFormatInvalid, 'payload is not valid UTF-8');
    else conn.sendAck(p.qos === 1 ? 'puback' : 'pubrec', packetId, ReasonCode.PayloadFormatInvalid);
    return;
  }
  if (p.qos === 2 && session.inboundQos2.has(packetId)) {
    // Duplicate before PUBREL: acknowledge again, do not deliver again (5.0 [MQTT-4.3.3-10]).
    conn.sendAck('pubrec', packetId, 0);
    return;
  }
  // Only this connection's unreleased QoS 2 count: the ids a resumed session carries over were sent under the
  // quota of an earlier connection (5.0 section 4.9).
  if (p.qos === 2 && conn.inboundQos2.size >= limits.receiveMaximum) {
    conn.violation(
      ReasonCode.ReceiveMaximumExceeded,
      'more QoS 2 publications in flight than Receive Maximum',
    );
    return;
  }
  const allowed =
    !broker.acl.enabled ||
    broker.acl.canPublish({ clientId: session.clientId, username: session.username }, topic);
  if (allowed) {
    broker.publish(messageFromPublish(p, topic, session.clientId, Date.now()));
  } else {
    broker.log.info(`${conn.label} not authorised to publish to ${topic}`);
  }
  // 3.1.1: an unauthorised publication still gets a positive acknowledgement [MQTT-3.3.5-2]; 5.0 says 0x87
  // (codes from the PUBACK/PUBREC tables, no reason strings: 5.0 [MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.4.2-2]).
  const code = allowed || !v5 ? ReasonCode.Success : ReasonCode.NotAuthorized;
  if (p.qos === 1) {
    conn.sendAck('puback', packetId, code);
  } else if (p.qos === 2) {
    // A failure PUBREC ends the flow; the id is not kept (5.0 [MQTT-4.3.3-9]).
    if (code < 0x80) {
      session.inboundQos2.add(packetId);
      conn.inboundQos2.add(packetId);
    }
    conn.sendAck('pubrec', packetId, code);
  }
}
