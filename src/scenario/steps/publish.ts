import { performance } from 'node:perf_hooks';
import { describeEvent } from '../../client/match.js';
import { encode, type Packet, type PublishPacket, type QoS } from '../../codec/index.js';
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
    exceed: S.enum('receiveMaximum', 'maximumPacketSize'),
  }),
  check(v) {
    if (v.exceed === undefined) return undefined;
    if (v.ack !== false) return 'publish: "exceed" needs "ack: false" (the broker is expected to refuse)';
    if (v.packetId !== undefined) return 'publish: "exceed" picks its own packet identifiers';
    if (v.exceed === 'receiveMaximum' && (v.qos ?? 0) === 0)
      return 'publish: "exceed: receiveMaximum" needs QoS 1 or 2';
    return undefined;
  },
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
    if (v.exceed !== undefined) step.exceed = v.exceed as PublishStep['exceed'] & string;
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
    if (step.exceed) {
      exceedLimit(ctx, client, packet, step.exceed);
      return;
    }
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

/** Largest limit a case goes past: more would cost the run time and memory for nothing. */
const EXCEED_CAP = { receiveMaximum: 1000, maximumPacketSize: 1024 * 1024 } as const;

/**
 * 5.0: one past a limit the broker announced in its CONNACK, the client's protocol error on purpose: Receive
 * Maximum + 1 copies of the PUBLISH (each with its own packet identifier) written at once, or the PUBLISH with
 * its payload padded to Maximum Packet Size + 1 bytes. Skipped when the broker announced no such limit (the
 * default is 65535, or no limit) or one above the cap.
 */
function exceedLimit(
  ctx: CaseContext,
  client: CaseClient,
  packet: PublishPacket,
  limit: 'receiveMaximum' | 'maximumPacketSize',
): void {
  const announced = ctx.version === 5 ? client.serverLimits[limit] : undefined;
  const name = limit === 'receiveMaximum' ? 'Receive Maximum' : 'Maximum Packet Size';
  if (announced === undefined) ctx.skip(`the broker announced no ${name} (CONNACK)`);
  if (announced > EXCEED_CAP[limit])
    ctx.skip(
      `the broker announced ${name} ${announced}, more than the ${EXCEED_CAP[limit]} a case goes past`,
    );
  if (limit === 'receiveMaximum') {
    for (let i = 0; i <= announced; i++) client.raw.send({ ...packet, packetId: client.packetId() });
    return;
  }
  // The remaining length's own size grows with the payload: adjust until the packet is one byte too large
  // (or, at a var-int boundary, two).
  let payload = packet.payload;
  for (let i = 0; i < 4; i++) {
    const size = encode({ ...packet, payload }, { protocolVersion: 5 }).length;
    if (size > announced) break;
    payload = Buffer.concat([payload, Buffer.alloc(announced + 1 - size, 0x78)]);
  }
  client.raw.send({ ...packet, payload });
}

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
