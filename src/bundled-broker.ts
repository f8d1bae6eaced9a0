/** A running bundled reference broker, as the CLI commands use it when no target is given. */
export interface BundledBroker {
  host: string;
  port: number;
  /** How reports name it: `bundled reference broker 127.0.0.1:PORT`. */
  display: string;
  close(): Promise<void>;
}

/**
 * Starts the bundled reference broker, silent, on a free loopback port. Imported lazily: only runs without a
 * target need it, and the published package keeps the broker out of the load path otherwise.
 */
export async function startBundledBroker(): Promise<BundledBroker> {
  const mod = (await import('../reference-broker/index.js')) as {
    startBroker(o: { host?: string; port?: number; logLevel?: string }): Promise<{
      host: string;
      port: number;
      close(): Promise<void>;
    }>;
  };
  const b = await mod.startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
  return {
    host: b.host,
    port: b.port,
    display: `bundled reference broker ${b.host}:${b.port}`,
    close: () => b.close(),
  };
}
