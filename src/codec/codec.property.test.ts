import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyPacket, versionedPacket } from '../fuzz/arbitraries.js';
import { decode, encode, packetEquals, StreamDecoder } from './index.js';
import type { Packet, ProtocolVersion } from './types.js';

/** Fixed seed so CI is reproducible; fast-check prints seed and path of any counterexample. */
const seed = Number(process.env.MQTT_CONFORM_SEED ?? 20261128);
const numRuns = Number(process.env.MQTT_CONFORM_PROPERTY_RUNS ?? 1000);
const params = { seed, numRuns, verbose: 1 } as const;

function roundTrip(v: ProtocolVersion, packet: Packet): Packet {
  const r = decode(encode(packet, { protocolVersion: v }), { protocolVersion: v });
  if (!r.ok) throw new Error(`decode failed: ${r.error.code} ${r.error.message}`);
  return r.packet;
}

describe(`codec properties (seed ${seed}, ${numRuns} runs)`, () => {
  it('decode(encode(p)) equals p for any valid packet of either version', () => {
    fc.assert(
      fc.property(versionedPacket(), ({ v, packet }) => {
        expect(packetEquals(roundTrip(v, packet), packet)).toBe(true);
      }),
      params,
    );
  });

  it('decode never throws on arbitrary bytes and never reports an internal error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom<ProtocolVersion>(4, 5), (bytes, v) => {
        const r = decode(bytes, { protocolVersion: v });
        if (!r.ok) expect(r.error.code).not.toBe('INTERNAL_ERROR');
      }),
      params,
    );
  });

  it('decode never throws on mutated valid packets; what it accepts re-encodes to an equal packet', () => {
    const mutated = versionedPacket().chain(({ v, packet }) => {
      const bytes = encode(packet, { protocolVersion: v });
      return fc
        .array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        })
        .map((edits) => {
          const copy = Buffer.from(bytes);
          for (const [i, b] of edits) copy[i] = b;
          return { v, bytes: copy };
        });
    });
    fc.assert(
      fc.property(mutated, ({ v, bytes }) => {
        const r = decode(bytes, { protocolVersion: v });
        if (!r.ok) {
          expect(r.error.code).not.toBe('INTERNAL_ERROR');
          return;
        }
        const version = r.packet.type === 'connect' ? (r.packet.protocolVersion as ProtocolVersion) : v;
        expect(packetEquals(roundTrip(version, r.packet), r.packet)).toBe(true);
      }),
      params,
    );
  });

  it('the stream decoder yields the same packets whatever the chunking', () => {
    const stream = fc.constantFrom<ProtocolVersion>(4, 5).chain((v) =>
      fc.tuple(
        fc.constant(v),
        fc.array(
          anyPacket(v).filter((p) => p.type !== 'connect'),
          { minLength: 1, maxLength: 6 },
        ),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
      ),
    );
    fc.assert(
      fc.property(stream, ([v, packets, cuts]) => {
        const bytes = Buffer.concat(packets.map((p) => encode(p, { protocolVersion: v })));
        const d = new StreamDecoder({ protocolVersion: v });
        const out: Packet[] = [];
        let at = 0;
        let i = 0;
        while (at < bytes.length) {
          const n = cuts[i++ % cuts.length]!;
          for (const ev of d.push(bytes.subarray(at, at + n))) {
            if (!ev.ok) throw new Error(`${ev.error.code}: ${ev.error.message}`);
            out.push(ev.packet);
          }
          at += n;
        }
        expect(out.length).toBe(packets.length);
        out.forEach((p, k) => {
          expect(packetEquals(p, packets[k])).toBe(true);
        });
        expect(d.buffered).toBe(0);
      }),
      params,
    );
  });
});
