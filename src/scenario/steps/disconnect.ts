import type { DisconnectPacket, Properties } from '../../codec/index.js';
import type { DisconnectStep } from '../model.js';
import { S } from '../schema.js';
import { propertiesSchema } from './common.js';
import type { StepDefinition } from './types.js';

/** Sends DISCONNECT and then closes the connection, as a client must [MQTT-3.14.4-1]. */
export const disconnectStep: StepDefinition<DisconnectStep> = {
  kind: 'disconnect',
  schema: S.object({ as: S.req(S.string), reasonCode: S.int(0, 255), properties: propertiesSchema }),
  build(v, pos) {
    const step: DisconnectStep = { kind: 'disconnect', as: v.as as string, pos };
    if (v.reasonCode !== undefined) step.reasonCode = v.reasonCode as number;
    if (v.properties) step.properties = v.properties as Properties;
    return step;
  },
  async run(step, ctx) {
    const client = ctx.client(step.as, step.pos);
    const packet: DisconnectPacket =
      ctx.version === 5
        ? {
            type: 'disconnect',
            reasonCode: step.reasonCode ?? 0,
            properties: ctx.render(step.properties) ?? {},
          }
        : { type: 'disconnect' };
    client.raw.note(`step disconnect (${step.pos.file}:${step.pos.line})`);
    client.raw.send(packet);
    await client.raw.close(Math.min(ctx.stepTimeoutMs, 2000));
  },
};
