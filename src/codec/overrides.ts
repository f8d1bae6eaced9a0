/**
 * Deliberate deviations for `encode`: scenarios and the fuzzer use these to write exactly the invalid packet
 * they mean. Every field not overridden is written as the valid encoder would.
 *
 * Field names for `fieldBytes`, `lengthPrefix` and `omit`:
 * CONNECT `protocolName`, `protocolVersion`, `connectFlags`, `keepAlive`, `properties`, `clientId`,
 * `will.properties`, `will.topic`, `will.payload`, `username`, `password`;
 * CONNACK `sessionPresent`, `reasonCode`, `properties`;
 * PUBLISH `topic`, `packetId`, `properties`, `payload`;
 * acknowledgements `packetId`, `reasonCode`, `properties`;
 * SUBSCRIBE `packetId`, `properties`, `subscriptions.N.topic`, `subscriptions.N.options`;
 * SUBACK/UNSUBACK `packetId`, `properties`, `reasonCodes`;
 * UNSUBSCRIBE `packetId`, `properties`, `topics.N`;
 * DISCONNECT/AUTH `reasonCode`, `properties`.
 */
export interface EncodeOverrides {
  /** Packet type nibble (upper 4 bits of the first byte). */
  packetType?: number;
  /** Flag nibble (lower 4 bits of the first byte) instead of the computed one. */
  flags?: number;
  /**
   * Remaining length written instead of the body's length. A number is written as a variable byte integer
   * (values above 268,435,455 continue past 4 bytes, as a malformed integer); bytes are written as they are.
   */
  remainingLength?: number | Uint8Array;
  /** Raw content bytes of a named string or binary field (its length prefix follows the bytes' length). */
  fieldBytes?: Record<string, Uint8Array>;
  /** The 16-bit length prefix written for a named string or binary field, whatever its content. */
  lengthPrefix?: Record<string, number>;
  /** Named fields left out entirely (including their length prefix). */
  omit?: string[];
  /** CONNECT flags byte written as is. */
  connectFlags?: number;
  /** CONNACK acknowledge flags byte written as is. */
  connackFlags?: number;
  /** Raw subscription options byte, by subscription index. */
  subscriptionOptions?: Record<number, number>;
  /** Raw bytes replacing the encoded properties of the packet (property length computed from them). */
  properties?: Uint8Array;
  /** Raw bytes replacing the encoded will properties. */
  willProperties?: Uint8Array;
  /** Raw bytes appended inside the packet's property block (a duplicate, unknown or forbidden property). */
  extraProperties?: Uint8Array;
  /** Property length written instead of the actual one: a number as a variable byte integer, or raw bytes. */
  propertyLength?: number | Uint8Array;
  /** Bytes appended after the last field (counted by the remaining length unless that is overridden). */
  trailing?: Uint8Array;
  /** Drop this many bytes from the end of the body (the remaining length counts the shorter body). */
  truncate?: number;
  /**
   * 5.0 acknowledgements, DISCONNECT and AUTH: `short` writes only what is required when the reason code is
   * 0 and there are no properties (the default), `long` always writes the reason code and property length.
   */
  form?: 'short' | 'long';
}
