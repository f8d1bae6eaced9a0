import type { CloseStep } from '../model.js';
import { S } from '../schema.js';
import type { StepDefinition } from './types.js';

/** Drops the connection without DISCONNECT: a TCP reset by default (a crashed client), or a FIN. */
export const closeStep: StepDefinition<CloseStep> = {
  kind: 'close',
  schema: S.object({ as: S.req(S.string), abrupt: S.bool }),
  build(v, pos) {
    return { kind: 'close', as: v.as as string, pos, abrupt: (v.abrupt as boolean | undefined) ?? true };
  },
  async run(step, ctx) {
    const client = ctx.client(step.as, step.pos);
    client.raw.note(`step close (${step.abrupt ? 'reset' : 'FIN'})`);
    if (step.abrupt) await client.raw.destroy();
    else await client.raw.close(Math.min(ctx.stepTimeoutMs, 2000));
  },
};
