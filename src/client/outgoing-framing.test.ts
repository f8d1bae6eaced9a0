import { describe, expect, it } from 'vitest';
import { OutgoingFraming } from './outgoing-framing.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('OutgoingFraming', () => {
  it('is complete between whole packets, however they are split', () => {
    const f = new OutgoingFraming();
    f.push(hex('c0 00 c0'), 1); // PINGREQ, then the first byte of another
    expect(f.incomplete).toBe(true);
    expect(f.incompleteSince).toBe(1);
    f.push(hex('00'), 2);
    expect(f.incomplete).toBe(false);
    expect(f.incompleteSince).toBeUndefined();
    f.push(hex('30 05 00 01 61 68 69 c0 00'), 3); // PUBLISH "a" "hi", PINGREQ
    expect(f.incomplete).toBe(false);
  });

  it('is incomplete while an announced body is not all sent, since the first byte of that packet', () => {
    const f = new OutgoingFraming();
    f.push(hex('30 80 01 00'), 5); // remaining length 128, one byte of it
    expect(f.incomplete).toBe(true);
    f.push(Buffer.alloc(100), 6);
    expect(f.incomplete).toBe(true);
    expect(f.incompleteSince).toBe(5);
    f.push(Buffer.alloc(27), 7);
    expect(f.incomplete).toBe(false);
  });

  it('treats a five-byte remaining length as incomplete for good', () => {
    const f = new OutgoingFraming();
    f.push(hex('30 ff ff ff ff 01'), 1);
    expect(f.incomplete).toBe(true);
    f.push(hex('c0 00'), 2);
    expect(f.incomplete).toBe(true);
  });

  it('reads a four-byte remaining length', () => {
    const f = new OutgoingFraming();
    f.push(hex('30 ff ff ff 7f'), 1); // 268,435,455 bytes announced
    expect(f.incomplete).toBe(true);
    f.push(Buffer.alloc(1000), 2);
    expect(f.incomplete).toBe(true);
  });
});
