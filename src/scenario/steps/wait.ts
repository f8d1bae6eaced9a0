import { setTimeout as sleep } from 'node:timers/promises';
import type { WaitStep } from '../model.js';
import { S } from '../schema.js';
import type { StepDefinition } from './types.js';

/** Lets time pass; only for cases where time is the subject (keep-alive, expiry). */
export const waitStep: StepDefinition<WaitStep> = {
  kind: 'wait',
  schema: S.object({ ms: S.req(S.int(0, 600_000)) }),
  build(v, pos) {
    return { kind: 'wait', pos, ms: v.ms as number };
  },
  async run(step, ctx) {
    await sleep(step.ms, undefined, { signal: ctx.opts.signal }).catch(() => undefined);
  },
};
