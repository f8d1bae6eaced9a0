import type { PacketType } from './types.js';

/**
 * Stable decode error codes. Scenarios, the fuzzer and the reference broker key on these strings, so a
 * code is never renamed; new ones are added.
 */
export type DecodeErrorCode =
  /** Packet type 0, or 15 (AUTH) in 3.1.1. */
  | 'RESERVED_PACKET_TYPE'
  /** Fixed-header flag bits differ from the values the spec fixes for that packet type. */
  | 'RESERVED_FLAGS'
  /** Remaining length (or another variable byte integer) uses more than 4 bytes. */
  | 'MALFORMED_VARINT'
  /** A variable byte integer is not encoded in the minimum number of bytes (5.0 MQTT-1.5.5-1). */
  | 'NON_MINIMAL_VARINT'
  /** The packet is larger than the configured maximum packet size. */
  | 'PACKET_TOO_LARGE'
  /** A field (length prefix, integer, property) runs past the end of the packet. */
  | 'TRUNCATED'
  /** Bytes remain after the last field the packet type defines. */
  | 'TRAILING_BYTES'
  /** A UTF-8 string is ill-formed (overlong, surrogate, invalid sequence). */
  | 'INVALID_UTF8'
  /** A UTF-8 string contains U+0000. */
  | 'NULL_CHARACTER'
  /** PUBLISH QoS bits both set. */
  | 'INVALID_QOS'
  /** PUBLISH QoS 0 with DUP set. */
  | 'DUP_AT_QOS0'
  /** CONNECT protocol name is not "MQTT" (or "MQIsdp" for level 3). */
  | 'INVALID_PROTOCOL_NAME'
  /** CONNECT protocol level is not 4 or 5. */
  | 'UNSUPPORTED_PROTOCOL_VERSION'
  /** CONNECT reserved flag bit 0 set. */
  | 'CONNECT_RESERVED_FLAG'
  /** Will QoS/Retain set without the Will flag, or Will QoS 3. */
  | 'INVALID_WILL_FLAGS'
  /** 3.1.1: password flag without username flag. */
  | 'PASSWORD_WITHOUT_USERNAME'
  /** A packet identifier of 0 where one is required. */
  | 'PACKET_ID_ZERO'
  /** SUBSCRIBE with no topic filter. */
  | 'EMPTY_SUBSCRIBE'
  /** UNSUBSCRIBE with no topic filter. */
  | 'EMPTY_UNSUBSCRIBE'
  /** SUBSCRIBE requested QoS 3, or options reserved bits set, or retain handling 3. */
  | 'INVALID_SUBSCRIPTION_OPTIONS'
  /** CONNACK acknowledge flags reserved bits set. */
  | 'CONNACK_RESERVED_FLAGS'
  /** 5.0 property identifier unknown. */
  | 'UNKNOWN_PROPERTY'
  /** 5.0 property not allowed on this packet type. */
  | 'PROPERTY_NOT_ALLOWED'
  /** 5.0 property that may appear once appears again. */
  | 'DUPLICATE_PROPERTY'
  /** 5.0 property value out of its range (e.g. receive maximum 0, payload format 2). */
  | 'INVALID_PROPERTY_VALUE'
  /** PUBLISH topic name contains a wildcard character. */
  | 'TOPIC_NAME_WILDCARD'
  /** Topic name or filter is empty where the spec requires at least one character. */
  | 'EMPTY_TOPIC'
  /** A reason/return code that the packet type may not carry. */
  | 'INVALID_REASON_CODE'
  /** A defect in the decoder itself; never expected, the fuzz properties assert it never happens. */
  | 'INTERNAL_ERROR'
  /** MQTT over WebSocket: a text (non-binary) data frame; packets travel in binary frames only [MQTT-6.0.0-1]. */
  | 'WEBSOCKET_TEXT_FRAME';

export interface DecodeError {
  code: DecodeErrorCode;
  /** Human-readable description, including the offending value where useful. */
  message: string;
  /** The normative statement violated, in the spec's form (e.g. `MQTT-3.3.1-4`), when the spec names one. */
  statement?: string;
  /** Packet type from the fixed header, when it was readable. */
  packetType?: PacketType;
  /** Byte offset within the packet where the problem was found. */
  offset?: number;
}

export type DecodeResult<P> = { ok: true; packet: P } | { ok: false; error: DecodeError };
