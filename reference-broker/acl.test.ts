import { describe, expect, it } from 'vitest';
import { Acl, authenticate, filterCovers } from './acl.js';

describe('filterCovers', () => {
  const table: Array<[string, string, boolean]> = [
    ['#', 'a/b', true],
    ['#', '#', true],
    ['a/#', 'a', true],
    ['a/#', 'a/+/c', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', false],
    ['a/+', 'a/b/c', false],
    ['a/b', 'a/+', false],
    ['a/b', 'a/b', true],
    ['+/b', 'x/b', true],
    ['a', 'a/b', false],
  ];
  for (const [pattern, filter, covered] of table) {
    it(`${pattern} ${covered ? 'covers' : 'does not cover'} ${filter}`, () => {
      expect(filterCovers(pattern, filter)).toBe(covered);
    });
  }
});

describe('Acl', () => {
  const acl = new Acl([
    { topic: 'public/#', access: 'readwrite' },
    { topic: 'users/%u/#', access: 'readwrite' },
    { topic: 'clients/%c', access: 'write' },
    { topic: 'public/secret', access: 'read', allow: false },
  ]);
  const alice = { clientId: 'c1', username: 'alice' };

  it('substitutes %u and %c', () => {
    expect(acl.canPublish(alice, 'users/alice/x')).toBe(true);
    expect(acl.canPublish(alice, 'users/bob/x')).toBe(false);
    expect(acl.canPublish(alice, 'clients/c1')).toBe(true);
    expect(acl.canReceive(alice, 'clients/c1')).toBe(false);
  });

  it('lets deny rules win, per direction', () => {
    expect(acl.canReceive(alice, 'public/secret')).toBe(false);
    expect(acl.canPublish(alice, 'public/secret')).toBe(true);
    expect(acl.canSubscribe(alice, 'public/#')).toBe(true);
    expect(acl.canSubscribe(alice, '#')).toBe(false);
  });

  it('allows everything without rules', () => {
    expect(new Acl(undefined).canSubscribe(alice, '#')).toBe(true);
  });
});

describe('authenticate', () => {
  const users = [{ username: 'u', password: 'p' }];
  it('checks users and anonymous access', () => {
    expect(authenticate(users, undefined, 'u', Buffer.from('p'))).toBe('ok');
    expect(authenticate(users, undefined, 'u', Buffer.from('x'))).toBe('bad-credentials');
    expect(authenticate(users, undefined, 'u', undefined)).toBe('bad-credentials');
    expect(authenticate(users, undefined, 'v', Buffer.from('p'))).toBe('bad-credentials');
    expect(authenticate(users, undefined, undefined, undefined)).toBe('anonymous-refused');
    expect(authenticate(users, true, undefined, undefined)).toBe('ok');
    expect(authenticate(undefined, undefined, undefined, undefined)).toBe('ok');
    expect(authenticate(undefined, undefined, 'anyone', Buffer.from('x'))).toBe('ok');
  });
});
