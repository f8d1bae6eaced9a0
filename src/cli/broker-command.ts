import { parseArgs } from 'node:util';
import {
  type BrokerConfig,
  BrokerConfigError,
  type LogLevel,
  loadBrokerConfig,
  type RunningReferenceBroker,
  startBroker,
} from '../../reference-broker/index.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './main.js';

export const BROKER_USAGE = `Usage: mqtt-conform broker [options]

Starts the bundled reference broker (MQTT 3.1.1 and 5.0 on one listener) until SIGINT or SIGTERM.

Options:
  --host HOST          interface to listen on (default 127.0.0.1)
  --port PORT          TCP port (default 1883; 0 picks a free one)
  --config FILE        YAML/JSON broker config: users, allowAnonymous, acl, limits, listeners (docs/broker.md)
  --log-level LEVEL    silent|error|warn|info|debug (default info)
  -h, --help
`;

const LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];

/** `mqtt-conform broker ...`: runs the reference broker in the foreground; resolves with the exit code. */
export async function runBrokerCommand(argv: string[], io: CliIo): Promise<number> {
  let values: { host?: string; port?: string; config?: string; 'log-level'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr(`mqtt-conform broker: ${(err as Error).message}\n\n${BROKER_USAGE}`);
    return EXIT.USAGE;
  }
  if (values.help) {
    io.stdout(BROKER_USAGE);
    return EXIT.OK;
  }
  const host = values.host ?? '127.0.0.1';
  const port = Number(values.port ?? 1883);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    io.stderr(`mqtt-conform broker: --port must be a port number (0-65535), got ${values.port}\n`);
    return EXIT.USAGE;
  }
  const logLevel = (values['log-level'] ?? 'info') as LogLevel;
  if (!LEVELS.includes(logLevel)) {
    io.stderr(`mqtt-conform broker: --log-level must be one of ${LEVELS.join(', ')}\n`);
    return EXIT.USAGE;
  }
  let config: BrokerConfig | undefined;
  if (values.config !== undefined) {
    try {
      config = loadBrokerConfig(values.config);
    } catch (err) {
      if (err instanceof BrokerConfigError) {
        io.stderr(`mqtt-conform broker: ${err.message}\n`);
        return EXIT.USAGE;
      }
      throw err;
    }
  }

  let broker: RunningReferenceBroker;
  try {
    broker = await startBroker({ host, port, logLevel, ...(config ? { config } : {}) });
  } catch (err) {
    io.stderr(`mqtt-conform broker: cannot listen on ${host}:${port}: ${(err as Error).message}\n`);
    return EXIT.USAGE;
  }
  for (const l of broker.listeners) {
    io.stdout(`mqtt-conform reference broker listening on ${l.type} ${l.host}:${l.port}\n`);
  }
  const signal = await new Promise<'SIGINT' | 'SIGTERM'>((resolve) => {
    const off = io.onSignal((s) => {
      off();
      resolve(s);
    });
  });
  io.stdout(`${signal}: stopping the broker\n`);
  await broker.close();
  return EXIT.OK;
}
