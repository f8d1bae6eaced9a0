import { AUTH_CASE_FAULTS, AUTH_FAULTS } from './auth.js';
import { CONNECT_CASE_FAULTS, CONNECT_FAULTS } from './connect.js';
import { CORE_CASE_FAULTS, CORE_FAULTS } from './core.js';
import { MALFORMED_CASE_FAULTS, MALFORMED_FAULTS } from './malformed.js';
import { PUBLISH_CASE_FAULTS, PUBLISH_FAULTS } from './publish.js';
import { SUBSCRIBE_CASE_FAULTS, SUBSCRIBE_FAULTS } from './subscribe.js';
import { TIMING_CASE_FAULTS, TIMING_FAULTS } from './timing.js';
import type { FaultDef } from './types.js';
import { V5_CONNECT_CASE_FAULTS, V5_CONNECT_FAULTS } from './v5-connect.js';
import { V5_LIMITS_CASE_FAULTS, V5_LIMITS_FAULTS } from './v5-limits.js';
import { V5_PUBLISH_CASE_FAULTS, V5_PUBLISH_FAULTS } from './v5-publish.js';

/**
 * Every fault of the faulty proxy, by name. Each area keeps its own file (connect, publish, subscribe,
 * malformed, timing) so that cases and their faults are added side by side.
 */
export const FAULTS = {
  ...CORE_FAULTS,
  ...CONNECT_FAULTS,
  ...PUBLISH_FAULTS,
  ...SUBSCRIBE_FAULTS,
  ...MALFORMED_FAULTS,
  ...TIMING_FAULTS,
  ...V5_CONNECT_FAULTS,
  ...V5_PUBLISH_FAULTS,
  ...AUTH_FAULTS,
  ...V5_LIMITS_FAULTS,
} satisfies Record<string, FaultDef>;

export type Fault = keyof typeof FAULTS;

type CaseFaults = Record<string, Fault | Fault[]>;

/**
 * The fault (or faults, one per way the rule can be broken) that makes each case fail: the proof that the
 * case can fail.
 */
export const CASE_FAULTS: CaseFaults = {
  ...CORE_CASE_FAULTS,
  ...(CONNECT_CASE_FAULTS as CaseFaults),
  ...(PUBLISH_CASE_FAULTS as CaseFaults),
  ...(SUBSCRIBE_CASE_FAULTS as CaseFaults),
  ...(MALFORMED_CASE_FAULTS as CaseFaults),
  ...(TIMING_CASE_FAULTS as CaseFaults),
  ...(V5_CONNECT_CASE_FAULTS as CaseFaults),
  ...(V5_PUBLISH_CASE_FAULTS as CaseFaults),
  ...(AUTH_CASE_FAULTS as CaseFaults),
  ...(V5_LIMITS_CASE_FAULTS as CaseFaults),
};
