import { performance } from 'node:perf_hooks';
import { describeEvent, describeMatch, describePacket, matchPacket } from '../../client/match.js';
import type { ClientEvent } from '../../client/types.js';
import { type ConnectPacket, decode, type Packet, type Properties, type QoS } from '../../codec/index.js';
import type { CaseClient, CaseContext } from '../context.js';
import { ExpectationFailure, HarnessError } from '../errors.js';
import type { ConnectSpec, ConnectStep, SourcePos } from '../model.js';
import { S, type Schema } from '../schema.js';
import {
  applyPresence,
  completePacket,
  hex2,
  overridesSchema,
  packetFieldsSchema,
  presenceFields,
  propertiesSchema,
  toOverrides,
  typedPacketSchema,
} from './common.js';
import type { StepDefinition } from './types.js';

/** Keep-alive (s) of a CONNECT whose step sets none. */
const DEFAULT_KEEP_ALIVE = 60;

export const connectFields: Record<string, Schema> = {
  as: S.string,
  clientId: S.string,
  clean: S.bool,
  keepAlive: S.int(0, 65535),
  username: S.string,
  password: S.bytes,
  credentials: S.bool,
  skipUnless: propertiesSchema,
  identity: S.enum('first', 'second'),
  will: S.object({
    topic: S.req(S.string),
    payload: S.bytes,
    qos: S.int(0, 3),
    retain: S.bool,
    properties: propertiesSchema,
  }),
  properties: propertiesSchema,
  protocolLevel: S.int(0, 255),
  protocolName: S.string,
  overrides: overridesSchema,
  firstPacket: typedPacketSchema,
  firstBytes: S.hex,
  node: S.int(1, 16),
  connack: {
    t: 'union',
    describe: 'false (do not wait) or a map of CONNACK fields',
    of: [
      { when: (n) => (n as { value?: unknown } | null)?.value === false, schema: S.bool },
      { when: () => true, schema: packetFieldsSchema('connack', presenceFields) },
    ],
  },
};

export function toConnectSpec(v: Record<string, unknown>): ConnectSpec {
  const spec: ConnectSpec = { ...(v as ConnectSpec) };
  delete (spec as { as?: string }).as;
  if (v.overrides) spec.overrides = toOverrides(v.overrides as Record<string, unknown>);
  if (v.will) {
    const w = v.will as Record<string, unknown>;
    spec.will = {
      topic: w.topic as string,
      payload: (w.payload as Buffer | undefined) ?? Buffer.alloc(0),
      qos: ((w.qos as number | undefined) ?? 0) as QoS,
      retain: (w.retain as boolean | undefined) ?? false,
      ...(w.properties ? { properties: w.properties as Properties } : {}),
    };
  }
  return spec;
}

export const connectStep: StepDefinition<ConnectStep> = {
  kind: 'connect',
  schema: S.object({ ...connectFields, as: S.req(S.string) }),
  build(v, pos) {
    return { kind: 'connect', as: v.as as string, pos, ...toConnectSpec(v) };
  },
  async run(step, ctx) {
    const spec = ctx.render(stripStep(step));
    await openAndConnect(ctx, step.as, spec, step.pos);
  },
};

function stripStep(
  step: ConnectStep | (ConnectSpec & { kind: string; as: string; pos: SourcePos }),
): ConnectSpec {
  const { kind: _k, as: _a, pos: _p, protocols: _pr, ...spec } = step as ConnectStep;
  return spec;
}

