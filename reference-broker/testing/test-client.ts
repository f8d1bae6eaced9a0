import { connect as netConnect, type Socket } from 'node:net';
import {
  type ConnectPacket,
  type EncodeOverrides,
  encode,
  type Packet,
  type PacketOf,
  type PacketType,
  type ProtocolVersion,
  StreamDecoder,
} from '../../src/codec/index.js';

/** What arrived from the broker: a packet, the close, or bytes the strict decoder rejected. */
export type Arrival =
  | { kind: 'packet'; packet: Packet }
  | { kind: 'closed' }
  | { kind: 'malformed'; code: string };

/**
 * A small raw MQTT client for the broker's own tests: sends exactly the packets (or bytes) it is given and
 * queues what arrives, decoded strictly. Waits are event-driven with a timeout.
 */
export class TestClient {
  private readonly inbox: Arrival[] = [];
  private waiter: (() => void) | undefined;
  private readonly decoder: StreamDecoder;
  closed = false;

  private constructor(
    readonly socket: Socket,
    public version: ProtocolVersion,
  ) {
    this.decoder = new StreamDecoder({ protocolVersion: version });
    socket.on('data', (chunk: Buffer) => {
      for (const ev of this.decoder.push(chunk)) {
        this.push(ev.ok ? { kind: 'packet', packet: ev.packet } : { kind: 'malformed', code: ev.error.code });
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.push({ kind: 'closed' });
    });
  }

  static open(port: number, version: ProtocolVersion = 4): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new TestClient(socket, version));
      });
      socket.once('error', reject);
    });
  }

  /** Opens a socket, sends CONNECT and waits for CONNACK. */
  static async connect(
    port: number,
    opts: Partial<Omit<ConnectPacket, 'type'>> & { protocolVersion?: ProtocolVersion } = {},
  ): Promise<{ client: TestClient; connack: PacketOf<'connack'> }> {
    const version = (opts.protocolVersion ?? 4) as ProtocolVersion;
    const client = await TestClient.open(port, version);
    client.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: version,
      clean: opts.clean ?? true,
      keepAlive: opts.keepAlive ?? 60,
      clientId: opts.clientId ?? '',
      ...(opts.will ? { will: opts.will } : {}),
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(version === 5 ? { properties: opts.properties ?? {} } : {}),
    });
    const connack = await client.expect('connack');
    return { client, connack };
  }

  private push(a: Arrival): void {
    this.inbox.push(a);
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  send(packet: Packet, overrides?: EncodeOverrides): void {
    if (packet.type === 'connect' && (packet.protocolVersion === 4 || packet.protocolVersion === 5)) {
      this.version = packet.protocolVersion;
      this.decoder.protocolVersion = packet.protocolVersion;
    }
    this.socket.write(encode(packet, { protocolVersion: this.version, ...(overrides ? { overrides } : {}) }));
  }

  sendRaw(bytes: Buffer | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes.replace(/\s+/g, ''), 'hex') : bytes);
  }

  /** Next arrival, or undefined after `timeoutMs`. */
  async next(timeoutMs = 2000): Promise<Arrival | undefined> {
    if (this.inbox.length > 0) return this.inbox.shift();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return this.inbox.shift();
  }

  /** Next packet, which must be of `type`; throws with what arrived otherwise. */
  async expect<T extends PacketType>(type: T, timeoutMs = 2000): Promise<PacketOf<T>> {
    const a = await this.next(timeoutMs);
    if (a?.kind === 'packet' && a.packet.type === type) return a.packet as PacketOf<T>;
    throw new Error(`expected ${type}, got ${describe(a)}`);
  }

  /** The connection must close (optionally after packets of the listed types, which are returned). */
  async expectClosed(timeoutMs = 2000, allow: PacketType[] = []): Promise<Packet[]> {
    const seen: Packet[] = [];
    for (;;) {
      const a = await this.next(timeoutMs);
      if (a?.kind === 'closed') return seen;
      if (a?.kind === 'packet' && allow.includes(a.packet.type)) {
        seen.push(a.packet);
        continue;
      }
      throw new Error(`expected close, got ${describe(a)}`);
    }
  }

  /** Nothing may arrive within `ms`. */
  async expectNothing(ms = 200): Promise<void> {
    const a = await this.next(ms);
    if (a !== undefined) throw new Error(`expected nothing, got ${describe(a)}`);
  }

  /** Sends DISCONNECT and waits for the close. */
  async disconnect(): Promise<void> {
    if (this.closed) return;
    this.send(
      this.version === 5 ? { type: 'disconnect', reasonCode: 0, properties: {} } : { type: 'disconnect' },
    );
    await this.waitClosed();
  }

  async waitClosed(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.next(deadline - Date.now());
  }

  /** Drops the TCP connection without DISCONNECT (an abnormal close for the broker). */
  destroy(): void {
    this.socket.destroy();
  }
}

export function describe(a: Arrival | undefined): string {
  if (a === undefined) return 'nothing (timeout)';
  if (a.kind === 'closed') return 'connection closed';
  if (a.kind === 'malformed') return `malformed bytes (${a.code})`;
  return JSON.stringify(a.packet, (_k, v) =>
    v && typeof v === 'object' && v.type === 'Buffer' ? Buffer.from(v.data).toString() : v,
  );
}
