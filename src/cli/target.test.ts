import { describe, expect, it } from 'vitest';
import { parseTarget, TargetParseError } from './target.js';

describe('parseTarget', () => {
  it.each([
    ['127.0.0.1:1884', { host: '127.0.0.1', port: 1884, display: 'mqtt://127.0.0.1:1884' }],
    ['broker', { host: 'broker', port: 1883, display: 'mqtt://broker:1883' }],
    ['mqtts://b', { host: 'b', port: 8883, tls: true, display: 'mqtts://b:8883' }],
    [
      'ws://b:8080/mqtt',
      { host: 'b', port: 8080, websocket: { path: '/mqtt' }, display: 'ws://b:8080/mqtt' },
    ],
    ['ws://b', { host: 'b', port: 80, websocket: { path: '/' }, display: 'ws://b:80/' }],
    [
      'wss://[::1]/a/b?x=1',
      {
        host: '::1',
        port: 443,
        tls: true,
        websocket: { path: '/a/b?x=1' },
        display: 'wss://[::1]:443/a/b?x=1',
      },
    ],
  ])('%s', (text, want) => {
    expect(parseTarget(text)).toEqual(want);
  });

  it('refuses unknown schemes and bad ports', () => {
    for (const bad of ['http://b', 'ws://b:0/x', 'b:', 'ws://b:99999'])
      expect(() => parseTarget(bad), bad).toThrow(TargetParseError);
  });
});