/** Opens a connection for `name`, sends CONNECT built from `spec` and handles the CONNACK. */
export async function openAndConnect(
  ctx: CaseContext,
  name: string,
  spec: ConnectSpec,
  pos: SourcePos,
): Promise<CaseClient> {
  // A case that needs the second identity (ACL cases) cannot run without one.
  if (spec.identity === 'second' && ctx.opts.username2 === undefined) {
    ctx.skip('the case needs a second identity (--username2/--password2)');
  }
  const client = await ctx.open(name, spec.node);
  const clientId = spec.clientId ?? ctx.render(`{client:${name}}`);
  // Remember what was used so `reconnect` repeats it (minus the one-off CONNACK expectation).
  const { connack: _c, firstPacket, firstBytes, ...remembered } = spec;
  client.connectSpec = { ...remembered, clientId };
  if (firstBytes) {
    // Raw bytes in place of CONNECT (a fuzzer reproducer): written as they are, no CONNACK is waited for.
    client.raw.note(`step connect, first bytes (${pos.file}:${pos.line})`);
    client.raw.sendRaw(firstBytes);
    return client;
  }
  if (firstPacket) {
    // A first packet that is not CONNECT: sent in its place, and no CONNACK is waited for.
    client.raw.note(`step connect, first packet ${firstPacket.type.toUpperCase()} (${pos.file}:${pos.line})`);
    client.raw.send(
      completePacket(firstPacket, ctx.version),
      spec.overrides ? { overrides: spec.overrides } : {},
    );
    return client;
  }
  const packet = buildConnect(ctx, spec, clientId);
  // The server must not send this client a packet above the Maximum Packet Size it announces (5.0
  // [MQTT-3.1.2-24]): a bigger one is a malformed event, which fails the expectation that meets it.
  const maxSize = packet.properties?.maximumPacketSize;
  if (ctx.version === 5 && maxSize !== undefined && maxSize > 0)
    client.raw.limitIncomingPacketSize(maxSize, 'MQTT-3.1.2-24');
  client.raw.note(`step connect (${pos.file}:${pos.line})`);
  client.raw.send(packet, spec.overrides ? { overrides: spec.overrides } : {});
  if (spec.connack === false) return client;
  await awaitConnack(ctx, client, spec);
  return client;
}

export function buildConnect(ctx: CaseContext, spec: ConnectSpec, clientId: string): ConnectPacket {
  const v5 = ctx.version === 5;
  const useRunCredentials = spec.credentials !== false;
  const second = spec.identity === 'second';
  const runUsername = second ? ctx.opts.username2 : ctx.opts.username;
  const runPassword = second ? ctx.opts.password2 : ctx.opts.password;
  const username = spec.username ?? (useRunCredentials ? runUsername : undefined);
  const password =
    spec.password ?? (useRunCredentials && runPassword !== undefined ? Buffer.from(runPassword) : undefined);
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName: spec.protocolName ?? 'MQTT',
    protocolVersion: spec.protocolLevel ?? ctx.version,
    clean: spec.clean ?? true,
    keepAlive: spec.keepAlive ?? DEFAULT_KEEP_ALIVE,
    clientId,
  };
  if (spec.will) {
    packet.will = { ...spec.will };
    if (v5) packet.will.properties = spec.will.properties ?? {};
    else delete packet.will.properties;
  }
  if (username !== undefined) packet.username = username;
  if (password !== undefined) packet.password = password;
  if (v5) packet.properties = spec.properties ?? {};
  return packet;
}

/**
 * A broker that only speaks 3.1.1 typically answers a 5.0 CONNECT with a 3.1.1 CONNACK 0x01 (unacceptable
 * protocol version), which does not decode as a 5.0 CONNACK. That is a refusal of 5.0, not garbage.
 */
export function isLegacyRefusalOf5(version: number, event: ClientEvent | undefined): boolean {
  if (version !== 5 || event?.kind !== 'malformed') return false;
  const r = decode(event.raw, { protocolVersion: 4 });
  return r.ok && r.packet.type === 'connack' && r.packet.reasonCode === 0x01;
}

