import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../reference-broker/index.js';
import { main } from '../src/cli/main.js';
import type { CaseResult } from '../src/report/model.js';
import { loadScenarioFile, loadScenarios } from '../src/scenario/loader.js';
import { defaultSpecsDir } from '../src/scenario/paths.js';
import { type PlannedCase, runCases } from '../src/scenario/runner.js';
import { planCases } from '../src/scenario/select.js';
import { type ClusterBridge, startClusterBridge } from './helpers/cluster-bridge.js';
import { freePort } from './helpers/free-port.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * The cluster cases (`node: 2` in a connect step, or `cluster: true`): skipped against one node; against two
 * reference brokers joined by a test-only bridge (test/helpers/cluster-bridge.ts) the delivery, retained and
 * shared-subscription cases pass and the session cases fail (the bridge shares no sessions); the session cases pass against a
 * "cluster" whose two nodes are the same broker; every case fails against a faulty target: two unbridged
 * brokers, or a bridge that drops the RETAIN flag.
 */
const files = loadScenarios([defaultSpecsDir()]);
const clusterCases: PlannedCase[] = planCases(files, { protocols: ['3.1.1', '5.0'] }).filter(
  (p) => p.scenario.cluster === true,
);
/** The judged (must/should) cluster cases; the info one is checked on its own below. */
const planned = clusterCases.filter((p) => p.scenario.level !== 'info');
const ONE_MEMBER = '4.8.2/cluster-shared-message-to-one-member';
const observed = clusterCases.filter((p) => p.scenario.id === ONE_MEMBER);
const ids = (...want: string[]): PlannedCase[] => planned.filter((p) => want.includes(p.scenario.id));

const DELIVERY = [
  '4.5.0/cluster-delivered-across-nodes',
  '3.3.1/cluster-retained-on-other-node',
  '3.3.1/cluster-retained-cleared-from-other-node',
  '4.8.2/cluster-shared-member-on-other-node',
];
const SESSIONS = ['3.1.4/cluster-takeover-across-nodes', '3.1.2/cluster-session-resumed-on-other-node'];

