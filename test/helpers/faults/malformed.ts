import { encode } from '../../../src/codec/index.js';
import type { FaultDef } from './types.js';

/** A valid DISCONNECT without reason code or properties (both versions). */
const NORMAL_DISCONNECT = Buffer.from([0xe0, 0x00]);

/** Faults for the malformed cases: each breaks exactly one rule (say which in `describe`). */
export const MALFORMED_FAULTS = {
  'malformed-disconnect-as-normal': {
    describe:
      'a malformed DISCONNECT (reserved flags set, trailing bytes) reaches the broker as a normal one, so the will is discarded',
    upMalformed: (raw) => (raw[0] !== undefined && raw[0] >> 4 === 14 ? NORMAL_DISCONNECT : undefined),
  },
  'pubrel-flags-0000': {
    describe: 'PUBREL to clients carries the fixed-header flags 0000 instead of 0010',
    down: (p, conn) => {
      if (p.type !== 'pubrel') return 'raw';
      if (!conn.client.destroyed)
        conn.client.write(encode(p, { protocolVersion: conn.version, overrides: { flags: 0 } }));
      return null;
    },
  },
} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area) that makes it fail. */
export const MALFORMED_CASE_FAULTS: Record<string, string | string[]> = {
  '2.2.1/reserved-type-0': 'never-close',
  '2.2.1/reserved-type-15': 'never-close',
  '2.2.1/auth-without-method': 'never-close',
  '2.2.1/connack-from-client': 'never-close',
  '2.2.1/suback-from-client': 'never-close',
  '2.2.1/unsuback-from-client': 'never-close',
  '2.2.1/pingresp-from-client': 'never-close',
  '2.2.2/connect-flags-not-0000': 'never-close',
  '2.2.2/puback-flags-not-0000': 'never-close',
  '2.2.2/pubrec-flags-not-0000': 'never-close',
  '2.2.2/pubcomp-flags-not-0000': 'never-close',
  '2.2.2/unsubscribe-flags-not-0010': 'never-close',
  '2.2.2/pingreq-flags-not-0000': 'never-close',
  '2.2.2/server-flags-reserved-values': 'pubrel-flags-0000',
  '2.2.3/remaining-length-too-long': 'never-close',
  '2.2.3/remaining-length-too-short': 'never-close',
  '3.14.1/reserved-flags-will-published': ['malformed-disconnect-as-normal', 'never-close'],
  '4.8/string-length-beyond-packet': 'never-close',
  '4.8/packet-identifier-truncated': 'never-close',
  '4.8/pingreq-trailing-bytes': 'never-close',
  '4.8/puback-trailing-bytes': 'never-close',
  '4.8/disconnect-trailing-bytes': ['malformed-disconnect-as-normal', 'never-close'],
};
