/**
 * Developer tool: runs selected cases against a real broker, optionally through one fault of the faulty
 * proxy, and prints each verdict with its message. Not a test; used while writing cases.
 *
 *   npx tsx test/helpers/try-cases.ts [--broker reference|mosquitto|aedes] [--fault NAME]
 *       [--only SELECTOR,...] [--protocol 3.1.1|5.0] [--concurrency N] [--timeout MS] [--log]
 *       [--specs DIR ...] (more scenario folders beside specs/, e.g. drafts kept out of the shared tree)
 *       [--broker-config FILE] (reference broker configuration, YAML or JSON: limits, users, ...)
 *       [--node-self] (the broker is node 2 as well: the cluster cases run instead of being skipped)
 */
import { parseArgs } from 'node:util';
import { loadBrokerConfig, startBroker } from '../../reference-broker/index.js';
import { loadScenarios } from '../../src/scenario/loader.js';
import type { ProtocolName } from '../../src/scenario/model.js';
import { defaultSpecsDir } from '../../src/scenario/paths.js';
import { runCases } from '../../src/scenario/runner.js';
import { planCases, splitSelectors } from '../../src/scenario/select.js';
import { startAedes } from './aedes.js';
import { FAULTS, type Fault, startFaultyProxy } from './faulty-proxy.js';
import { startMosquitto } from './mosquitto.js';

const { values } = parseArgs({
  options: {
    broker: { type: 'string', default: 'reference' },
    fault: { type: 'string' },
    only: { type: 'string', multiple: true },
    protocol: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    timeout: { type: 'string', default: '2000' },
    log: { type: 'boolean', default: false },
    specs: { type: 'string', multiple: true },
    'broker-config': { type: 'string' },
    'node-self': { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const broker =
    values.broker === 'mosquitto'
      ? await startMosquitto()
      : values.broker === 'aedes'
        ? await startAedes()
        : await (async () => {
            const config = values['broker-config'] ? loadBrokerConfig(values['broker-config']) : undefined;
            const b = await startBroker({ host: '127.0.0.1', port: 0, ...(config ? { config } : {}) });
            return { host: b.host, port: b.port, stop: () => b.close() };
          })();
  const fault = values.fault as Fault | undefined;
  if (fault && !(fault in FAULTS)) throw new Error(`unknown fault ${fault}`);
  const proxy = fault ? await startFaultyProxy(broker, fault) : undefined;
  try {
    const files = loadScenarios([defaultSpecsDir(), ...(values.specs ?? [])]);
    const protocols: ProtocolName[] = values.protocol ? [values.protocol as ProtocolName] : ['3.1.1', '5.0'];
    const only = splitSelectors(values.only);
    const planned = planCases(files, { protocols, ...(only.length ? { only } : {}) });
    const started = Date.now();
    const direct = proxy ?? broker;
    const out = await runCases(planned, {
      // --node-self: the broker is also node 2, a "cluster" in which the cluster cases run.
      target: values['node-self']
        ? { host: direct.host, port: direct.port, nodes: [{ host: direct.host, port: direct.port }] }
        : direct,
      concurrency: Number(values.concurrency),
      stepTimeoutMs: Number(values.timeout),
    });
    for (const r of out.results) {
      console.log(
        `${r.status.padEnd(10)} ${r.protocol.padEnd(5)} ${r.id} (${r.durationMs} ms) ${r.message ?? ''}`,
      );
      if (r.status !== 'passed' && (r.expected || r.actual))
        console.log(`           expected: ${r.expected ?? ''}\n           actual:   ${r.actual ?? ''}`);
      if (values.log && r.wireLog) console.log(r.wireLog);
    }
    const counts = new Map<string, number>();
    for (const r of out.results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    console.log(
      `${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')} in ${Date.now() - started} ms${out.stoppedBy ? ` (stopped: ${out.stoppedBy})` : ''}`,
    );
  } finally {
    await proxy?.close();
    await broker.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
