import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { Broker } from './broker.js';
import type { BrokerConfig, ListenerConfig } from './config.js';
import { Logger, type LogLevel } from './logger.js';
import { MqttWebSocketServer } from './websocket.js';

export type { AclRule, BrokerConfig, BrokerLimits, BrokerUser, ListenerConfig } from './config.js';
export { BrokerConfigError, DEFAULT_LIMITS, loadBrokerConfig, validateBrokerConfig } from './config.js';
export type { LogLevel } from './logger.js';

export interface BrokerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** TCP port; 0 picks a free one (default 0). */
  port?: number;
  config?: BrokerConfig;
  logLevel?: LogLevel;
}

export interface RunningBroker {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Counters for tests and diagnostics (open connections, live sessions, retained messages). */
export interface BrokerStats {
  connections: number;
  sessions: number;
  retained: number;
  /** Exceptions caught at a connection boundary; anything but 0 is a broker bug. */
  internalErrors: number;
}

/** What `startBroker` actually returns: the contract plus diagnostics and the extra listeners' addresses. */
export interface RunningReferenceBroker extends RunningBroker {
  stats(): BrokerStats;
  /** Every listener, the main TCP one first, with the port actually bound. */
  listeners: Array<{ type: ListenerConfig['type']; host: string; port: number }>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function tlsOptions(l: ListenerConfig): TlsOptions {
  const opts: TlsOptions = { cert: readFileSync(l.cert!), key: readFileSync(l.key!) };
  if (l.ca !== undefined) {
    opts.ca = readFileSync(l.ca);
    opts.requestCert = true;
    opts.rejectUnauthorized = true;
  }
  return opts;
}

/** Every transport is an ordered, lossless byte stream [MQTT-7.1.1-1] (5.0 [MQTT-4.2.0-1]). */
function createListener(broker: Broker, l: ListenerConfig): Server {
  switch (l.type) {
    case 'tcp':
      return createServer({ noDelay: true }, (s) => broker.accept(s));
    case 'tls':
      return createTlsServer(tlsOptions(l), (s) => broker.accept(s));
    case 'ws':
    case 'wss': {
      const http = l.type === 'ws' ? createHttpServer() : createHttpsServer(tlsOptions(l));
      http.on('request', (_req, res) => {
        res.writeHead(426, { 'Content-Type': 'text/plain' }).end('MQTT over WebSocket only\n');
      });
      const wss = new MqttWebSocketServer(broker.limits.maxPacketSize + 16);
      http.on('upgrade', (req, socket, head) => {
        wss.handleUpgrade(req, socket as Socket, head, (stream) => broker.accept(stream));
      });
      return http;
    }
  }
}

/** Starts the reference broker: MQTT 3.1.1 and 5.0 on one TCP listener, plus any configured listeners. */
export async function startBroker(opts: BrokerOptions = {}): Promise<RunningReferenceBroker> {
  const host = opts.host ?? '127.0.0.1';
  const log = new Logger(opts.logLevel ?? 'silent');
  const config = opts.config ?? {};
  const broker = new Broker(config, log);
  const specs: ListenerConfig[] = [{ type: 'tcp', host, port: opts.port ?? 0 }, ...(config.listeners ?? [])];
  const listeners: RunningReferenceBroker['listeners'] = [];
  try {
    for (const l of specs) {
      const server = createListener(broker, l);
      broker.addServer(server);
      const lhost = l.host ?? host;
      const port = await listen(server, l.port ?? 0, lhost);
      // Accept-time errors (EMFILE and the like) are logged, never thrown.
      server.on('error', (err) => log.error(`${l.type} listener error: ${err.message}`));
      listeners.push({ type: l.type, host: lhost, port });
      log.info(`listening (${l.type}) on ${lhost}:${port}`);
    }
  } catch (err) {
    await broker.close();
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    host,
    port: listeners[0]!.port,
    listeners,
    stats: () => ({
      connections: broker.connections.size,
      sessions: broker.sessions.size,
      retained: broker.retained.size,
      internalErrors: broker.internalErrors,
    }),
    close: () => {
      closed ??= broker.close();
      return closed;
    },
  };
}
