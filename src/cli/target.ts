import type { Target } from '../scenario/context.js';

export class TargetParseError extends Error {
  readonly code = 'BAD_TARGET';
}

/** `host:port`, `host` (port 1883), `[v6]:port`, `mqtt://host[:port]`, `mqtts://host[:port]` (port 8883). */
export function parseTarget(text: string): Target & { display: string } {
  let tls = false;
  let rest = text;
  const scheme = /^([a-z]+):\/\//i.exec(text);
  if (scheme) {
    const s = scheme[1]!.toLowerCase();
    if (s === 'mqtts' || s === 'ssl' || s === 'tls') tls = true;
    else if (s !== 'mqtt' && s !== 'tcp') {
      throw new TargetParseError(`target "${text}": unsupported scheme ${s}:// (use mqtt:// or mqtts://)`);
    }
    rest = text.slice(scheme[0].length).replace(/\/.*$/, '');
  }
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else {
    const m = /^([^:]+)(?::(\d*))?$/.exec(rest);
    if (!m)
      throw new TargetParseError(
        `target "${text}": expected host:port, mqtt://host:port or mqtts://host:port`,
      );
    host = m[1]!;
    portText = m[2];
  }
  if (portText === '') throw new TargetParseError(`target "${text}": empty port`);
  const port = portText === undefined ? (tls ? 8883 : 1883) : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TargetParseError(`target "${text}": port must be 1-65535`);
  }
  return {
    host,
    port,
    ...(tls ? { tls: true } : {}),
    display: `${tls ? 'mqtts' : 'mqtt'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
  };
}
