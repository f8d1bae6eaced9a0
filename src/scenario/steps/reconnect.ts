import type { ConnectSpec, ReconnectStep } from '../model.js';
import { S } from '../schema.js';
import { connectFields, openAndConnect, toConnectSpec } from './connect.js';
import type { StepDefinition } from './types.js';

/**
 * Opens a new connection for a client that connected before, with the same client identifier and CONNECT
 * options unless the step overrides them (typically `clean: false` to resume a session). A connection still
 * open is closed first (FIN, no DISCONNECT).
 */
export const reconnectStep: StepDefinition<ReconnectStep> = {
  kind: 'reconnect',
  schema: S.object({ ...connectFields, as: S.req(S.string) }),
  build(v, pos) {
    return { kind: 'reconnect', as: v.as as string, pos, ...toConnectSpec(v) };
  },
  async run(step, ctx) {
    const previous = ctx.client(step.as, step.pos);
    if (!previous.raw.closed) await previous.raw.close(1000);
    const { kind: _k, as: _a, pos: _p, protocols: _pr, ...changes } = step;
    const spec: ConnectSpec = { ...previous.connectSpec, ...ctx.render(changes) };
    await openAndConnect(ctx, step.as, spec, step.pos);
  },
};
