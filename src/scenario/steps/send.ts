import type { PacketType } from '../../codec/index.js';
import { HarnessError } from '../errors.js';
import type { SendStep } from '../model.js';
import { S } from '../schema.js';
import { completePacket, overridesSchema, resolveLast, toOverrides, typedPacketSchema } from './common.js';
import { checkServerLimits } from './connect.js';
import type { StepDefinition } from './types.js';

/**
 * Writes one packet given by its fields (completed with valid defaults, then encoded with any overrides),
 * or raw hex bytes exactly as written. Waits for nothing.
 */
export const sendStep: StepDefinition<SendStep> = {
  kind: 'send',
  schema: S.object({
    as: S.req(S.string),
    packet: typedPacketSchema,
    hex: S.hex,
    overrides: overridesSchema,
  }),
  check(v) {
    if ((v.packet === undefined) === (v.hex === undefined))
      return 'send: give exactly one of "packet" or "hex"';
    if (v.hex !== undefined && v.overrides !== undefined) return 'send: "overrides" apply to "packet" only';
    return undefined;
  },
  build(v, pos) {
    const step: SendStep = { kind: 'send', as: v.as as string, pos };
    if (v.packet) step.packet = v.packet as SendStep['packet'] & { type: PacketType };
    if (v.hex) step.hex = v.hex as Buffer;
    if (v.overrides) step.overrides = toOverrides(v.overrides as Record<string, unknown>);
    return step;
  },
  async run(step, ctx) {
    const client = ctx.client(step.as, step.pos);
    client.raw.note(`step send (${step.pos.file}:${step.pos.line})`);
    if (step.hex) {
      // Raw bytes go out exactly as written: no templating inside them.
      client.raw.sendRaw(step.hex);
      return;
    }
    if (!step.packet) {
      throw new HarnessError('BAD_STEP', `${step.pos.file}:${step.pos.line}: send needs "packet" or "hex"`);
    }
    const fields = ctx.render(step.packet);
    if ((fields as { packetId?: unknown }).packetId === 'unused') {
      throw new HarnessError(
        'BAD_STEP',
        `${step.pos.file}:${step.pos.line}: "packetId: unused" is for expect only`,
      );
    }
    const packet = completePacket(resolveLast(fields, client.lastPacketId), ctx.version);
    if (packet.type === 'publish') checkServerLimits(ctx, client, packet);
    client.raw.send(packet, step.overrides ? { overrides: step.overrides } : {});
    client.noteSent(packet);
  },
};
