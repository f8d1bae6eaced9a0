import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topicMatches } from '../src/codec/index.js';
import { collidingTopicFilter, collidingTopicName } from '../src/fuzz/arbitraries.js';
import type { Message } from './message.js';
import { RetainedStore } from './retained-store.js';

function msg(topic: string, payload = 'x', expiresAt?: number): Message {
  return {
    topic,
    payload: Buffer.from(payload),
    qos: 0,
    retain: true,
    properties: undefined,
    expiresAt,
    origin: undefined,
  };
}

const topicArb = collidingTopicName();
const filterArb = collidingTopicFilter();

describe('RetainedStore', () => {
  it('returns exactly the stored topics topicMatches accepts (seeded)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(topicArb, { maxLength: 15 }), filterArb, (topics, filter) => {
        const store = new RetainedStore();
        for (const t of topics) store.set(msg(t));
        const got = store
          .match(filter, 0)
          .map((m) => m.topic)
          .sort();
        expect(got).toEqual(topics.filter((t) => topicMatches(filter, t)).sort());
      }),
      { seed: 11, numRuns: 500 },
    );
  });

  it('replaces, clears with an empty payload, counts, and prunes', () => {
    const store = new RetainedStore();
    store.set(msg('a/b', 'v1'));
    store.set(msg('a/b', 'v2'));
    expect(store.size).toBe(1);
    expect(store.match('a/b', 0)[0]!.payload.toString()).toBe('v2');
    store.set(msg('a/b', ''));
    expect(store.size).toBe(0);
    expect(store.match('#', 0)).toEqual([]);
  });

  it('drops expired messages when matched', () => {
    const store = new RetainedStore();
    store.set(msg('a', 'x', 100));
    expect(store.match('a', 50)).toHaveLength(1);
    expect(store.match('+', 150)).toHaveLength(0);
    expect(store.size).toBe(0);
  });

  it('refuses new topics beyond its capacity but still replaces', () => {
    const store = new RetainedStore(1);
    expect(store.set(msg('a/b'))).toBe(true);
    expect(store.set(msg('a/c'))).toBe(false);
    expect(store.set(msg('a/b', 'v2'))).toBe(true);
    expect(store.size).toBe(1);
    expect(store.match('a/+', 0).map((m) => m.topic)).toEqual(['a/b']);
  });
});
