import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { Target } from '../scenario/context.js';

export class TargetParseError extends Error {
  readonly code = 'BAD_TARGET';
}

const DEFAULT_PORT = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 } as const;

/**
 * `host:port`, `host` (port 1883), `[v6]:port`, `mqtt://host[:port]`, `mqtts://host[:port]` (port 8883),
 * `ws://host[:port][/path]` (port 80) and `wss://host[:port][/path]` (port 443): MQTT over WebSocket, the path
 * from the URL (default `/`).
 */
export function parseTarget(text: string): Target & { display: string } {
  let kind: keyof typeof DEFAULT_PORT = 'mqtt';
  let rest = text;
  let path = '/';
  const scheme = /^([a-z]+):\/\//i.exec(text);
  if (scheme) {
    const s = scheme[1]!.toLowerCase();
    if (s === 'mqtts' || s === 'ssl' || s === 'tls') kind = 'mqtts';
    else if (s === 'ws' || s === 'wss') kind = s;
    else if (s !== 'mqtt' && s !== 'tcp') {
      throw new TargetParseError(
        `target "${text}": unsupported scheme ${s}:// (use mqtt://, mqtts://, ws:// or wss://)`,
      );
    }
    rest = text.slice(scheme[0].length);
    const slash = rest.indexOf('/');
    if (slash >= 0) {
      if (kind === 'ws' || kind === 'wss') path = rest.slice(slash);
      rest = rest.slice(0, slash);
    }
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
        `target "${text}": expected host:port, mqtt://host:port, mqtts://host:port, ws://host:port/path or wss://host:port/path`,
      );
    host = m[1]!;
    portText = m[2];
  }
  if (portText === '') throw new TargetParseError(`target "${text}": empty port`);
  const port = portText === undefined ? DEFAULT_PORT[kind] : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TargetParseError(`target "${text}": port must be 1-65535`);
  }
  const tls = kind === 'mqtts' || kind === 'wss';
  const ws = kind === 'ws' || kind === 'wss';
  return {
    host,
    port,
    ...(tls ? { tls: true } : {}),
    ...(ws ? { websocket: { path } } : {}),
    display: `${kind}://${host.includes(':') ? `[${host}]` : host}:${port}${ws ? path : ''}`,
  };
}

/** The TLS flags of the command line: `--ca`, `--cert`, `--key` (PEM files), `--insecure`. */
export interface TlsFlags {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  insecure?: boolean | undefined;
}

/**
 * Applies the TLS flags to an mqtts:// or wss:// target (files read relative to `cwd`). Flags without a TLS
 * target, `--cert` without `--key` (or the reverse) and unreadable files are TargetParseErrors, worded for
 * the user.
 */
export function applyTlsFlags(target: Target | undefined, flags: TlsFlags, cwd: string): void {
  const given =
    flags.ca !== undefined || flags.insecure || flags.cert !== undefined || flags.key !== undefined;
  if (given && !target?.tls) {
    throw new TargetParseError(
      '--ca, --cert, --key and --insecure apply to mqtts:// and wss:// targets only',
    );
  }
  if ((flags.cert === undefined) !== (flags.key === undefined)) {
    throw new TargetParseError('--cert and --key go together (a client certificate and its private key)');
  }
  if (!target?.tls || !given) return;
  const tls: ConnectionOptions = {};
  const read = (flag: 'ca' | 'cert' | 'key', file: string): Buffer => {
    try {
      return readFileSync(resolve(cwd, file));
    } catch (err) {
      throw new TargetParseError(`--${flag}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (flags.ca !== undefined) tls.ca = read('ca', flags.ca);
  if (flags.cert !== undefined) tls.cert = read('cert', flags.cert);
  if (flags.key !== undefined) tls.key = read('key', flags.key);
  if (flags.insecure) tls.rejectUnauthorized = false;
  target.tls = tls;
}
