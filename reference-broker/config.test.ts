import { describe, expect, it } from 'vitest';
import { BrokerConfigError, resolveLimits, validateBrokerConfig } from './config.js';

describe('validateBrokerConfig', () => {
  it('accepts users as a list or a map, listeners and limits', () => {
    expect(
      validateBrokerConfig({
        users: { a: 'x' },
        listeners: [{ type: 'ws', port: 0 }],
        limits: { maxInflight: 5, retainAvailable: false },
      }),
    ).toEqual({
      users: [{ username: 'a', password: 'x' }],
      listeners: [{ type: 'ws', port: 0 }],
      limits: { maxInflight: 5, retainAvailable: false },
    });
  });

  const bad: Array<[string, unknown]> = [
    ['not a mapping', []],
    ['unknown key', { user: [] }],
    ['user without password', { users: [{ username: 'a' }] }],
    ['bad acl access', { acl: [{ topic: 'a', access: 'all' }] }],
    ['unknown limit', { limits: { maxFoo: 1 } }],
    ['limit of the wrong type', { limits: { maxInflight: '5' } }],
    ['tls listener without cert', { listeners: [{ type: 'tls', key: 'k.pem' }] }],
    ['unknown listener type', { listeners: [{ type: 'quic' }] }],
  ];
  for (const [name, raw] of bad) {
    it(`rejects ${name}`, () => {
      expect(() => validateBrokerConfig(raw)).toThrow(BrokerConfigError);
    });
  }

  it('fills limits with defaults', () => {
    expect(resolveLimits({ limits: { maxInflight: 7 } })).toMatchObject({
      maxInflight: 7,
      maxQueuedMessages: 1000,
    });
  });
});