/** CONNACK codes that mean "this broker does not do what the case needs" rather than a violation. */
function declined(ctx: CaseContext, spec: ConnectSpec, code: number): string | undefined {
  if (ctx.version === 5) {
    if (code === 0x84) return 'the broker refuses MQTT 5.0 (CONNACK 0x84 Unsupported Protocol Version)';
    if (code === 0x9b && spec.will && spec.will.qos > 0)
      return `the broker does not support will QoS ${spec.will.qos} (CONNACK 0x9B)`;
    if (code === 0x9a && spec.will?.retain)
      return 'the broker does not support retained wills (CONNACK 0x9A)';
    if (code === 0x85 && spec.clientId === '')
      return 'the broker does not accept an empty client identifier (CONNACK 0x85); a server may refuse it';
    return undefined;
  }
  if (code === 0x01) return 'the broker refuses MQTT 3.1.1 (CONNACK return code 0x01)';
  if (code === 0x02 && spec.clientId === '')
    return 'the broker does not accept an empty client identifier (CONNACK 0x02); a server may refuse it';
  return undefined;
}

/**
 * A 5.0 broker may announce limits in an accepting CONNACK; a case that depends on what it asked for cannot
 * judge the broker then, so it is skipped (detected from the answer, never assumed):
 * - a Server Keep Alive replaces the client's keep-alive [MQTT-3.1.2-21]: it is remembered, and a
 *   `closed: keep-alive` expectation judges the broker by it (skipped when it is 0 or too long to wait for);
 * - Session Expiry Interval 0 where the case asked for a session that outlives the connection: the broker
 *   keeps no session, so Session Present 0 and a lost subscription are correct; a longer one than asked (0
 *   when absent): the session outlives what the case expects;
 * - Maximum QoS, Retain Available and Topic Alias Maximum are remembered for the publish and send steps
 *   [MQTT-3.2.2-9]; wildcard, subscription identifier and shared subscription availability for subscribe.
 */
function acceptedWith(
  ctx: CaseContext,
  client: CaseClient,
  spec: ConnectSpec,
  connack: Extract<Packet, { type: 'connack' }>,
): void {
  if (ctx.version !== 5) return;
  const props = connack.properties ?? {};
  client.serverLimits = {
    ...(props.maximumQoS !== undefined ? { maximumQoS: props.maximumQoS } : {}),
    ...(props.retainAvailable !== undefined ? { retainAvailable: props.retainAvailable } : {}),
    // No Topic Alias Maximum means the client may use no alias (section 3.2.2.3.8).
    topicAliasMaximum: props.topicAliasMaximum ?? 0,
    ...(props.wildcardSubscriptionAvailable !== undefined
      ? { wildcardSubscriptionAvailable: props.wildcardSubscriptionAvailable }
      : {}),
    ...(props.subscriptionIdentifiersAvailable !== undefined
      ? { subscriptionIdentifiersAvailable: props.subscriptionIdentifiersAvailable }
      : {}),
    ...(props.sharedSubscriptionAvailable !== undefined
      ? { sharedSubscriptionAvailable: props.sharedSubscriptionAvailable }
      : {}),
    ...(props.receiveMaximum !== undefined ? { receiveMaximum: props.receiveMaximum } : {}),
    ...(props.maximumPacketSize !== undefined ? { maximumPacketSize: props.maximumPacketSize } : {}),
  };
  // A case about what a broker must do when it announces a value (e.g. Wildcard Subscription Available 0)
  // runs only where it does.
  for (const [name, want] of Object.entries(spec.skipUnless ?? {})) {
    const got = (props as Record<string, unknown>)[name];
    if (got !== want)
      ctx.skip(`the case needs CONNACK ${name} ${String(want)}; the broker announced ${got ?? 'none'}`);
  }
  // The client must use the Server Keep Alive instead of its own [MQTT-3.1.2-21]; a keep-alive expectation
  // judges the broker by the value in force.
  if (props.serverKeepAlive !== undefined) client.keepAliveSec = props.serverKeepAlive;
  const asked = spec.properties?.sessionExpiryInterval;
  if (asked !== undefined && asked > 0 && props.sessionExpiryInterval === 0) {
    ctx.skip('the broker keeps no session after the connection (CONNACK Session Expiry Interval 0)');
  }
  // The server may also keep the session longer than asked (0 when absent) and say so; a case about the
  // session (or a delayed will) ending then cannot judge it.
  if (props.sessionExpiryInterval !== undefined && props.sessionExpiryInterval > (asked ?? 0)) {
    ctx.skip(
      `the broker keeps the session longer than asked (${asked ?? 0} s): CONNACK Session Expiry Interval ${props.sessionExpiryInterval}`,
    );
  }
}

