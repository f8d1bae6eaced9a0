import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Framer } from './framer.js';

const packetArb = fc
  .tuple(fc.integer({ min: 1, max: 15 }), fc.uint8Array({ maxLength: 300 }))
  .map(([type, body]) => {
    const len: number[] = [];
    let x = body.length;
    do {
      let b = x % 128;
      x = Math.floor(x / 128);
      if (x > 0) b |= 0x80;
      len.push(b);
    } while (x > 0);
    return Buffer.concat([Buffer.from([type << 4, ...len]), Buffer.from(body)]);
  });

describe('Framer', () => {
  it('yields the same packets however the stream is chunked (seeded)', () => {
    fc.assert(
      fc.property(
        fc.array(packetArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 })),
        (packets, cuts) => {
          const stream = Buffer.concat(packets);
          const framer = new Framer(1 << 20);
          const out: Buffer[] = [];
          let at = 0;
          let i = 0;
          while (at < stream.length) {
            const size = cuts.length > 0 ? cuts[i++ % cuts.length]! : stream.length;
            framer.push(stream.subarray(at, at + size), (f) => {
              out.push(Buffer.from(f));
              return true;
            });
            at += size;
          }
          expect(out).toEqual(packets);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it('refuses a packet above the limit from its header alone', () => {
    const framer = new Framer(1024);
    expect(framer.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]), () => true)).toBe('PACKET_TOO_LARGE');
  });

  it('refuses a remaining length of more than 4 bytes', () => {
    const framer = new Framer(1 << 30);
    expect(framer.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), () => true)).toBe(
      'MALFORMED_VARINT',
    );
  });
});
