import { describe, expect, it } from 'vitest';
import { updateExpectedFailures } from './expected-failures.js';

const run = (id: string, protocol: '3.1.1' | '5.0', status: string, message?: string) => ({
  id,
  protocol,
  status,
  ...(message ? { message } : {}),
});

describe('updateExpectedFailures', () => {
  it('one entry per failing case; per version when only some versions failed', () => {
    const u = updateExpectedFailures(
      [
        run('a/both', '3.1.1', 'failed', 'no PUBACK\nmore'),
        run('a/both', '5.0', 'non-strict'),
        run('b/five', '3.1.1', 'passed'),
        run('b/five', '5.0', 'failed', 'wrong reason code'),
        run('c/pass', '3.1.1', 'passed'),
        run('d/error', '3.1.1', 'error', 'no CONNACK'),
      ],
      [],
      'recorded X',
    );
    expect(u.entries).toEqual([
      { id: 'a/both', reason: 'recorded X: no PUBACK' },
      { id: 'b/five', protocol: '5.0', reason: 'recorded X: wrong reason code' },
    ]);
    expect([u.added, u.kept, u.dropped]).toEqual([2, 0, 0]);
    expect(u.text).toContain(
      '- id: "b/five"\n  protocol: "5.0"\n  reason: "recorded X: wrong reason code"\n',
    );
  });

  it('keeps reasons, drops entries whose cases pass, leaves entries of cases that did not run', () => {
    const u = updateExpectedFailures(
      [run('a/still', '3.1.1', 'failed', 'x'), run('b/fixed', '3.1.1', 'passed')],
      [
        { id: 'a/still', reason: 'by design' },
        { id: 'b/fixed', reason: 'was broken' },
        { id: 'c/other', reason: 'not in this run', protocol: '5.0' },
      ],
      'recorded X',
    );
    expect(u.entries).toEqual([
      { id: 'a/still', reason: 'by design' },
      { id: 'c/other', reason: 'not in this run', protocol: '5.0' },
    ]);
    expect([u.added, u.kept, u.dropped]).toEqual([0, 1, 1]);
  });

  it('an entry for both versions whose case now fails in one keeps its reason there: kept, not dropped', () => {
    const u = updateExpectedFailures(
      [run('a/x', '3.1.1', 'passed'), run('a/x', '5.0', 'failed', 'y')],
      [{ id: 'a/x', reason: 'by design' }],
      'recorded X',
    );
    expect(u.entries).toEqual([{ id: 'a/x', protocol: '5.0', reason: 'by design' }]);
    expect([u.added, u.kept, u.dropped]).toEqual([0, 1, 0]);
  });

  it('an empty list is written as []', () => {
    const u = updateExpectedFailures([run('a', '3.1.1', 'passed')], [], 'recorded X');
    expect(u.text.endsWith('\n[]\n')).toBe(true);
  });
});
