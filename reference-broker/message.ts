import type { Properties, PublishPacket, QoS, Will } from '../src/codec/index.js';

/**
 * An application message as routed inside the broker: immutable once created and shared by every
 * subscriber's delivery. `properties` holds only what is forwarded unchanged (payload format, content type,
 * response topic, correlation data, user properties); the expiry is kept as an absolute time.
 */
export interface Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: Properties | undefined;
  /** Date.now() after which the message is no longer delivered (5.0 message expiry). */
  readonly expiresAt: number | undefined;
  /** Client id of the publisher, for No Local. */
  readonly origin: string | undefined;
  /** Encoded PUBLISH cache by (version, qos, retain), for copies without per-subscriber properties. */
  encoded?: Array<Buffer | undefined>;
}

/** Properties a server forwards unchanged (5.0 [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20]). */
function forwardable(props: Properties | undefined): Properties | undefined {
  if (props === undefined) return undefined;
  let out: Properties | undefined;
  if (props.payloadFormatIndicator !== undefined) {
    out ??= {};
    out.payloadFormatIndicator = props.payloadFormatIndicator;
  }
  if (props.contentType !== undefined) {
    out ??= {};
    out.contentType = props.contentType;
  }
  if (props.responseTopic !== undefined) {
    out ??= {};
    out.responseTopic = props.responseTopic;
  }
  if (props.correlationData !== undefined) {
    out ??= {};
    out.correlationData = props.correlationData;
  }
  if (props.userProperties !== undefined) {
    out ??= {};
    // Order preserved (5.0 [MQTT-3.3.2-18]; also for will properties, 5.0 [MQTT-3.1.3-10]).
    out.userProperties = props.userProperties;
  }
  return out;
}

function expiry(props: Properties | undefined, now: number): number | undefined {
  const s = props?.messageExpiryInterval;
  return s === undefined ? undefined : now + s * 1000;
}

export function messageFromPublish(p: PublishPacket, topic: string, origin: string, now: number): Message {
  return {
    topic,
    payload: p.payload,
    qos: p.qos,
    retain: p.retain,
    properties: forwardable(p.properties),
    expiresAt: expiry(p.properties, now),
    origin,
  };
}

export function messageFromWill(will: Will, origin: string, now: number): Message {
  return {
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    properties: forwardable(will.properties),
    expiresAt: expiry(will.properties, now),
    origin,
  };
}

/** Copy of a message as stored retained: RETAIN kept, payload detached from the socket chunk. */
export function retainedCopy(m: Message): Message {
  return { ...m, payload: Buffer.from(m.payload), encoded: undefined };
}
