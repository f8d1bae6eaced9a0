import type { Target } from '../scenario/context.js';
import { parseTarget, TargetParseError } from './target.js';

export class NodeParseError extends Error {
  readonly code = 'BAD_NODE';
}

/**
 * `--node host:port` (repeatable): the other nodes of a clustered broker, node 2 first; the target is node 1.
 * A node is reached over the target's transport (TLS options, WebSocket path), so it names a host and port:
 * `host:port`, `[v6]:port`, or a URL of the target's own scheme; without a port it takes the target's.
 */
export function parseNodes(texts: readonly string[], target: Target & { display: string }): Target['nodes'] {
  const kind = /^([a-z]+):\/\//.exec(target.display)?.[1];
  return texts.map((text) => {
    let node: Target & { display: string };
    try {
      node = parseTarget(text);
    } catch (err) {
      if (err instanceof TargetParseError)
        throw new NodeParseError(`--node ${err.message.replace(/^target /, '')}`);
      throw err;
    }
    const scheme = /^([a-z]+):\/\//i.exec(text);
    if (scheme && /^([a-z]+):\/\//.exec(node.display)?.[1] !== kind) {
      throw new NodeParseError(
        `--node "${text}": a node is reached over the target's transport (${kind}://); give host:port`,
      );
    }
    const portGiven = /:\d+(\/.*)?$/.test(scheme ? text.slice(scheme[0].length) : text);
    return { host: node.host, port: portGiven ? node.port : target.port };
  });
}

/** The target's display name with its other nodes: `mqtt://a:1883 (+ nodes b:1883, c:1883)`. */
export function displayWithNodes(display: string, nodes: Target['nodes']): string {
  if (!nodes || nodes.length === 0) return display;
  const name = (n: { host: string; port: number }) =>
    `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`;
  return `${display} (+ node${nodes.length > 1 ? 's' : ''} ${nodes.map(name).join(', ')})`;
}
