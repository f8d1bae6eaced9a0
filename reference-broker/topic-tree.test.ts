import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topicMatches } from '../src/codec/index.js';
import { collidingTopicFilter, collidingTopicName } from '../src/fuzz/arbitraries.js';
import type { Session, SubEntry } from './session.js';
import { TopicTree } from './topic-tree.js';

function entry(session: object, topicFilter: string, group?: string): SubEntry {
  return {
    session: session as Session,
    filter: group ? `$share/${group}/${topicFilter}` : topicFilter,
    topicFilter,
    group,
    qos: 0,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionId: undefined,
  };
}

const topicArb = collidingTopicName();
const filterArb = collidingTopicFilter();

describe('TopicTree', () => {
  it('matches exactly what topicMatches matches (seeded)', () => {
    fc.assert(
      fc.property(fc.array(filterArb, { minLength: 1, maxLength: 12 }), topicArb, (filters, topic) => {
        const tree = new TopicTree();
        const sessions = filters.map(() => ({}));
        filters.forEach((f, i) => {
          tree.add(entry(sessions[i]!, f));
        });
        const hit = new Set<object>();
        tree.match(topic, (e) => hit.add(e.session));
        filters.forEach((f, i) => {
          expect(hit.has(sessions[i]!), `${f} vs ${topic}`).toBe(topicMatches(f, topic));
        });
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('removes subscriptions and prunes nodes', () => {
    const tree = new TopicTree();
    const s = {};
    const e = entry(s, 'a/+/c');
    tree.add(e);
    tree.remove(e);
    let n = 0;
    tree.match('a/b/c', () => n++);
    expect(n).toBe(0);
  });

  it('replaces a session subscription to the same filter', () => {
    const tree = new TopicTree();
    const s = {};
    expect(tree.add(entry(s, 'a/#'))).toBe(false);
    expect(tree.add(entry(s, 'a/#'))).toBe(true);
    let n = 0;
    tree.match('a/b', () => n++);
    expect(n).toBe(1);
  });

  it('gives each shared group one member per message, round-robin', () => {
    const tree = new TopicTree();
    const members = [{ conn: {} }, { conn: {} }, { conn: {} }];
    for (const m of members) tree.add(entry(m, 't/+', 'g'));
    const seen: object[] = [];
    for (let i = 0; i < 6; i++) tree.match('t/x', (e) => seen.push(e.session));
    expect(seen).toEqual([...members, ...members]);
  });
});