type Broker = Awaited<ReturnType<typeof startBroker>>;
let a: Broker;
let b: Broker;
beforeAll(async () => {
  [a, b] = await Promise.all([
    startBroker({ host: '127.0.0.1', port: 0 }),
    startBroker({ host: '127.0.0.1', port: 0 }),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

function summary(results: CaseResult[]): string {
  return results
    .map(
      (r) => `${r.status} ${r.protocol} ${r.id}: ${r.message ?? ''} ${r.expected ?? ''} | ${r.actual ?? ''}`,
    )
    .join('\n');
}

const node = (x: Broker) => ({ host: x.host, port: x.port });
const cluster = (first: Broker, second: Broker) => ({ ...node(first), nodes: [node(second)] });
const statuses = (results: CaseResult[]) => results.map((r) => `${r.protocol} ${r.id} ${r.status}`).sort();
const all = (cases: PlannedCase[], status: string) =>
  cases.map((p) => `${p.protocol} ${p.scenario.id} ${status}`).sort();

async function withBridge<T>(
  opts: Parameters<typeof startClusterBridge>[2],
  fn: () => Promise<T>,
): Promise<T> {
  const bridge: ClusterBridge = await startClusterBridge(node(a), node(b), opts);
  try {
    return await fn();
  } finally {
    await bridge.close();
  }
}

describe('cluster cases (--node)', () => {
  it('exist for delivery, retained messages, shared subscriptions (5.0), sessions and takeover', () => {
    const v5only = ['4.8.2/cluster-shared-member-on-other-node', ONE_MEMBER];
    expect(clusterCases.map((p) => `${p.protocol} ${p.scenario.id}`).sort()).toEqual(
      [...DELIVERY, ...SESSIONS, ONE_MEMBER]
        .flatMap((id) => (v5only.includes(id) ? [`5.0 ${id}`] : [`3.1.1 ${id}`, `5.0 ${id}`]))
        .sort(),
    );
  });

  it('observe (info) whether a shared message goes to one member only: yes on one broker, no through the bridge', async () => {
    const met = await runCases(observed, { target: cluster(a, a), stepTimeoutMs: 1000 });
    expect(
      met.results.map((r) => [r.status, r.message]),
      summary(met.results),
    ).toEqual([['info', 'observed: the broker behaves as the case describes']]);
    // Both members get every message: each node hands it to its own member.
    await withBridge({}, async () => {
      const out = await runCases(observed, { target: cluster(a, b), stepTimeoutMs: 1000 });
      expect(out.results.map((r) => r.status)).toEqual(['info']);
      expect(out.results[0]!.message, summary(out.results)).not.toContain('behaves as the case describes');
    });
  }, 30_000);

  it('are the cases with a node above 1 in a connect or reconnect step, or cluster: true', () => {
    const file = loadScenarioFile(
      'x.yaml',
      [
        'section: "4.5.0"',
        'title: t',
        'cases:',
        '  - { id: a, title: t, statements: [MQTT-4.5.0-1], steps: [{ connect: { as: c, node: 2 } }] }',
        '  - { id: b, title: t, statements: [MQTT-4.5.0-1], steps: [{ connect: { as: c } }, { reconnect: { as: c, node: 3 } }] }',
        '  - { id: c, title: t, statements: [MQTT-4.5.0-1], cluster: true, steps: [{ connect: { as: c } }] }',
        '  - { id: d, title: t, statements: [MQTT-4.5.0-1], steps: [{ connect: { as: c, node: 1 } }] }',
      ].join('\n'),
    );
    expect(file.cases.map((c) => c.cluster ?? false)).toEqual([true, true, true, false]);
  });

  it('are skipped with a reason against a single node', async () => {
    const out = await runCases(planned, { target: node(a), stepTimeoutMs: 1000 });
    expect(statuses(out.results), summary(out.results)).toEqual(all(planned, 'skipped'));
    for (const r of out.results) expect(r.message).toMatch(/two or more nodes \(--node host:port\)/);
  }, 30_000);

  it('all pass against a cluster whose two nodes are the same broker', async () => {
    const out = await runCases(planned, { target: cluster(a, a), stepTimeoutMs: 1000 });
    expect(statuses(out.results), summary(out.results)).toEqual(all(planned, 'passed'));
  }, 30_000);

  it('delivery, retained and shared cases pass against two bridged brokers; session cases fail (no shared sessions)', async () => {
    await withBridge({}, async () => {
      const delivery = await runCases(ids(...DELIVERY), { target: cluster(a, b), stepTimeoutMs: 1000 });
      expect(statuses(delivery.results), summary(delivery.results)).toEqual(all(ids(...DELIVERY), 'passed'));
      const sessions = await runCases(ids(...SESSIONS), { target: cluster(a, b), stepTimeoutMs: 1000 });
      expect(statuses(sessions.results), summary(sessions.results)).toEqual(all(ids(...SESSIONS), 'failed'));
    });
  }, 30_000);

  it('fail against two unbridged brokers (the retained cases are skipped: their positive controls see nothing)', async () => {
    const out = await runCases(planned, { target: cluster(a, b), stepTimeoutMs: 1000 });
    const retained = [
      '3.3.1/cluster-retained-on-other-node',
      '3.3.1/cluster-retained-cleared-from-other-node',
    ];
    for (const r of out.results) {
      expect(r.status, summary([r])).toBe(retained.includes(r.id) ? 'skipped' : 'failed');
      if (r.status === 'failed') expect(r.wireLog).toBeTruthy();
    }
  }, 30_000);

  it('the retained cases fail against a bridge that drops the RETAIN flag', async () => {
    await withBridge({ dropRetained: true }, async () => {
      const subset = ids(
        '3.3.1/cluster-retained-on-other-node',
        '3.3.1/cluster-retained-cleared-from-other-node',
      );
      const out = await runCases(subset, { target: cluster(a, b), stepTimeoutMs: 1000 });
      expect(statuses(out.results), summary(out.results)).toEqual(all(subset, 'failed'));
    });
  }, 30_000);

  it('run from the CLI with --node against the bridged pair: the session cases fail, exit 1', async () => {
    await withBridge({}, async () => {
      const dir = tempDir('mc-cluster-');
      let stdout = '';
      const code = await main(
        [
          `127.0.0.1:${a.port}`,
          '--node',
          `127.0.0.1:${b.port}`,
          '--only',
          '*/cluster-*',
          '--exclude',
          ONE_MEMBER,
          '--timeout',
          '1000',
          '--reports',
          dir,
        ],
        {
          stdout: (t) => {
            stdout += t;
          },
          stderr: () => undefined,
          isTTY: false,
          env: {},
          onSignal: () => () => undefined,
        },
      );
      expect(code, stdout).toBe(1);
      expect(stdout).toContain(`(+ node 127.0.0.1:${b.port})`);
      const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
        cases: Array<{ id: string; protocol: string; status: string }>;
      };
      const got = report.cases.map((c) => `${c.protocol} ${c.id} ${c.status}`).sort();
      expect(got).toEqual([...all(ids(...DELIVERY), 'passed'), ...all(ids(...SESSIONS), 'failed')].sort());
    });
  }, 30_000);

  it('take their nodes from the config file (nodes:), all passing on one broker given as two nodes', async () => {
    const dir = tempDir('mc-cluster-config-');
    const config = join(dir, 'mqtt-conform.config.yaml');
    writeFileSync(
      config,
      `target: 127.0.0.1:${a.port}\nnodes: [127.0.0.1:${a.port}]\nselect: { only: ["*/cluster-*"], exclude: ["${ONE_MEMBER}"] }\ntimeout: 1000\n`,
    );
    let stdout = '';
    const code = await main(['--config', config, '--reports', dir], {
      stdout: (t) => {
        stdout += t;
      },
      stderr: () => undefined,
      isTTY: false,
      env: {},
      onSignal: () => () => undefined,
    });
    expect(code, stdout).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
      cases: Array<{ status: string }>;
    };
    expect(report.cases.map((c) => c.status)).toEqual(planned.map(() => 'passed'));
  }, 30_000);

  it('are errors naming the node when a node is unreachable', async () => {
    const port = await freePort();
    const out = await runCases(planned, {
      target: { ...node(a), nodes: [{ host: '127.0.0.1', port }] },
      stepTimeoutMs: 1000,
    });
    expect(statuses(out.results), summary(out.results)).toEqual(all(planned, 'error'));
    for (const r of out.results)
      expect(r.message).toMatch(
        new RegExp(`^node 2 of the cluster \\(127\\.0\\.0\\.1:${port}\\) is unreachable`),
      );
  }, 30_000);

  it('--node without a target is a usage error (exit 2)', async () => {
    let stderr = '';
    const code = await main(['--node', '127.0.0.1:1883'], {
      stdout: () => undefined,
      stderr: (t) => {
        stderr += t;
      },
      isTTY: false,
      env: {},
      onSignal: () => () => undefined,
    });
    expect(code).toBe(2);
    expect(stderr).toContain('--node needs a target');
  });
});
