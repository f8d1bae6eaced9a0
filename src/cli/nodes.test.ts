import { describe, expect, it } from 'vitest';
import { displayWithNodes, NodeParseError, parseNodes } from './nodes.js';
import { parseTarget } from './target.js';

describe('--node', () => {
  it('takes host:port, [v6]:port and a URL of the target scheme; a missing port is the target one', () => {
    const t = parseTarget('mqtts://a.example:8883');
    expect(parseNodes(['b.example:9883', '[::1]:8884', 'mqtts://c.example:1', 'd.example'], t)).toEqual([
      { host: 'b.example', port: 9883 },
      { host: '::1', port: 8884 },
      { host: 'c.example', port: 1 },
      { host: 'd.example', port: 8883 },
    ]);
  });

  it('refuses another transport and a bad port', () => {
    const t = parseTarget('127.0.0.1:1883');
    expect(() => parseNodes(['ws://127.0.0.1:8080/mqtt'], t)).toThrow(NodeParseError);
    expect(() => parseNodes(['127.0.0.1:0'], t)).toThrow(/--node "127.0.0.1:0": port must be 1-65535/);
  });

  it('names the nodes after the target', () => {
    expect(displayWithNodes('mqtt://a:1883', [{ host: 'b', port: 1884 }])).toBe(
      'mqtt://a:1883 (+ node b:1884)',
    );
    expect(displayWithNodes('mqtt://a:1883', undefined)).toBe('mqtt://a:1883');
  });
});
