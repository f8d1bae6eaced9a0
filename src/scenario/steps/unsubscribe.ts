import type { Properties, UnsubscribePacket } from '../../codec/index.js';
import type { UnsubscribeStep } from '../model.js';
import { S } from '../schema.js';
import { propertiesSchema } from './common.js';
import { awaitAck } from './publish.js';
import type { StepDefinition } from './types.js';

/** Unsubscribes (`filter` or `filters`) and, unless `ack: false`, waits for the UNSUBACK. */
export const unsubscribeStep: StepDefinition<UnsubscribeStep> = {
  kind: 'unsubscribe',
  schema: S.object({
    as: S.req(S.string),
    filter: S.string,
    filters: S.array(S.string, 1),
    packetId: S.int(1, 65535),
    properties: propertiesSchema,
    ack: S.bool,
  }),
  check(v) {
    if ((v.filter === undefined) === (v.filters === undefined)) {
      return 'unsubscribe: give exactly one of "filter" or "filters"';
    }
    return undefined;
  },
  build(v, pos) {
    const step: UnsubscribeStep = {
      kind: 'unsubscribe',
      as: v.as as string,
      pos,
      filters: v.filter ? [v.filter as string] : (v.filters as string[]),
      ack: (v.ack as boolean | undefined) ?? true,
    };
    if (v.packetId !== undefined) step.packetId = v.packetId as number;
    if (v.properties) step.properties = v.properties as Properties;
    return step;
  },
  async run(step, ctx) {
    const client = ctx.client(step.as, step.pos);
    const packet: UnsubscribePacket = {
      type: 'unsubscribe',
      packetId: step.packetId ?? client.packetId(),
      topics: ctx.render(step.filters),
    };
    if (ctx.version === 5) packet.properties = ctx.render(step.properties) ?? {};
    client.raw.note(`step unsubscribe (${step.pos.file}:${step.pos.line})`);
    client.raw.send(packet);
    if (step.ack) await awaitAck(ctx, client, 'unsuback', packet.packetId);
  },
};
