import type { FaultDef } from './types.js';

/** Faults for the malformed cases: each breaks exactly one rule (say which in `describe`). */
export const MALFORMED_FAULTS = {} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area) that makes it fail. */
export const MALFORMED_CASE_FAULTS: Record<string, string> = {};
