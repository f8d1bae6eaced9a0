import net from 'node:net';
import { encode, type Packet, type ProtocolVersion, StreamDecoder } from '../../src/codec/index.js';

/**
 * A test-only TCP proxy in front of a real broker that breaks exactly one rule. It decodes both directions
 * with the strict StreamDecoder, rewrites or drops packets according to the configured fault and re-encodes
 * them; anything it does not touch is forwarded byte for byte. Bytes it cannot decode (the malformed packets
 * scenarios send on purpose) are forwarded as they are, and the direction falls back to pass-through.
 */
export type Fault =
  /** No fault: a transparent proxy. */
  | 'none'
  /** When the broker closes a connection, keep the client's side open and silent (no close on violations). */
  | 'never-close'
  /** Drop every PUBLISH to clients (no delivery). */
  | 'drop-publish'
  /** Drop PUBLISH packets with RETAIN 1 to clients (retained messages never arrive). */
  | 'drop-retained'
  /** Set RETAIN 1 on every PUBLISH to clients. */
  | 'force-retain'
  /** Set RETAIN 0 on every PUBLISH to clients. */
  | 'clear-retain'
  /** A retained PUBLISH to a topic that already got one is dropped (and acknowledged by the proxy). */
  | 'ignore-retained-update'
  /** Strip the will from CONNECT (the will is never published). */
  | 'no-will'
  /** A client DISCONNECT becomes an abrupt close towards the broker (the will fires). */
  | 'will-on-disconnect'
  /** Invert CONNACK Session Present. */
  | 'session-present-flip'
  /** Every CONNECT reaches the broker with Clean 1, yet a CONNACK to Clean 0 claims Session Present 1. */
  | 'lose-session'
  /** Refusing CONNACKs become acceptances, and the connection stays open. */
  | 'connack-accept-all'
  /** Drop PINGRESP. */
  | 'drop-pingresp'
  /** Acknowledgements to clients (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK) carry packet id + 1. */
  | 'ack-wrong-id'
  | 'drop-pubcomp'
  | 'drop-pubrel'
  /** QoS 1/2 PUBLISH to clients delivered as QoS 0. */
  | 'qos-downgrade'
  /** QoS 0 PUBLISH to clients delivered as QoS 1 (with a packet id). */
  | 'qos-upgrade'
  /** DUP 1 on QoS 0 PUBLISH to clients. */
  | 'dup-at-qos0'
  /** UNSUBSCRIBE is swallowed and answered by the proxy; the subscription stays. */
  | 'ignore-unsubscribe'
  /** A client PUBLISH to a topic starting with $ loses the $ (so wildcard subscribers get it). */
  | 'dollar-leak'
  /** A client publishing to a topic starting with $ is disconnected (legitimate: 4.7.2 SHOULD). */
  | 'close-on-dollar'
  /** PUBLISH to clients gets one more topic level (`/x`). */
  | 'rewrite-topic'
  /** Every 5.0 CONNECT is answered with CONNACK 0x84 and closed (a broker that declines 5.0). */
  | 'refuse-5'
  /** A CONNECT with a 23-character client identifier is refused (0x02 / 0x85) and closed. */
  | 'refuse-client-id-23'
  /** SUBACK grants QoS 1 where QoS 2 was granted. */
  | 'grant-qos1'
  /** SUBACK grants QoS 0 wherever QoS 1 or 2 was granted (legitimate: a server may grant less). */
  | 'grant-qos0'
  /** 5.0 SUBSCRIBE options lose Retain Handling (always 0: retained messages are sent). */
  | 'ignore-retain-handling'
  /** 5.0 SUBSCRIBE options lose No Local (a client gets its own messages). */
  | 'ignore-no-local'
  /** Accepting 5.0 CONNACKs announce Server Keep Alive 60 (legitimate: the case's keep-alive no longer holds). */
  | 'server-keep-alive-60'
  /** Accepting 5.0 CONNACKs announce Maximum QoS 1 (legitimate: QoS 2 publishing is not the broker's). */
  | 'maximum-qos-1'
  /** Accepting 5.0 CONNACKs announce Session Expiry Interval 0 (legitimate: the broker keeps no session). */
  | 'session-expiry-0';

