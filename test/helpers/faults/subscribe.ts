import type { FaultDef } from './types.js';

/** Faults for the subscribe cases: each breaks exactly one rule (say which in `describe`). */
export const SUBSCRIBE_FAULTS = {} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area) that makes it fail. */
export const SUBSCRIBE_CASE_FAULTS: Record<string, string> = {};
