/**
 * Mapping between the codec's packet model (src/codec/types.ts) and the object model of mqtt-packet (the
 * codec of MQTT.js), for the differential tests and the benchmark. Only types are imported, so nothing here
 * needs mqtt-packet at run time.
 *
 * Where the models differ:
 * - `type` is `cmd`; `packetId` is `messageId`; `keepAlive` is `keepalive`; `protocolName` is `protocolId`.
 * - CONNACK: the 3.1.1 return code is `returnCode`, the 5.0 reason code `reasonCode`.
 * - SUBACK `reasonCodes` and 5.0 UNSUBACK `reasonCodes` are both `granted`; UNSUBSCRIBE `topics` is
 *   `unsubscriptions`; subscription options `noLocal`/`retainAsPublished`/`retainHandling` are `nl`/`rap`/`rh`.
 * - 5.0 byte properties that hold 0 or 1 are booleans in mqtt-packet (all but `maximumQoS`).
 * - User properties are an object `{ name: value | value[] }`: values of one name stay in order, but pairs
 *   of different names are regrouped in the object's key order (see `canonicalUserProperties`).
 * - A single subscription identifier is a number, several are an array; ours is always an array.
 * - mqtt-packet leaves `properties` (and will properties) out when empty; ours are `{}` in 5.0.
 */
import type { Packet as MqttPacket, UserProperties } from 'mqtt-packet';
import type { Packet, Properties, ProtocolVersion, QoS, Subscription, Will } from './types.js';

export type { MqttPacket };

/** 5.0 byte properties mqtt-packet reads and writes as booleans (its `byte` type; `maximumQoS` is `int8`). */
export const MQTT_PACKET_BOOLEAN_PROPERTIES: ReadonlySet<string> = new Set([
  'payloadFormatIndicator',
  'requestProblemInformation',
  'requestResponseInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
]);

type Loose = Record<string, unknown>;

/** User property pairs as mqtt-packet's object; a null prototype so names like `__proto__` stay data. */
export function toMqttUserProperties(pairs: ReadonlyArray<readonly [string, string]>): UserProperties {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of pairs) {
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/** mqtt-packet's user property object as pairs, in the order mqtt-packet writes them. */
export function fromMqttUserProperties(obj: UserProperties): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of Object.getOwnPropertyNames(obj)) {
    const value = obj[name]!;
    if (Array.isArray(value)) for (const v of value) out.push([name, v]);
    else out.push([name, value]);
  }
  return out;
}

/**
 * The user property order mqtt-packet can represent: pairs grouped by name, names in JavaScript own-key
 * order (array-index-like names such as "7" first, ascending; then the others by first appearance), values
 * of one name in their original order.
 */
export function canonicalUserProperties(
  pairs: ReadonlyArray<readonly [string, string]>,
): Array<[string, string]> {
  return fromMqttUserProperties(toMqttUserProperties(pairs));
}

function toMqttProperties(p: Properties | undefined): Loose | undefined {
  if (p === undefined) return undefined;
  const out: Loose = {};
  for (const [name, value] of Object.entries(p)) {
    if (value === undefined) continue;
    if (name === 'userProperties') out[name] = toMqttUserProperties(value as Array<[string, string]>);
    else if (name === 'subscriptionIdentifier') {
      const ids = value as number[];
      out[name] = ids.length === 1 ? ids[0] : [...ids];
    } else if (MQTT_PACKET_BOOLEAN_PROPERTIES.has(name)) out[name] = value === 1;
    else out[name] = value;
  }
  return out;
}

function fromMqttProperties(p: unknown): Properties {
  const out: Loose = {};
  if (p === undefined || p === null) return out as Properties;
  for (const [name, value] of Object.entries(p as Loose)) {
    if (value === undefined) continue;
    if (name === 'userProperties') out[name] = fromMqttUserProperties(value as UserProperties);
    else if (name === 'subscriptionIdentifier') out[name] = Array.isArray(value) ? [...value] : [value];
    else if (MQTT_PACKET_BOOLEAN_PROPERTIES.has(name)) out[name] = value === true ? 1 : 0;
    else out[name] = value;
  }
  return out as Properties;
}

/** True when `p` has no property set (mqtt-packet then writes the short form where one exists). */
function isEmpty(p: Properties | undefined): boolean {
  return p === undefined || Object.values(p).every((v) => v === undefined);
}

