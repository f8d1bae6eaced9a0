import type { AddressInfo } from 'node:net';
import { Broker } from './broker.js';
import type { BrokerConfig } from './config.js';
import { Logger, type LogLevel } from './logger.js';

export type { AclRule, BrokerConfig, BrokerLimits, BrokerUser } from './config.js';
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
}

/** What `startBroker` actually returns: the contract plus diagnostics. */
export interface RunningReferenceBroker extends RunningBroker {
  stats(): BrokerStats;
}

/** Starts the reference broker (MQTT 3.1.1 and 5.0 on one TCP listener). */
export async function startBroker(opts: BrokerOptions = {}): Promise<RunningReferenceBroker> {
  const host = opts.host ?? '127.0.0.1';
  const log = new Logger(opts.logLevel ?? 'silent');
  const broker = new Broker(opts.config ?? {}, log);
  const server = broker.createTcpServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info(`listening on ${host}:${port}`);
  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    stats: () => ({
      connections: broker.connections.size,
      sessions: broker.sessions.size,
      retained: broker.retained.size,
    }),
    close: () => {
      closed ??= broker.close();
      return closed;
    },
  };
}
