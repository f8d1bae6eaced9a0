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
    // Values the protocol cannot carry: packet ids run out above 65535 in flight; CONNACK fields are 2 bytes.
    ['maxInflight above 65535', { limits: { maxInflight: 65_536 } }],
    ['receiveMaximum 0', { limits: { receiveMaximum: 0 } }],
    ['topicAliasMaximum above 65535', { limits: { topicAliasMaximum: 70_000 } }],
    ['maximumQoS 3', { limits: { maximumQoS: 3 } }],
    ['maxKeepAlive above 65535', { limits: { maxKeepAlive: 65_536 } }],
    ['maxPacketSize 0', { limits: { maxPacketSize: 0 } }],
    ['a fractional limit', { limits: { maxQueuedMessages: 1.5 } }],
    ['tls listener without cert', { listeners: [{ type: 'tls', key: 'k.pem' }] }],
    ['unknown listener type', { listeners: [{ type: 'quic' }] }],
  ];
  for (const [name, raw] of bad) {
    it(`rejects ${name}`, () => {
      expect(() => validateBrokerConfig(raw)).toThrow(BrokerConfigError);
    });
  }

  it('checks limit ranges for configurations given in code too', () => {
    expect(() => resolveLimits({ limits: { maxInflight: 65_536 } })).toThrow(BrokerConfigError);
  });

  it('fills limits with defaults', () => {
    expect(resolveLimits({ limits: { maxInflight: 7 } })).toMatchObject({
      maxInflight: 7,
      maxQueuedMessages: 1000,
    });
  });
});