/** A 5.0 PUBLISH beyond what the broker announced is the client's protocol error: the case is skipped. */
export function checkServerLimits(
  ctx: CaseContext,
  client: CaseClient,
  p: { qos: number; retain: boolean; properties?: { topicAlias?: number } },
): void {
  const { maximumQoS, retainAvailable, topicAliasMaximum } = client.serverLimits;
  // Alias 0 is never valid: a case sends it on purpose [MQTT-3.3.2-8].
  const alias = p.properties?.topicAlias;
  if (alias !== undefined && alias > 0 && topicAliasMaximum !== undefined && alias > topicAliasMaximum) {
    ctx.skip(
      `the broker announced Topic Alias Maximum ${topicAliasMaximum} (CONNACK); the case uses topic alias ${alias}`,
    );
  }
  if (maximumQoS !== undefined && p.qos <= 2 && p.qos > maximumQoS) {
    ctx.skip(`the broker announced Maximum QoS ${maximumQoS} (CONNACK); the case publishes at QoS ${p.qos}`);
  }
  if (retainAvailable === 0 && p.retain) {
    ctx.skip('the broker announced Retain Available 0 (CONNACK); the case publishes a retained message');
  }
}

async function awaitConnack(ctx: CaseContext, client: CaseClient, spec: ConnectSpec): Promise<void> {
  const timeout = ctx.stepTimeoutMs;
  const sent = performance.now();
  const got = await client.waitFor((p) => p.type === 'connack', timeout);
  if ('packet' in got) ctx.observeRoundTrip(performance.now() - sent);
  const explicit = spec.connack && typeof spec.connack === 'object' ? applyPresence(spec.connack) : undefined;
  const expectedText = explicit
    ? describeMatch({ type: 'connack', ...explicit })
    : 'CONNACK {reasonCode: 0x00}';
  if (!('packet' in got)) {
    if ('event' in got && isLegacyRefusalOf5(ctx.version, got.event)) {
      ctx.skip('the broker refuses MQTT 5.0 (it answered with a 3.1.1 CONNACK 0x01)');
    }
    const actual = 'event' in got ? describeEvent(got.event) : `nothing within ${timeout} ms`;
    if (explicit) {
      throw new ExpectationFailure(`${client.name}: no CONNACK`, expectedText, actual);
    }
    throw new HarnessError(
      'NO_CONNACK',
      `${client.name}: the target did not answer a valid CONNECT with a CONNACK`,
      expectedText,
      actual,
    );
  }
  const connack = got.packet as Extract<Packet, { type: 'connack' }>;
  if (connack.reasonCode === 0) {
    client.keepAliveSec = spec.keepAlive ?? DEFAULT_KEEP_ALIVE;
    acceptedWith(ctx, client, spec, connack);
  }
  if (explicit) {
    const m = matchPacket({ type: 'connack', ...explicit }, connack);
    if (!m.ok) {
      const reason = declined(ctx, spec, connack.reasonCode);
      if (reason && (explicit as { reasonCode?: number }).reasonCode === undefined) ctx.skip(reason);
      throw new ExpectationFailure(
        `${client.name}: CONNACK differs: ${m.mismatches.join('; ')}`,
        expectedText,
        describePacket(connack),
      );
    }
    return;
  }
  if (connack.reasonCode === 0) return;
  const reason = declined(ctx, spec, connack.reasonCode);
  if (reason) ctx.skip(reason);
  const hint =
    connack.reasonCode === 0x04 ||
    connack.reasonCode === 0x05 ||
    connack.reasonCode === 0x86 ||
    connack.reasonCode === 0x87
      ? '; pass --username/--password if the broker requires credentials'
      : '';
  throw new HarnessError(
    'CONNECT_REFUSED',
    `${client.name}: the broker refused CONNECT with ${hex2(connack.reasonCode)}${hint}`,
    expectedText,
    describePacket(connack),
  );
}
