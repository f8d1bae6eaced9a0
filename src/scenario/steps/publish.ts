import { performance } from 'node:perf_hooks';
import { describeEvent } from '../../client/match.js';
import type { Packet, PublishPacket, QoS } from '../../codec/index.js';
import type { CaseClient, CaseContext } from '../context.js';
import { ExpectationFailure } from '../errors.js';
import type { PublishStep } from '../model.js';
import { S } from '../schema.js';
import { hex2, propertiesSchema } from './common.js';
import { checkServerLimits } from './connect.js';
import type { StepDefinition } from './types.js';

/**
 * Publishes and, unless `ack: false`, completes the QoS exchange: QoS 1 waits for PUBACK, QoS 2 for PUBREC,
 * sends PUBREL and waits for PUBCOMP. Packets arriving meanwhile stay for later expect steps.
 */
export const publishStep: StepDefinition<PublishStep> = {
  kind: 'publish',
  schema: S.object({
    as: S.req(S.string),
    topic: S.req(S.string),
    payload: S.bytes,
    qos: S.int(0, 2),
    retain: S.bool,
    dup: S.bool,
    packetId: S.int(1, 65535),
    properties: propertiesSchema,
    ack: S.bool,
  }),
  build(v, pos) {
    const step: PublishStep = {
      kind: 'publish',
      as: v.as as string,
      pos,
      topic: v.topic as string,
      payload: (v.payload as Buffer | undefined) ?? Buffer.alloc(0),
      qos: ((v.qos as number | undefined) ?? 0) as QoS,
      retain: (v.retain as boolean | undefined) ?? false,
      dup: (v.dup as boolean | undefined) ?? false,
      ack: (v.ack as boolean | undefined) ?? true,
    };
    if (v.packetId !== undefined) step.packetId = v.packetId as number;
    if (v.properties) step.properties = v.properties as PublishStep['properties'] & object;
    return step;
  },
  async run(step, ctx) {
    const client = ctx.client(step.as, step.pos);
    const packet: PublishPacket = {
      type: 'publish',
      topic: ctx.render(step.topic),
      payload: ctx.render(step.payload),
      qos: step.qos,
      retain: step.retain,
      dup: step.dup,
    };
    if (step.qos > 0) packet.packetId = step.packetId ?? client.packetId();
    if (ctx.version === 5) packet.properties = ctx.render(step.properties) ?? {};
    checkServerLimits(ctx, client, packet);
    client.raw.note(`step publish (${step.pos.file}:${step.pos.line})`);
    client.raw.send(packet);
    if (!step.ack || step.qos === 0) return;
    const id = packet.packetId!;
    if (step.qos === 1) {
      await awaitAck(ctx, client, 'puback', id, packet);
      return;
    }
    await awaitAck(ctx, client, 'pubrec', id, packet);
    const pubrel: Packet =
      ctx.version === 5
        ? { type: 'pubrel', packetId: id, reasonCode: 0, properties: {} }
        : { type: 'pubrel', packetId: id };
    client.raw.send(pubrel);
    await awaitAck(ctx, client, 'pubcomp', id, packet);
  },
};

export async function awaitAck(
  ctx: CaseContext,
  client: CaseClient,
  type: 'puback' | 'pubrec' | 'pubcomp' | 'suback' | 'unsuback',
  packetId: number,
  publish?: PublishPacket,
): Promise<Packet> {
  const sent = performance.now();
  const got = await client.waitFor((p) => p.type === type && p.packetId === packetId, ctx.stepTimeoutMs);
  if ('packet' in got) ctx.observeRoundTrip(performance.now() - sent);
  const expected = `${type.toUpperCase()} {packetId: ${packetId}}`;
  if ('packet' in got) {
    const rc = (got.packet as { reasonCode?: number }).reasonCode;
    if (ctx.version === 5 && rc !== undefined && rc >= 0x80 && publish) {
      if (rc === 0x9a && publish.retain)
        ctx.skip(`the broker does not support retained messages (${hex2(rc)})`);
      if (rc === 0x9b) ctx.skip(`the broker does not support QoS ${publish.qos} (${hex2(rc)})`);
      if (rc === 0x87) ctx.skip(`the broker does not authorize publishing to ${publish.topic} (${hex2(rc)})`);
    }
    return got.packet;
  }
  const actual = 'event' in got ? describeEvent(got.event) : `nothing within ${ctx.stepTimeoutMs} ms`;
  throw new ExpectationFailure(
    `${client.name}: no ${type.toUpperCase()} for packet id ${packetId}`,
    expected,
    actual,
  );
}
