import { afterAll, beforeAll } from 'vitest';
import { startBroker } from '../../reference-broker/index.js';
import type { CaseResult } from '../../src/report/model.js';
import { loadScenarios } from '../../src/scenario/loader.js';
import type { ScenarioFile } from '../../src/scenario/model.js';
import { defaultSpecsDir } from '../../src/scenario/paths.js';
import type { PlannedCase } from '../../src/scenario/runner.js';
import { planCases } from '../../src/scenario/select.js';

/**
 * Everyone may do everything (anonymous clients included) except the second identity, which the ACL cases
 * (specs/3.3.5-publish-authorization.yaml, 3.8.4-subscribe-authorization.yaml) need denied.
 */
const ACL_CONFIG = {
  users: [{ username: 'denied', password: 'pw2' }],
  allowAnonymous: true,
  acl: [
    { topic: '#', access: 'readwrite' as const, allow: false, username: 'denied' },
    { topic: '#', access: 'readwrite' as const },
  ],
  // 5.0 limits announced in CONNACK, so that the cases going past them (specs/3.2.2.3-limits-exceeded.yaml)
  // run here instead of being skipped.
  limits: { receiveMaximum: 20, maxPacketSize: 256 * 1024 },
};

/** The run options that give the ACL cases their (denied) second identity. */
export const SECOND_IDENTITY = { username2: 'denied', password2: 'pw2' };

export interface ScenarioSetup {
  readonly files: ScenarioFile[];
  /**
   * Every case run over TCP against one node (the MQTT over WebSocket cases: test/websocket-cases.test.ts; the
   * cluster cases: test/cluster.test.ts).
   */
  readonly planned: PlannedCase[];
  readonly broker: { host: string; port: number; close(): Promise<void> };
}

/**
 * Loads the bundled scenarios and starts a reference broker (with the ACL above) for the calling test file;
 * stops it after the file. Call at the top level of a test file; read the fields inside tests.
 */
export function scenarioSetup(): ScenarioSetup {
  const s = {} as { files: ScenarioFile[]; planned: PlannedCase[]; broker: ScenarioSetup['broker'] };
  beforeAll(async () => {
    s.files = loadScenarios([defaultSpecsDir()]);
    s.planned = planCases(s.files, { protocols: ['3.1.1', '5.0'] }).filter(
      (p) => p.scenario.transport !== 'websocket' && p.scenario.cluster !== true,
    );
    s.broker = await startBroker({ host: '127.0.0.1', port: 0, config: ACL_CONFIG });
  });
  afterAll(async () => {
    await s.broker?.close();
  });
  return s;
}

/** One line per result, for assertion messages. */
export function summary(results: CaseResult[]): string {
  return results
    .map(
      (r) => `${r.status} ${r.protocol} ${r.id}: ${r.message ?? ''} ${r.expected ?? ''} | ${r.actual ?? ''}`,
    )
    .join('\n');
}
