/**
 * Deliberately buggy test-only targets for the fuzzer's end-to-end tests: a TCP proxy in front of a real
 * broker that frames the client's bytes (PacketFramer, no decoding) and misbehaves on one particular
 * malformed packet:
 *
 * - `no-close`: a PUBLISH with QoS 3 in its fixed header is dropped instead of forwarded, so the broker never
 *   sees it and reads on (the sentinel PINGREQ is answered);
 * - `hang`: a SUBSCRIBE with packet identifier 0 is swallowed and, while that connection stays open, nothing
 *   is forwarded for anybody (a broker blocked on one client);
 * - `crash`: a PUBLISH whose topic contains `#` ends the process (exit code 70) — for `--spawn`;
 * - `leak`: every connection keeps an open file and 64 KiB of memory forever — for `--spawn`;
 * - `wrong-delivery`: a PUBLISH the broker sends whose topic ends in `/a` reaches the client as `/b`.
 *
 * Run as a process (`node --import tsx test/helpers/buggy-target.ts --port P --bug crash`) it starts the
 * reference broker in-process and the proxy on 127.0.0.1:P.
 */
import { openSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { PacketFramer } from '../../src/codec/index.js';

export type Bug = 'no-close' | 'hang' | 'crash' | 'leak' | 'wrong-delivery';

export interface BuggyProxy {
  host: string;
  port: number;
  /** How many times the bug fired. */
  readonly fired: number;
  close(): Promise<void>;
}

function triggers(bug: Bug, frame: Buffer, bodyOffset: number): boolean {
  const type = frame[0]! >> 4;
  const body = frame.subarray(bodyOffset);
  if (bug === 'no-close') return type === 3 && (frame[0]! & 0x06) === 0x06;
  if (bug === 'hang') return type === 8 && body.length >= 2 && body.readUInt16BE(0) === 0;
  if (bug === 'crash') {
    if (type !== 3 || body.length < 2) return false;
    const len = body.readUInt16BE(0);
    return body.subarray(2, 2 + len).includes(0x23);
  }
  return false;
}

const leaked: Array<{ fd: number; memory: Buffer }> = [];

export async function startBuggyProxy(
  target: { host: string; port: number },
  bug: Bug,
  listenPort = 0,
): Promise<BuggyProxy> {
  const sockets = new Set<net.Socket>();
  let fired = 0;
  let holders = 0;
  const held: Array<() => void> = [];
  const forward = (fn: () => void): void => {
    if (holders > 0) held.push(fn);
    else fn();
  };
  const server = net.createServer((client) => {
    if (bug === 'leak') leaked.push({ fd: openSync('/dev/null', 'r'), memory: Buffer.alloc(64 * 1024, 1) });
    const broker = net.connect({ host: target.host, port: target.port });
    const framer = new PacketFramer();
    let holding = false;
    let raw = false;
    for (const s of [client, broker]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    const toBroker = (b: Buffer): void =>
      forward(() => {
        if (!broker.destroyed) broker.write(b);
      });
    client.on('data', (chunk: Buffer) => {
      if (raw || holding) {
        if (!holding) toBroker(chunk);
        return;
      }
      for (const ev of framer.push(chunk)) {
        if (ev.kind === 'error') {
          raw = true;
          toBroker(ev.raw);
          continue;
        }
        if (triggers(bug, ev.raw, ev.bodyOffset)) {
          fired++;
          if (bug === 'crash') {
            process.stderr.write('buggy target: crashed on a PUBLISH with # in its topic\n');
            process.exit(70);
          }
          if (bug === 'hang') {
            holding = true;
            holders++;
          }
          continue; // no-close and hang: the packet is never forwarded
        }
        toBroker(ev.raw);
      }
    });
    const down = new PacketFramer();
    broker.on('data', (chunk: Buffer) => {
      let out = chunk;
      if (bug === 'wrong-delivery') {
        const frames = down.push(chunk);
        out = Buffer.concat(
          frames.map((ev) => {
            if (ev.kind === 'error' || ev.raw[0]! >> 4 !== 3) return ev.raw;
            const raw = Buffer.from(ev.raw);
            const len = raw.readUInt16BE(ev.bodyOffset);
            const end = ev.bodyOffset + 2 + len;
            if (len >= 2 && raw[end - 2] === 0x2f && raw[end - 1] === 0x61) {
              raw[end - 1] = 0x62;
              fired++;
            }
            return raw;
          }),
        );
      }
      forward(() => {
        if (!client.destroyed) client.write(out);
      });
    });
    const gone = (): void => {
      client.destroy();
      broker.destroy();
      if (holding) {
        holding = false;
        holders--;
        while (holders === 0 && held.length > 0) held.shift()!();
      }
    };
    client.on('close', gone);
    broker.on('close', () => forward(gone));
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    get fired() {
      return fired;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The command line for `--spawn`: this file run by node with tsx, `{port}` left for the fuzzer. */
export function buggyTargetCommand(bug: Bug): string {
  const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
  return `${process.execPath} --import ${tsx} ${fileURLToPath(import.meta.url)} --port {port} --bug ${bug}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const { startBroker } = await import('../../reference-broker/index.js');
  const broker = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
  await startBuggyProxy(broker, (arg('bug') ?? 'crash') as Bug, Number(arg('port') ?? 0));
  process.on('SIGTERM', () => process.exit(0));
}
