import net from 'node:net';
import { decode, encode, type Packet, StreamDecoder } from '../../src/codec/index.js';
import { CASE_FAULTS, FAULTS, type Fault } from './faults/index.js';
import type { FaultConn, FaultDef } from './faults/types.js';

export { CASE_FAULTS, FAULTS, type Fault };

/**
 * A test-only TCP proxy in front of a real broker that breaks exactly one rule. It decodes both directions
 * with the strict StreamDecoder, rewrites or drops packets according to the configured fault and re-encodes
 * them; anything it does not touch is forwarded byte for byte. Bytes it cannot decode (the malformed packets
 * scenarios send on purpose) are forwarded as they are, and the direction falls back to pass-through.
 * The faults live in ./faults/, one file per area of the spec.
 */
export interface FaultyProxy {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startFaultyProxy(
  target: { host: string; port: number },
  fault: Fault,
): Promise<FaultyProxy> {
  const def: FaultDef = FAULTS[fault];
  const sockets = new Set<net.Socket>();
  // State common to all connections through this proxy (e.g. retained topics seen so far).
  const shared = new Map<string, unknown>();
  const server = net.createServer((client) => {
    const broker = net.connect({ host: target.host, port: target.port });
    sockets.add(client);
    sockets.add(broker);
    client.on('close', () => sockets.delete(client));
    broker.on('close', () => sockets.delete(broker));
    client.setNoDelay(true);
    broker.setNoDelay(true);
    let up = new StreamDecoder({ protocolVersion: 4, maxPacketSize: 16 * 1024 * 1024 });
    const down = new StreamDecoder({ protocolVersion: 4, maxPacketSize: 16 * 1024 * 1024 });
    let upRaw = false;
    let downRaw = false;
    let keepClientOpen = def.keepClientOpen === 'always';
    let brokerGone = false;
    let proxyId = 60000;

    const toClientRaw = (bytes: Buffer): void => {
      if (!client.destroyed) client.write(bytes);
    };
    const toBrokerRaw = (bytes: Buffer): void => {
      if (!broker.destroyed && !brokerGone) broker.write(bytes);
    };
    const conn: FaultConn = {
      client,
      broker,
      version: 4,
      nextProxyId: () => {
        proxyId = proxyId >= 65535 ? 60000 : proxyId + 1;
        return proxyId;
      },
      state: new Map(),
      shared,
      toClient: (p) => toClientRaw(enc(p)),
      toBroker: (p) => toBrokerRaw(enc(p)),
    };
    const enc = (p: Packet): Buffer => encode(p, { protocolVersion: conn.version });

    // Client bytes pushed to `up` and not yet seen as a frame: a decode error kills the decoder, and what
    // followed the bad frame in the same chunk must not be lost.
    let upPending = Buffer.alloc(0);
    const fromClient = (chunk: Buffer): void => {
      if (brokerGone && keepClientOpen) return; // swallowed: the "broker" ignores everything now
      if (upRaw) {
        toBrokerRaw(chunk);
        return;
      }
      upPending = Buffer.concat([upPending, chunk]);
      for (const ev of up.push(chunk)) {
        upPending = upPending.subarray(ev.raw.length);
        if (!ev.ok) {
          const replaced = def.upMalformed?.(ev.raw, conn);
          if (replaced) {
            // A repaired CONNECT sets the connection's version, as a decoded one does below.
            const r = decode(replaced, { protocolVersion: conn.version });
            if (
              r.ok &&
              r.packet.type === 'connect' &&
              (r.packet.protocolVersion === 4 || r.packet.protocolVersion === 5)
            ) {
              conn.version = r.packet.protocolVersion;
              down.protocolVersion = r.packet.protocolVersion;
            }
            toBrokerRaw(replaced);
            // The decoder is dead after an error: go on with a fresh one from the next frame.
            up = new StreamDecoder({ protocolVersion: conn.version, maxPacketSize: 16 * 1024 * 1024 });
            const rest = upPending;
            upPending = Buffer.alloc(0);
            if (rest.length > 0) fromClient(rest);
            return;
          }
          upRaw = true;
          toBrokerRaw(Buffer.concat([ev.raw, upPending]));
          return;
        }
        const p = ev.packet;
        if (p.type === 'connect' && (p.protocolVersion === 4 || p.protocolVersion === 5)) {
          conn.version = p.protocolVersion;
          down.protocolVersion = p.protocolVersion;
        }
        const out = def.up ? def.up(p, conn) : 'raw';
        if (out === 'raw') toBrokerRaw(ev.raw);
        else if (out === 'abort-broker') {
          brokerGone = true;
          broker.resetAndDestroy();
          client.end();
        } else if (out === 'refuse' || out === 'refuse-id') {
          const code = out === 'refuse' ? 0x84 : conn.version === 5 ? 0x85 : 0x02;
          conn.toClient({ type: 'connack', sessionPresent: false, reasonCode: code, properties: {} });
          client.end();
          broker.destroy();
        } else if (out) toBrokerRaw(enc(out));
      }
    };
    client.on('data', fromClient);
    broker.on('data', (chunk: Buffer) => {
      if (downRaw) return toClientRaw(chunk);
      for (const ev of down.push(chunk)) {
        if (!ev.ok) {
          downRaw = true;
          toClientRaw(ev.raw);
          continue;
        }
        const p = ev.packet;
        if (def.keepClientOpen === 'after-refusal' && p.type === 'connack' && p.reasonCode !== 0)
          keepClientOpen = true;
        const out = def.down ? def.down(p, conn) : 'raw';
        if (out === 'raw') toClientRaw(ev.raw);
        else if (Array.isArray(out)) for (const q of out) toClientRaw(enc(q));
        else if (out) toClientRaw(enc(out));
      }
    });
    const brokerClosed = (): void => {
      brokerGone = true;
      if (!keepClientOpen) client.end();
    };
    broker.on('end', brokerClosed);
    broker.on('close', brokerClosed);
    broker.on('error', () => brokerClosed());
    client.on('error', () => broker.destroy());
    client.on('end', () => {
      if (!brokerGone) broker.end();
    });
    client.on('close', () => broker.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
