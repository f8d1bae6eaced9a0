import { describe, expect, it } from 'vitest';
import { reasonForDecodeError } from './connection.js';

describe('reasonForDecodeError (5.0 DISCONNECT reason for a decode error)', () => {
  const table: Array<[Parameters<typeof reasonForDecodeError>, number]> = [
    [['PACKET_TOO_LARGE'], 0x95],
    [['RESERVED_FLAGS'], 0x81],
    [['MALFORMED_VARINT'], 0x81],
    [['INVALID_UTF8'], 0x81],
    [['UNKNOWN_PROPERTY'], 0x81],
    [['PROPERTY_NOT_ALLOWED'], 0x81],
    [['DUPLICATE_PROPERTY'], 0x82],
    [['EMPTY_SUBSCRIBE'], 0x82],
    [['INVALID_PROPERTY_VALUE', 'property receiveMaximum has invalid value 0'], 0x82],
    [['INVALID_PROPERTY_VALUE', 'property topicAlias has invalid value 0'], 0x94],
    [['INVALID_SUBSCRIPTION_OPTIONS', 'retain handling is 3'], 0x82],
    [['INVALID_SUBSCRIPTION_OPTIONS', 'subscription options reserved bits 6-7 are set'], 0x81],
    [['EMPTY_TOPIC', '', 'publish'], 0x82],
    [['EMPTY_TOPIC', '', 'subscribe'], 0x81],
  ];
  for (const [args, code] of table) {
    it(`${args.join(' / ')} -> 0x${code.toString(16)}`, () => {
      expect(reasonForDecodeError(...args)).toBe(code);
    });
  }
});