/** Our packet as the object mqtt-packet's `generate` takes, for protocol version `v`. */
export function toMqttPacket(p: Packet, v: ProtocolVersion): MqttPacket {
  const v5 = v === 5;
  const props = (x: Properties | undefined): Loose => (v5 ? { properties: toMqttProperties(x ?? {}) } : {});
  let out: Loose;
  switch (p.type) {
    case 'connect': {
      out = {
        cmd: 'connect',
        protocolId: p.protocolName,
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepAlive,
        clientId: p.clientId,
      };
      if (p.protocolVersion === 5) out.properties = toMqttProperties(p.properties ?? {});
      if (p.will !== undefined) {
        const will: Loose = {
          topic: p.will.topic,
          payload: p.will.payload,
          qos: p.will.qos,
          retain: p.will.retain,
        };
        if (p.protocolVersion === 5) will.properties = toMqttProperties(p.will.properties ?? {});
        out.will = will;
      }
      if (p.username !== undefined) out.username = p.username;
      if (p.password !== undefined) out.password = p.password;
      break;
    }
    case 'connack':
      out = {
        cmd: 'connack',
        sessionPresent: p.sessionPresent,
        ...(v5 ? { reasonCode: p.reasonCode } : { returnCode: p.reasonCode }),
        ...props(p.properties),
      };
      break;
    case 'publish':
      out = {
        cmd: 'publish',
        topic: p.topic,
        payload: p.payload,
        qos: p.qos,
        dup: p.dup,
        retain: p.retain,
        ...(p.packetId !== undefined ? { messageId: p.packetId } : {}),
        ...props(p.properties),
      };
      break;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      out = { cmd: p.type, messageId: p.packetId };
      if (v5) {
        out.reasonCode = p.reasonCode ?? 0;
        // An object (even empty) makes mqtt-packet write the long form; leave it out for the short one.
        if (!isEmpty(p.properties)) out.properties = toMqttProperties(p.properties);
      }
      break;
    case 'subscribe':
      out = {
        cmd: 'subscribe',
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) =>
          v5
            ? {
                topic: s.topic,
                qos: s.qos,
                nl: s.noLocal ?? false,
                rap: s.retainAsPublished ?? false,
                rh: s.retainHandling ?? 0,
              }
            : { topic: s.topic, qos: s.qos },
        ),
        ...props(p.properties),
      };
      break;
    case 'suback':
      out = { cmd: 'suback', messageId: p.packetId, granted: [...p.reasonCodes], ...props(p.properties) };
      break;
    case 'unsubscribe':
      out = {
        cmd: 'unsubscribe',
        messageId: p.packetId,
        unsubscriptions: [...p.topics],
        ...props(p.properties),
      };
      break;
    case 'unsuback':
      out = { cmd: 'unsuback', messageId: p.packetId };
      if (v5) Object.assign(out, { granted: [...(p.reasonCodes ?? [])] }, props(p.properties));
      break;
    case 'pingreq':
    case 'pingresp':
      out = { cmd: p.type };
      break;
    case 'disconnect':
      out = { cmd: 'disconnect' };
      if (v5) Object.assign(out, { reasonCode: p.reasonCode ?? 0 }, props(p.properties));
      break;
    case 'auth':
      out = { cmd: 'auth', reasonCode: p.reasonCode, ...props(p.properties) };
      break;
  }
  return out as unknown as MqttPacket;
}

/** A packet mqtt-packet's parser emitted, in our canonical form for protocol version `v`. */
export function fromMqttPacket(m: MqttPacket, v: ProtocolVersion): Packet {
  const o = m as unknown as Loose;
  const v5 = v === 5;
  const num = (k: string): number => o[k] as number;
  const props = (): { properties?: Properties } =>
    v5 ? { properties: fromMqttProperties(o.properties) } : {};
  switch (m.cmd) {
    case 'connect': {
      const version = num('protocolVersion');
      const p: Packet = {
        type: 'connect',
        protocolName: o.protocolId as string,
        protocolVersion: version,
        clean: o.clean as boolean,
        keepAlive: num('keepalive'),
        clientId: o.clientId as string,
      };
      if (version === 5) p.properties = fromMqttProperties(o.properties);
      const w = o.will as Loose | undefined;
      if (w !== undefined) {
        const will: Will = {
          topic: w.topic as string,
          payload: w.payload as Buffer,
          qos: w.qos as QoS,
          retain: w.retain as boolean,
        };
        if (version === 5) will.properties = fromMqttProperties(w.properties);
        p.will = will;
      }
      if (o.username !== undefined) p.username = o.username as string;
      if (o.password !== undefined) p.password = o.password as Buffer;
      return p;
    }
    case 'connack':
      return {
        type: 'connack',
        sessionPresent: o.sessionPresent as boolean,
        reasonCode: v5 ? num('reasonCode') : num('returnCode'),
        ...props(),
      };
    case 'publish': {
      const qos = num('qos') as QoS;
      return {
        type: 'publish',
        topic: o.topic as string,
        payload: o.payload as Buffer,
        qos,
        retain: o.retain as boolean,
        dup: o.dup as boolean,
        ...(qos > 0 ? { packetId: num('messageId') } : {}),
        ...props(),
      };
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return {
        type: m.cmd,
        packetId: num('messageId'),
        ...(v5 ? { reasonCode: (o.reasonCode as number | undefined) ?? 0 } : {}),
        ...props(),
      };
    case 'subscribe':
      return {
        type: 'subscribe',
        packetId: num('messageId'),
        subscriptions: (o.subscriptions as Loose[]).map((s): Subscription => {
          const sub: Subscription = { topic: s.topic as string, qos: s.qos as QoS };
          if (v5) {
            sub.noLocal = s.nl as boolean;
            sub.retainAsPublished = s.rap as boolean;
            sub.retainHandling = s.rh as 0 | 1 | 2;
          }
          return sub;
        }),
        ...props(),
      };
    case 'suback':
      return {
        type: 'suback',
        packetId: num('messageId'),
        reasonCodes: [...(o.granted as number[])],
        ...props(),
      };
    case 'unsubscribe':
      return {
        type: 'unsubscribe',
        packetId: num('messageId'),
        topics: [...(o.unsubscriptions as string[])],
        ...props(),
      };
    case 'unsuback':
      return {
        type: 'unsuback',
        packetId: num('messageId'),
        ...(v5 ? { reasonCodes: [...(o.granted as number[])] } : {}),
        ...props(),
      };
    case 'pingreq':
    case 'pingresp':
      return { type: m.cmd };
    case 'disconnect':
      return { type: 'disconnect', ...(v5 ? { reasonCode: num('reasonCode') } : {}), ...props() };
    case 'auth':
      return { type: 'auth', reasonCode: num('reasonCode'), properties: fromMqttProperties(o.properties) };
  }
}
