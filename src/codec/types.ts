/**
 * MQTT control packets for protocol level 4 (3.1.1) and 5 (5.0), as a tagged union keyed on `type`.
 *
 * Canonical form (what `decode` returns, and what `encode` round-trips exactly):
 * - 3.1.1 packets carry no `properties` and no reason codes beyond those the 3.1.1 wire format has
 *   (CONNACK `reasonCode` is the 3.1.1 return code, SUBACK `reasonCodes` the granted QoS / 0x80).
 * - 5.0 packets that can carry properties always have a `properties` object (possibly `{}`), and packets
 *   that can carry a reason code always have `reasonCode` (0 when the wire used the short form).
 */

export type ProtocolVersion = 4 | 5;
export type QoS = 0 | 1 | 2;

export const PacketTypeCode = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const;

export type PacketType = keyof typeof PacketTypeCode;

export const PacketTypeName: Readonly<Record<number, PacketType>> = Object.fromEntries(
  Object.entries(PacketTypeCode).map(([name, code]) => [code, name as PacketType]),
);

/** MQTT 5.0 properties (section 2.2.2.2), by name. Repeatable ones are arrays, in wire order. */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01 byte
  messageExpiryInterval?: number; // 0x02 four-byte
  contentType?: string; // 0x03 utf8
  responseTopic?: string; // 0x08 utf8
  correlationData?: Buffer; // 0x09 binary
  /** 0x0B variable byte integer; PUBLISH may carry several, SUBSCRIBE one. Always an array. */
  subscriptionIdentifier?: number[];
  sessionExpiryInterval?: number; // 0x11 four-byte
  assignedClientIdentifier?: string; // 0x12 utf8
  serverKeepAlive?: number; // 0x13 two-byte
  authenticationMethod?: string; // 0x15 utf8
  authenticationData?: Buffer; // 0x16 binary
  requestProblemInformation?: number; // 0x17 byte
  willDelayInterval?: number; // 0x18 four-byte
  requestResponseInformation?: number; // 0x19 byte
  responseInformation?: string; // 0x1A utf8
  serverReference?: string; // 0x1C utf8
  reasonString?: string; // 0x1F utf8
  receiveMaximum?: number; // 0x21 two-byte
  topicAliasMaximum?: number; // 0x22 two-byte
  topicAlias?: number; // 0x23 two-byte
  maximumQoS?: number; // 0x24 byte
  retainAvailable?: number; // 0x25 byte
  /** 0x26 string pair, repeatable, order preserved [MQTT-3.3.2-18]. */
  userProperties?: Array<[string, string]>;
  maximumPacketSize?: number; // 0x27 four-byte
  wildcardSubscriptionAvailable?: number; // 0x28 byte
  subscriptionIdentifiersAvailable?: number; // 0x29 byte
  sharedSubscriptionAvailable?: number; // 0x2A byte
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** 5.0 only: will properties (always present, possibly `{}`, in 5.0 canonical form). */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 'connect';
  /** "MQTT" for levels 4 and 5. */
  protocolName: string;
  protocolVersion: number;
  /** Clean Session (3.1.1) / Clean Start (5.0). */
  clean: boolean;
  keepAlive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Buffer;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  /** 3.1.1 return code or 5.0 reason code. */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 'publish';
  topic: string;
  payload: Buffer;
  /** QoS as on the wire; the decoder rejects 3, the encoder may write it when asked. */
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present for QoS 1 and 2 only. */
  packetId?: number;
  properties?: Properties;
}

export interface AckPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> {
  type: T;
  packetId: number;
  /** 5.0 only. */
  reasonCode?: number;
  properties?: Properties;
}
export type PubackPacket = AckPacket<'puback'>;
export type PubrecPacket = AckPacket<'pubrec'>;
export type PubrelPacket = AckPacket<'pubrel'>;
export type PubcompPacket = AckPacket<'pubcomp'>;

export interface Subscription {
  topic: string;
  qos: QoS;
  /** 5.0 subscription options; present in 5.0 canonical form. */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** 3.1.1: granted QoS or 0x80; 5.0: reason codes. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topics: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  /** 5.0 only. */
  reasonCodes?: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 'pingreq';
}
export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  /** 5.0 only. */
  reasonCode?: number;
  properties?: Properties;
}

export interface AuthPacket {
  type: 'auth';
  reasonCode: number;
  properties: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

export type PacketOf<T extends PacketType> = Extract<Packet, { type: T }>;
