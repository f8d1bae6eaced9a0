import { FAILURE_CODE } from '../../client/match.js';
import { encode, type PacketType } from '../../codec/index.js';
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
    pieces: S.int(1, 64),
    frame: S.enum('text'),
  }),
  check(v) {
    if ((v.packet === undefined) === (v.hex === undefined))
      return 'send: give exactly one of "packet" or "hex"';
    if (v.hex !== undefined && v.overrides !== undefined) return 'send: "overrides" apply to "packet" only';
    if (v.pieces !== undefined && v.frame !== undefined) return 'send: give "pieces" or "frame", not both';
    return undefined;
  },
  build(v, pos) {
    const step: SendStep = { kind: 'send', as: v.as as string, pos };
    if (v.packet) step.packet = v.packet as SendStep['packet'] & { type: PacketType };
    if (v.hex) step.hex = v.hex as Buffer;
    if (v.overrides) step.overrides = toOverrides(v.overrides as Record<string, unknown>);
    if (v.pieces !== undefined) step.pieces = v.pieces as number;
    if (v.frame === 'text') step.frame = 'text';
    return step;
  },
  async run(step, ctx) {
    const client = ctx.client(step.as, step.pos);
    client.raw.note(`step send (${step.pos.file}:${step.pos.line})`);
    if (step.frame === 'text' && client.raw.transport !== 'websocket') {
      throw new HarnessError(
        'BAD_STEP',
        `${step.pos.file}:${step.pos.line}: "frame: text" needs a WebSocket target (mark the case transport: websocket)`,
      );
    }
    if (step.hex && step.frame === 'text') {
      client.raw.sendTextFrame(step.hex);
      return;
    }
    if (step.hex && step.pieces && step.pieces > 1) {
      for (const piece of split(step.hex, step.pieces)) client.raw.sendRaw(piece);
      return;
    }
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
    const codes = fields as { reasonCode?: unknown; reasonCodes?: unknown[] };
    if (codes.reasonCode === FAILURE_CODE || codes.reasonCodes?.includes(FAILURE_CODE)) {
      throw new HarnessError(
        'BAD_STEP',
        `${step.pos.file}:${step.pos.line}: the reason code "${FAILURE_CODE}" is for expect only`,
      );
    }
    const packet = completePacket(resolveLast(fields, client.lastPacketId), ctx.version);
    if (packet.type === 'publish') checkServerLimits(ctx, client, packet);
    if (step.frame === 'text' || (step.pieces && step.pieces > 1)) {
      const bytes = encode(packet, {
        protocolVersion: ctx.version,
        ...(step.overrides ? { overrides: step.overrides } : {}),
      });
      if (step.frame === 'text') client.raw.sendTextFrame(bytes);
      else for (const piece of split(bytes, step.pieces!)) client.raw.sendRaw(piece);
      client.noteSent(packet);
      return;
    }
    client.raw.send(packet, step.overrides ? { overrides: step.overrides } : {});
    client.noteSent(packet);
  },
};

/** `bytes` cut into `n` pieces of near-equal size (fewer when there are fewer bytes). */
function split(bytes: Buffer, n: number): Buffer[] {
  const size = Math.ceil(bytes.length / Math.min(n, bytes.length));
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}
