import type { Properties, QoS, SubackPacket, SubscribePacket } from '../../codec/index.js';
import type { CaseClient, CaseContext } from '../context.js';
import { ExpectationFailure } from '../errors.js';
import type { SubscribeStep, SubscriptionSpec } from '../model.js';
import { S } from '../schema.js';
import { hex2, propertiesSchema } from './common.js';
import { awaitAck } from './publish.js';
import type { StepDefinition } from './types.js';

/**
 * Subscribes (`filter` + `qos`, or `filters: [{ topic, qos, ... }]`) and, unless `ack: false`, waits for
 * the SUBACK. A refused filter (0x80 or above) or a lower grant than requested turns the case to skipped:
 * the broker may decline, and the case cannot judge what it needed the subscription for.
 */
export const subscribeStep: StepDefinition<SubscribeStep> = {
  kind: 'subscribe',
  schema: S.object({
    as: S.req(S.string),
    filter: S.string,
    qos: S.int(0, 2),
    filters: S.array(
      S.object({
        topic: S.req(S.string),
        qos: S.int(0, 2),
        noLocal: S.bool,
        retainAsPublished: S.bool,
        retainHandling: S.int(0, 2),
      }),
      1,
    ),
    packetId: S.int(1, 65535),
    properties: propertiesSchema,
    ack: S.bool,
    allowDowngrade: S.bool,
  }),
  check(v) {
    if ((v.filter === undefined) === (v.filters === undefined)) {
      return 'subscribe: give exactly one of "filter" or "filters"';
    }
    if (v.filters !== undefined && v.qos !== undefined)
      return 'subscribe: with "filters", give qos per filter';
    return undefined;
  },
  build(v, pos) {
    const filters: SubscriptionSpec[] = v.filter
      ? [{ topic: v.filter as string, qos: ((v.qos as number | undefined) ?? 0) as QoS }]
      : (v.filters as Array<SubscriptionSpec & { qos?: QoS }>).map((f) => ({ ...f, qos: f.qos ?? 0 }));
    const step: SubscribeStep = {
      kind: 'subscribe',
      as: v.as as string,
      pos,
      filters,
      ack: (v.ack as boolean | undefined) ?? true,
      allowDowngrade: (v.allowDowngrade as boolean | undefined) ?? false,
    };
    if (v.packetId !== undefined) step.packetId = v.packetId as number;
    if (v.properties) step.properties = v.properties as Properties;
    return step;
  },
  async run(step, ctx) {
    const client = ctx.client(step.as, step.pos);
    const v5 = ctx.version === 5;
    const filters = ctx.render(step.filters);
    const packet: SubscribePacket = {
      type: 'subscribe',
      packetId: step.packetId ?? client.packetId(),
      subscriptions: filters.map((f) =>
        v5
          ? {
              topic: f.topic,
              qos: f.qos,
              noLocal: f.noLocal ?? false,
              retainAsPublished: f.retainAsPublished ?? false,
              retainHandling: f.retainHandling ?? 0,
            }
          : { topic: f.topic, qos: f.qos },
      ),
    };
    if (v5) {
      packet.properties = ctx.render(step.properties) ?? {};
      checkAvailability(ctx, client.serverLimits, packet);
    }
    client.raw.note(`step subscribe (${step.pos.file}:${step.pos.line})`);
    client.raw.send(packet);
    if (!step.ack) return;
    const suback = (await awaitAck(ctx, client, 'suback', packet.packetId)) as SubackPacket;
    if (suback.reasonCodes.length !== filters.length) {
      throw new ExpectationFailure(
        `${client.name}: SUBACK has ${suback.reasonCodes.length} code(s) for ${filters.length} filter(s)`,
        `SUBACK with ${filters.length} reason code(s)`,
        `SUBACK {reasonCodes: [${suback.reasonCodes.map(hex2).join(', ')}]}`,
      );
    }
    suback.reasonCodes.forEach((code, i) => {
      const f = filters[i]!;
      if (code >= 0x80) ctx.skip(`the broker refused the subscription to "${f.topic}" (${hex2(code)})`);
      if (code < f.qos && !step.allowDowngrade) {
        ctx.skip(`the broker granted QoS ${code} for "${f.topic}" where the case needs QoS ${f.qos}`);
      }
    });
  },
};

/**
 * A 5.0 broker may announce in CONNACK that it supports no wildcard subscriptions, subscription identifiers
 * or shared subscriptions (section 3.2.2.3); a case that needs one is skipped then.
 */
function checkAvailability(ctx: CaseContext, limits: CaseClient['serverLimits'], p: SubscribePacket): void {
  if (limits.subscriptionIdentifiersAvailable === 0 && p.properties?.subscriptionIdentifier !== undefined)
    ctx.skip('the broker announced Subscription Identifiers Available 0 (CONNACK)');
  for (const s of p.subscriptions) {
    if (limits.sharedSubscriptionAvailable === 0 && s.topic.startsWith('$share/'))
      ctx.skip('the broker announced Shared Subscription Available 0 (CONNACK)');
    if (limits.wildcardSubscriptionAvailable === 0 && /[+#]/.test(s.topic))
      ctx.skip('the broker announced Wildcard Subscription Available 0 (CONNACK)');
  }
}
