import { readRemainingLength, varintBytes } from '../../../src/codec/fields.js';
import { decode, encode, type ProtocolVersion } from '../../../src/codec/index.js';
import type { FaultDef } from './types.js';

/** A valid DISCONNECT without reason code or properties (both versions). */
const NORMAL_DISCONNECT = Buffer.from([0xe0, 0x00]);

/** The flag nibble Table 2.2 fixes for each packet type (PUBLISH, whose flags carry data, is absent). */
const FIXED_FLAGS: Record<number, number> = {
  1: 0,
  2: 0,
  4: 0,
  5: 0,
  6: 2,
  7: 0,
  8: 2,
  9: 0,
  10: 2,
  11: 0,
  12: 0,
  13: 0,
  14: 0,
  15: 0,
};

const decodes = (raw: Buffer, version: ProtocolVersion): boolean =>
  decode(raw, { protocolVersion: version }).ok;

/** A packet whose only defect is its flag nibble, with the nibble Table 2.2 fixes; otherwise undefined. */
function withFixedFlags(raw: Buffer, version: ProtocolVersion): Buffer | undefined {
  const type = raw[0]! >> 4;
  const want = FIXED_FLAGS[type];
  if (want === undefined || (raw[0]! & 0x0f) === want) return undefined;
  const fixed = Buffer.from(raw);
  fixed[0] = (type << 4) | want;
  return decodes(fixed, version) ? fixed : undefined;
}

/** A packet whose only defect is bytes after its last field, without them; otherwise undefined. */
function withoutTrailingBytes(raw: Buffer, version: ProtocolVersion): Buffer | undefined {
  const r = decode(raw, { protocolVersion: version });
  if (r.ok || r.error.code !== 'TRAILING_BYTES') return undefined;
  const rl = readRemainingLength(raw, 1, raw.length);
  if (!rl.ok) return undefined;
  const body = raw.subarray(1 + rl.size, 1 + rl.size + rl.value);
  for (let keep = body.length - 1; keep >= 0; keep--) {
    const shorter = Buffer.concat([raw.subarray(0, 1), varintBytes(keep), body.subarray(0, keep)]);
    if (decodes(shorter, version)) return shorter;
  }
  return undefined;
}

/** Faults for the malformed cases: each breaks exactly one rule (say which in `describe`). */
export const MALFORMED_FAULTS = {
  'malformed-disconnect-as-normal': {
    describe:
      'a malformed DISCONNECT (reserved flags set, trailing bytes) reaches the broker as a normal one, so the will is discarded',
    upMalformed: (raw) => (raw[0] !== undefined && raw[0] >> 4 === 14 ? NORMAL_DISCONNECT : undefined),
  },
  'reserved-flags-ignored': {
    describe:
      'fixed-header flags are not checked: a packet with wrong reserved flags is processed as if they were right [MQTT-2.2.2-2]',
    upMalformed: (raw, conn) => withFixedFlags(raw, conn.version),
  },
  'trailing-bytes-ignored': {
    describe: 'bytes after the last field of a packet are ignored and the packet processed [MQTT-4.8.0-1]',
    upMalformed: (raw, conn) => withoutTrailingBytes(raw, conn.version),
  },
  'server-packets-ignored': {
    describe:
      'CONNACK, SUBACK, UNSUBACK and PINGRESP from a client (server-to-client packets) are dropped, the connection stays',
    up: (p) =>
      p.type === 'connack' || p.type === 'suback' || p.type === 'unsuback' || p.type === 'pingresp'
        ? null
        : 'raw',
  },
  'non-minimal-remaining-length': {
    describe:
      'PUBLISH to clients has its Remaining Length encoded in one byte more than needed [MQTT-1.5.5-1]',
    down: (p, conn) => {
      if (p.type !== 'publish') return 'raw';
      const raw = encode(p, { protocolVersion: conn.version });
      const rl = readRemainingLength(raw, 1, raw.length);
      if (!rl.ok || conn.client.destroyed) return 'raw';
      const longer = Buffer.concat([varintBytes(rl.value), Buffer.from([0])]);
      longer[longer.length - 2]! |= 0x80;
      conn.client.write(Buffer.concat([raw.subarray(0, 1), longer, raw.subarray(1 + rl.size)]));
      return null;
    },
  },
  'pubrel-flags-0000': {
    describe: 'PUBREL to clients carries the fixed-header flags 0000 instead of 0010 [MQTT-2.2.2-1]',
    down: (p, conn) => {
      if (p.type !== 'pubrel') return 'raw';
      if (!conn.client.destroyed)
        conn.client.write(encode(p, { protocolVersion: conn.version, overrides: { flags: 0 } }));
      return null;
    },
  },
} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area) that makes it fail, or several: one per way the rule can be broken. */
export const MALFORMED_CASE_FAULTS: Record<string, string | string[]> = {
  '2.2.1/reserved-type-0': 'never-close',
  '2.2.1/reserved-type-15': 'never-close',
  '2.2.1/auth-without-method': 'never-close',
  '2.2.1/connack-from-client': ['never-close', 'server-packets-ignored'],
  '2.2.1/suback-from-client': ['never-close', 'server-packets-ignored'],
  '2.2.1/unsuback-from-client': ['never-close', 'server-packets-ignored'],
  '2.2.1/pingresp-from-client': ['never-close', 'server-packets-ignored'],
  '2.2.2/connect-flags-not-0000': ['never-close', 'reserved-flags-ignored'],
  '2.2.2/puback-flags-not-0000': ['never-close', 'reserved-flags-ignored'],
  '2.2.2/pubrec-flags-not-0000': ['never-close', 'reserved-flags-ignored'],
  '2.2.2/pubcomp-flags-not-0000': ['never-close', 'reserved-flags-ignored'],
  '2.2.2/unsubscribe-flags-not-0010': ['never-close', 'reserved-flags-ignored'],
  '2.2.2/pingreq-flags-not-0000': ['never-close', 'reserved-flags-ignored'],
  '2.2.2/server-flags-reserved-values': 'pubrel-flags-0000',
  '2.2.3/remaining-length-too-long': 'never-close',
  '2.2.3/remaining-length-too-short': 'never-close',
  '2.2.3/server-remaining-length-minimal': 'non-minimal-remaining-length',
  '3.14.1/reserved-flags-will-published': ['never-close', 'malformed-disconnect-as-normal'],
  '4.8/string-length-beyond-packet': 'never-close',
  '4.8/packet-identifier-truncated': 'never-close',
  '4.8/pingreq-trailing-bytes': ['never-close', 'trailing-bytes-ignored'],
  '4.8/puback-trailing-bytes': ['never-close', 'trailing-bytes-ignored'],
  '4.8/disconnect-trailing-bytes': ['never-close', 'malformed-disconnect-as-normal'],
};