export interface FaultyProxy {
  host: string;
  port: number;
  close(): Promise<void>;
}

interface Conn {
  client: net.Socket;
  broker: net.Socket;
  version: ProtocolVersion;
  nextProxyId: number;
  /** The client asked to resume a session (Clean 0), for lose-session. */
  askedResume?: boolean;
}

export async function startFaultyProxy(
  target: { host: string; port: number },
  fault: Fault,
): Promise<FaultyProxy> {
  const sockets = new Set<net.Socket>();
  // Retained topics seen through this proxy (ignore-retained-update), shared by all connections.
  const retainedTopics = new Set<string>();
  const server = net.createServer((client) => {
    const broker = net.connect({ host: target.host, port: target.port });
    sockets.add(client);
    sockets.add(broker);
    client.on('close', () => sockets.delete(client));
    broker.on('close', () => sockets.delete(broker));
    client.setNoDelay(true);
    broker.setNoDelay(true);
    const conn: Conn = { client, broker, version: 4, nextProxyId: 60000 };
    const up = new StreamDecoder({ protocolVersion: 4, maxPacketSize: 16 * 1024 * 1024 });
    const down = new StreamDecoder({ protocolVersion: 4, maxPacketSize: 16 * 1024 * 1024 });
    let upRaw = false;
    let downRaw = false;
    let keepClientOpen = fault === 'never-close';
    let brokerGone = false;

    const toClient = (bytes: Buffer): void => {
      if (!client.destroyed) client.write(bytes);
    };
    const toBroker = (bytes: Buffer): void => {
      if (!broker.destroyed && !brokerGone) broker.write(bytes);
    };
    const enc = (p: Packet): Buffer => encode(p, { protocolVersion: conn.version });

    client.on('data', (chunk: Buffer) => {
      if (brokerGone && keepClientOpen) return; // swallowed: the "broker" ignores everything now
      if (upRaw) return toBroker(chunk);
      for (const ev of up.push(chunk)) {
        if (!ev.ok) {
          upRaw = true;
          toBroker(ev.raw);
          continue;
        }
        const p = ev.packet;
        if (p.type === 'connect' && (p.protocolVersion === 4 || p.protocolVersion === 5)) {
          conn.version = p.protocolVersion;
          down.protocolVersion = p.protocolVersion;
        }
        const out = upstream(p, conn, fault, retainedTopics, toClient);
        if (out === 'raw') toBroker(ev.raw);
        else if (out === 'abort-broker') {
          brokerGone = true;
          broker.resetAndDestroy();
          client.end();
        } else if (out === 'refuse' || out === 'refuse-id') {
          const code = out === 'refuse' ? 0x84 : conn.version === 5 ? 0x85 : 0x02;
          toClient(enc({ type: 'connack', sessionPresent: false, reasonCode: code, properties: {} }));
          client.end();
          broker.destroy();
        } else if (out) toBroker(enc(out));
      }
    });
    broker.on('data', (chunk: Buffer) => {
      if (downRaw) return toClient(chunk);
      for (const ev of down.push(chunk)) {
        if (!ev.ok) {
          downRaw = true;
          toClient(ev.raw);
          continue;
        }
        const p = ev.packet;
        if (fault === 'connack-accept-all' && p.type === 'connack' && p.reasonCode !== 0)
          keepClientOpen = true;
        const out = downstream(p, conn, fault);
        if (out === 'raw') toClient(ev.raw);
        else if (out) toClient(enc(out));
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

type UpResult = Packet | 'raw' | null | 'abort-broker' | 'refuse' | 'refuse-id';

/** Client -> broker. */
function upstream(
  p: Packet,
  conn: Conn,
  fault: Fault,
  retainedTopics: Set<string>,
  toClient: (b: Buffer) => void,
): UpResult {
  const v5 = conn.version === 5;
  switch (fault) {
    case 'no-will':
      if (p.type === 'connect' && p.will) {
        const { will: _w, ...rest } = p;
        return rest;
      }
      return 'raw';
    case 'will-on-disconnect':
      return p.type === 'disconnect' ? 'abort-broker' : 'raw';
    case 'refuse-5':
      return p.type === 'connect' && p.protocolVersion === 5 ? 'refuse' : 'raw';
    case 'refuse-client-id-23':
      return p.type === 'connect' && p.clientId.length === 23 ? 'refuse-id' : 'raw';
    case 'ignore-retained-update':
      if (p.type === 'publish' && p.retain) {
        if (!retainedTopics.has(p.topic)) {
          retainedTopics.add(p.topic);
          return 'raw';
        }
        // Pretend the broker took it.
        if (p.qos === 1 && p.packetId !== undefined) {
          toClient(encode(ack('puback', p.packetId, v5), { protocolVersion: conn.version }));
        } else if (p.qos === 2 && p.packetId !== undefined) {
          toClient(encode(ack('pubrec', p.packetId, v5), { protocolVersion: conn.version }));
        }
        return null;
      }
      return 'raw';
    case 'ignore-unsubscribe':
      if (p.type === 'unsubscribe') {
        toClient(
          encode(
            v5
              ? { type: 'unsuback', packetId: p.packetId, reasonCodes: p.topics.map(() => 0), properties: {} }
              : { type: 'unsuback', packetId: p.packetId },
            { protocolVersion: conn.version },
          ),
        );
        return null;
      }
      return 'raw';
    case 'lose-session':
      if (p.type === 'connect') {
        conn.askedResume = !p.clean;
        return { ...p, clean: true };
      }
      return 'raw';
    case 'close-on-dollar':
      return p.type === 'publish' && p.topic.startsWith('$') ? 'abort-broker' : 'raw';
    case 'dollar-leak':
      if (p.type === 'publish' && p.topic.startsWith('$')) return { ...p, topic: p.topic.slice(1) };
      return 'raw';
    case 'ignore-retain-handling':
      if (p.type === 'subscribe') {
        return { ...p, subscriptions: p.subscriptions.map((x) => ({ ...x, retainHandling: 0 as const })) };
      }
      return 'raw';
    case 'ignore-no-local':
      if (p.type === 'subscribe')
        return { ...p, subscriptions: p.subscriptions.map((x) => ({ ...x, noLocal: false })) };
      return 'raw';
    default:
      return 'raw';
  }
}

function ack(type: 'puback' | 'pubrec', packetId: number, v5: boolean): Packet {
  return v5 ? { type, packetId, reasonCode: 0, properties: {} } : { type, packetId };
}

/** Broker -> client. */
function downstream(p: Packet, conn: Conn, fault: Fault): Packet | 'raw' | null {
  switch (fault) {
    case 'drop-publish':
      return p.type === 'publish' ? null : 'raw';
    case 'drop-retained':
      return p.type === 'publish' && p.retain ? null : 'raw';
    case 'force-retain':
      return p.type === 'publish' ? { ...p, retain: true } : 'raw';
    case 'clear-retain':
      return p.type === 'publish' ? { ...p, retain: false } : 'raw';
    case 'session-present-flip':
      return p.type === 'connack' ? { ...p, sessionPresent: !p.sessionPresent } : 'raw';
    case 'lose-session':
      return p.type === 'connack' && p.reasonCode === 0 && conn.askedResume
        ? { ...p, sessionPresent: true }
        : 'raw';
    case 'connack-accept-all':
      return p.type === 'connack' && p.reasonCode !== 0 ? { ...p, reasonCode: 0 } : 'raw';
    case 'drop-pingresp':
      return p.type === 'pingresp' ? null : 'raw';
    case 'ack-wrong-id':
      if (
        p.type === 'puback' ||
        p.type === 'pubrec' ||
        p.type === 'pubcomp' ||
        p.type === 'suback' ||
        p.type === 'unsuback'
      ) {
        return { ...p, packetId: (p.packetId % 65535) + 1 };
      }
      return 'raw';
    case 'drop-pubcomp':
      return p.type === 'pubcomp' ? null : 'raw';
    case 'drop-pubrel':
      return p.type === 'pubrel' ? null : 'raw';
    case 'qos-downgrade':
      if (p.type === 'publish' && p.qos > 0) {
        const { packetId: _id, ...rest } = p;
        return { ...rest, qos: 0, dup: false };
      }
      return 'raw';
    case 'qos-upgrade':
      if (p.type === 'publish' && p.qos === 0) {
        conn.nextProxyId = conn.nextProxyId >= 65535 ? 60000 : conn.nextProxyId + 1;
        return { ...p, qos: 1, packetId: conn.nextProxyId };
      }
      return 'raw';
    case 'dup-at-qos0':
      return p.type === 'publish' && p.qos === 0 ? { ...p, dup: true } : 'raw';
    case 'rewrite-topic':
      return p.type === 'publish' ? { ...p, topic: `${p.topic}/x` } : 'raw';
    case 'server-keep-alive-60':
    case 'maximum-qos-1':
    case 'session-expiry-0': {
      if (p.type !== 'connack' || p.reasonCode !== 0 || conn.version !== 5) return 'raw';
      const extra =
        fault === 'server-keep-alive-60'
          ? { serverKeepAlive: 60 }
          : fault === 'maximum-qos-1'
            ? { maximumQoS: 1 }
            : { sessionExpiryInterval: 0 };
      return { ...p, properties: { ...(p.properties ?? {}), ...extra } };
    }
    case 'grant-qos0':
      return p.type === 'suback'
        ? { ...p, reasonCodes: p.reasonCodes.map((c) => (c === 1 || c === 2 ? 0 : c)) }
        : 'raw';
    case 'grant-qos1':
      return p.type === 'suback' ? { ...p, reasonCodes: p.reasonCodes.map((c) => (c === 2 ? 1 : c)) } : 'raw';
    default:
      return 'raw';
  }
}

/** The fault that breaks the rule each first-set case checks (the proof that the case can fail). */
export const CASE_FAULTS: Record<string, Fault> = {
  '2.2.3/five-byte-remaining-length': 'never-close',
  '3.1.0/second-connect-closes': 'never-close',
  '3.1.2/unsupported-protocol-level': 'connack-accept-all',
  '3.1.2/reserved-flag-set': 'never-close',
  '3.1.2/keep-alive-timeout': 'never-close',
  '3.1.2/will-published-on-abrupt-close': 'no-will',
  '3.1.2/will-discarded-on-disconnect': 'will-on-disconnect',
  '3.1.2/will-retained': 'clear-retain',
  '3.1.3/empty-client-id-needs-clean-session': 'connack-accept-all',
  '3.1.3/client-id-23-characters': 'refuse-client-id-23',
  '3.1.4/session-takeover': 'never-close',
  '3.2.2/session-present-zero-on-clean': 'session-present-flip',
  '3.2.2/session-present-one-on-resume': 'lose-session',
  '3.3.1/retain-stored-and-sent': 'drop-retained',
  '3.3.1/retain-replaces-stored': 'ignore-retained-update',
  '3.3.1/retain-empty-payload-clears': 'ignore-retained-update',
  '3.3.1/retain-flag-cleared-on-live-delivery': 'force-retain',
  '3.3.1/qos-bits-both-set': 'never-close',
  '3.3.1/retain-qos0-replaces-stored': 'ignore-retained-update',
  '3.3.1/retain-qos0-stored': 'ignore-retained-update',
  '3.3.1/retain-handling-2-sends-none': 'ignore-retain-handling',
  '3.8.3/no-local': 'ignore-no-local',
  '3.3.2/wildcard-in-topic-name': 'never-close',
  '3.6.1/reserved-flags-not-0010': 'never-close',
  '3.8.1/reserved-flags-not-0010': 'never-close',
  '3.8.4/suback-per-filter': 'ack-wrong-id',
  '3.8.4/delivered-qos-is-minimum': 'qos-upgrade',
  '3.10.4/unsubscribe-stops-delivery': 'ignore-unsubscribe',
  '3.10.4/unsuback-without-subscription': 'ack-wrong-id',
  '3.12.4/pingresp-keeps-alive': 'drop-pingresp',
  '4.3.1/qos0-delivery': 'dup-at-qos0',
  '4.3.2/puback-echoes-packet-id': 'ack-wrong-id',
  '4.3.2/qos1-delivery': 'qos-downgrade',
  '4.3.3/qos2-inbound-flow': 'drop-pubcomp',
  '4.3.3/qos2-outbound-flow': 'drop-pubrel',
  '4.7.1/multi-level-wildcard': 'drop-publish',
  '4.7.1/single-level-wildcard': 'rewrite-topic',
  '4.7.2/wildcard-skips-dollar-topics': 'dollar-leak',
};
