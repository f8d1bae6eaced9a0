import type { ConnectSpec, ReconnectStep } from '../model.js';
import { S } from '../schema.js';
import { connectFields, openAndConnect, toConnectSpec } from './connect.js';
import type { StepDefinition } from './types.js';

/**
 * Opens a new connection for a client that connected before, with the same client identifier and CONNECT
 * options unless the step overrides them (typically `clean: false` to resume a session). A connection still
 * open is closed first (FIN, no DISCONNECT). The client's last received packet identifier carries over, and
 * when the session is resumed, so do the identifiers of the PUBLISH packets it has not acknowledged.
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
    const client = await openAndConnect(ctx, step.as, spec, step.pos);
    // `packetId: last` still means the last identifier this client received; a resumed session keeps the
    // broker's unacknowledged identifiers in use (`packetId: unused`).
    client.lastPacketId ??= previous.lastPacketId;
    if (client.accepted && client.sessionPresent)
      for (const id of previous.unackedIds) client.unackedIds.add(id);
  },
};
