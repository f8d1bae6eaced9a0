import type { FaultDef } from './types.js';

/** Faults for the timing cases: each breaks exactly one rule (say which in `describe`). */
export const TIMING_FAULTS = {} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area) that makes it fail. */
export const TIMING_CASE_FAULTS: Record<string, string> = {};
