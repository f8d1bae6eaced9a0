import { performance } from 'node:perf_hooks';
import { isScalar, isSeq } from 'yaml';
import { describeEvent, describeMatch, matchPacket } from '../../client/match.js';
import type { ClientEvent, PacketMatch } from '../../client/types.js';
import type { Packet, PacketType } from '../../codec/index.js';
import type { CaseClient, CaseContext } from '../context.js';
import { ExpectationFailure } from '../errors.js';
import type { Expectation, ExpectStep } from '../model.js';
import { S, type Schema } from '../schema.js';
import { applyPresence, PACKET_TYPES, packetFieldsSchema, presenceFields, resolveIds } from './common.js';
import type { StepDefinition } from './types.js';

/**
 * The body of one expectation: exactly one of `packet: {type, ...}`, a packet type as key
 * (`publish: {...}`, `pingresp: {}`), `closed: true`, `nothing: <ms>`, `oneOf: [...]`, `allOf: [...]`.
 */
function expectationProps(depth: number): Record<string, Schema> {
  const props: Record<string, Schema> = {};
  for (const type of PACKET_TYPES) props[type] = packetFieldsSchema(type, presenceFields);
  props.packet = {
    t: 'union',
    describe: 'a map with "type" and that packet\'s fields',
    of: PACKET_TYPES.map((type) => ({
      when: (n: unknown) => typeKey(n) === type,
      schema: packetFieldsSchema(type, { type: S.req(S.enum(type)), ...presenceFields }),
    })),
  };
  props.closed = {
    t: 'union',
    describe: 'true, "keep-alive", "keep-alive-period" or "no-packet"',
    of: [
      {
        when: (n) => isScalar(n) && typeof n.value === 'string',
        schema: S.enum('keep-alive', 'keep-alive-period', 'no-packet'),
      },
      { when: () => true, schema: { t: 'boolean' } },
    ],
  };
  props.nothing = {
    t: 'union',
    describe: 'a quiet window in ms (1 to 600000) or "auto"',
    of: [
      { when: (n) => isScalar(n) && n.value === 'auto', schema: S.enum('auto') },
      { when: () => true, schema: S.int(1, 600_000) },
    ],
  };
  if (depth < 2) {
    const alternative: Schema = {
      t: 'union',
      describe: 'an expectation or a list of expectations (a sequence)',
      of: [
        { when: (n) => isSeq(n), schema: S.array(S.object(expectationProps(depth + 1)), 1) },
        { when: () => true, schema: S.object(expectationProps(depth + 1)) },
      ],
    };
    props.oneOf = S.array(alternative, 2);
    props.allOf = S.array(S.object(packetOnlyProps()), 1);
  }
  return props;
}

function packetOnlyProps(): Record<string, Schema> {
  const props: Record<string, Schema> = {};
  for (const type of PACKET_TYPES) props[type] = packetFieldsSchema(type, presenceFields);
  return props;
}

function typeKey(node: unknown): unknown {
  const items = (node as { items?: Array<{ key?: { value?: unknown }; value?: { value?: unknown } }> }).items;
  if (!Array.isArray(items)) return undefined;
  return items.find((p) => p.key?.value === 'type')?.value?.value;
}

const EXPECTATION_KEYS = ['packet', 'closed', 'nothing', 'oneOf', 'allOf', ...PACKET_TYPES];

/** Converts one validated expectation body; returns an error text if it is not exactly one expectation. */
export function toExpectation(v: Record<string, unknown>): Expectation | string {
  const keys = Object.keys(v).filter((k) => EXPECTATION_KEYS.includes(k));
  if (keys.length !== 1) {
    return `expect: give exactly one of packet, <packet type>, closed, nothing, oneOf, allOf (found ${
      keys.length === 0 ? 'none' : keys.join(', ')
    })`;
  }
  const key = keys[0]!;
  const value = v[key];
  if (key === 'closed') {
    if (value === 'keep-alive') return { kind: 'closed', keepAlive: true };
    if (value === 'keep-alive-period') return { kind: 'closed', keepAlive: true, notBeforePeriod: true };
    if (value === 'no-packet') return { kind: 'closed', noPacket: true };
    return value === true
      ? { kind: 'closed' }
      : 'expect: "closed" must be true, "keep-alive", "keep-alive-period" or "no-packet"';
  }
  if (key === 'nothing') return { kind: 'nothing', ms: value as number | 'auto' };
  if (key === 'packet') return { kind: 'packet', match: applyPresence(value as PacketMatch) };
  if (key === 'oneOf') {
    const options: Expectation[][] = [];
    for (const alt of value as Array<Record<string, unknown> | Array<Record<string, unknown>>>) {
      const seq: Expectation[] = [];
      for (const item of Array.isArray(alt) ? alt : [alt]) {
        const e = toExpectation(item);
        if (typeof e === 'string') return e;
        seq.push(e);
      }
      options.push(seq);
    }
    return { kind: 'oneOf', options };
  }
  if (key === 'allOf') {
    const matches: PacketMatch[] = [];
    for (const item of value as Array<Record<string, unknown>>) {
      const e = toExpectation(item);
      if (typeof e === 'string') return e;
      if (e.kind !== 'packet') return 'expect: allOf lists packets only';
      matches.push(e.match);
    }
    return { kind: 'allOf', matches };
  }
  return { kind: 'packet', match: applyPresence({ type: key as PacketType, ...(value as object) }) };
}

export const expectStep: StepDefinition<ExpectStep> = {
  kind: 'expect',
  schema: S.object({
    as: S.req(S.string),
    within: S.int(1, 600_000),
    skip: S.array(S.enum(...PACKET_TYPES)),
    orSkip: S.string,
    orSkipIfNothing: S.string,
    skipOn: S.object({ ...packetOnlyProps(), reason: S.req(S.string) }),
    orAs: S.string,
    ...expectationProps(0),
  }),
  check(v) {
    const e = toExpectation(v);
    if (typeof e === 'string') return e;
    if (v.orAs !== undefined && (e.kind !== 'packet' || v.skipOn !== undefined))
      return 'expect: "orAs" takes one packet expectation (no skipOn)';
    if (v.skipOn !== undefined) {
      const { reason: _r, ...packet } = v.skipOn as Record<string, unknown>;
      const s = toExpectation(packet);
      if (typeof s === 'string') return s.replace('expect:', 'expect.skipOn:');
    }
    return undefined;
  },
  build(v, pos) {
    const expectation = toExpectation(v) as Expectation;
    const step: ExpectStep = { kind: 'expect', as: v.as as string, pos, expectation };
    if (v.within !== undefined) step.within = v.within as number;
    if (v.skip) step.skip = v.skip as PacketType[];
    if (v.orSkip !== undefined) step.orSkip = v.orSkip as string;
    if (v.orSkipIfNothing !== undefined) step.orSkipIfNothing = v.orSkipIfNothing as string;
    if (v.orAs !== undefined) step.orAs = v.orAs as string;
    if (v.skipOn !== undefined) {
      const { reason, ...packet } = v.skipOn as Record<string, unknown>;
      const e = toExpectation(packet);
      if (typeof e !== 'string' && e.kind === 'packet')
        step.skipOn = { match: e.match, reason: reason as string };
    }
    return step;
  },
  async run(step, ctx) {
    const client = ctx.client(step.as, step.pos);
    const bound = step.within ?? ctx.stepTimeoutMs;
    const expectation = ctx.render(step.expectation);
    // `packetId: last` in a match means the id of the last packet received before this step; `unused`, any id
    // but those of the PUBLISH packets received before this step and not yet acknowledged.
    const last = client.lastPacketId;
    const unacked = [...client.unackedIds];
    const fix = (e: Expectation): Expectation => {
      if (e.kind === 'packet') return { ...e, match: resolveIds(e.match, last, unacked) };
      if (e.kind === 'allOf') return { ...e, matches: e.matches.map((m) => resolveIds(m, last, unacked)) };
      if (e.kind === 'oneOf') return { ...e, options: e.options.map((seq) => seq.map(fix)) };
      return e;
    };
    const deadline = performance.now() + bound;
    if (step.skipOn) {
      // An answer that declines the feature the case needs (e.g. CONNACK 0x8C to an authentication method).
      const first = await client.peek(bound);
      if (first?.kind === 'packet' && matchPacket(ctx.render(step.skipOn.match), first.packet).ok)
        ctx.skip(`${step.skipOn.reason} (got ${describeEvent(first)})`);
    }
    const ev = new Evaluator(ctx, client, step.skip ?? [], bound);
    try {
      const fixed = fix(expectation);
      if (step.orAs !== undefined && fixed.kind === 'packet') {
        await atEither([client, ctx.client(step.orAs, step.pos)], fixed, step.skip ?? [], bound, deadline);
        return;
      }
      await ev.run(fixed, deadline);
    } catch (err) {
      // A positive control the broker does not meet: the case cannot judge it, so it is skipped.
      if (step.orSkip !== undefined && err instanceof ExpectationFailure)
        ctx.skip(`${step.orSkip} (expected ${err.expected}, got ${err.actual})`);
      // Only silence skips: a packet that does not match still fails (e.g. a reused packet identifier).
      if (step.orSkipIfNothing !== undefined && err instanceof ExpectationFailure && err.noEvent)
        ctx.skip(`${step.orSkipIfNothing} (expected ${err.expected}, got ${err.actual})`);
      throw err;
    }
  },
};

/** How often `orAs` looks at the clients' next events while none has the packet. */
const EITHER_POLL_MS = 5;

/**
 * `orAs`: the packet is the next event (skipped types aside) of one of the clients, whichever has it; the others
 * keep their events. Fails once every client's next event is something else, or at the deadline.
 */
async function atEither(
  clients: CaseClient[],
  e: Extract<Expectation, { kind: 'packet' }>,
  skip: PacketType[],
  bound: number,
  deadline: number,
): Promise<void> {
  for (;;) {
    const heads: Array<ClientEvent | undefined> = [];
    for (const c of clients) {
      let head = await c.peek(0);
      while (head?.kind === 'packet' && skip.includes(head.packet.type)) {
        await c.take(0);
        head = await c.peek(0);
      }
      if (head?.kind === 'packet' && matchPacket(e.match, head.packet).ok) {
        await c.take(0);
        return;
      }
      heads.push(head);
    }
    if (heads.every((h) => h !== undefined) || performance.now() >= deadline) {
      const expected = describeExpectation(e);
      const actual = clients
        .map((c, i) => `${c.name}: ${heads[i] ? describeEvent(heads[i]) : `nothing within ${bound} ms`}`)
        .join('; ');
      const names = clients.map((c) => c.name).join(' or ');
      throw new ExpectationFailure(`${names}: expected ${expected}`, expected, actual);
    }
    await new Promise((r) => setTimeout(r, EITHER_POLL_MS));
  }
}

/** Describes an expectation for "Expected:" lines. */
export function describeExpectation(e: Expectation): string {
  switch (e.kind) {
    case 'packet':
      return describeMatch(e.match);
    case 'closed':
      if (e.noPacket) return 'connection closed without any packet (no CONNACK)';
      if (e.notBeforePeriod) return 'connection closed for keep-alive, not before the keep-alive period';
      return e.keepAlive ? 'connection closed for keep-alive' : 'connection closed';
    case 'nothing':
      return e.ms === 'auto' ? 'nothing (quiet window)' : `nothing for ${e.ms} ms`;
    case 'oneOf':
      return `one of: ${e.options.map((seq) => seq.map(describeExpectation).join(' then ')).join(' | ')}`;
    case 'allOf':
      return `all of (any order): ${e.matches.map((m) => describeMatch(m)).join(', ')}`;
  }
}

/**
 * Packets a broker may send just before closing, which do not make a `closed` expectation fail: a refusing
 * CONNACK while no CONNACK has come on the connection (never more than one CONNACK), and in 5.0 a DISCONNECT
 * with a reason code once an accepting CONNACK has come [MQTT-4.13.2-1] (before it, a refusing CONNACK is the
 * way to refuse [MQTT-3.2.2-6]). `p` has just been taken, so it is already counted.
 */
function allowedBeforeClose(ctx: CaseContext, client: CaseClient, p: Packet): boolean {
  if (p.type === 'connack') {
    // On a 5.0 connection, code 0x01 can only be the 3.1.1 form of a refusal to a protocol level the server
    // does not know (the raw client decodes it so when its CONNECT had such a level).
    return (
      client.connacks === 1 &&
      p.reasonCode !== 0 &&
      (ctx.version === 4 || p.reasonCode >= 0x80 || p.reasonCode === 0x01)
    );
  }
  return ctx.version === 5 && p.type === 'disconnect' && client.accepted;
}

/** Keep-alive periods longer than this are not waited for (the case is skipped). */
const MAX_KEEP_ALIVE_WAIT_S = 10;
/** How long past the allowed time a late keep-alive close is still waited for, to say when it came. */
const LATE_CLOSE_EXTRA_MS = 6000;
/** The longest a `closed: keep-alive` expectation can take, slack aside (for the case's time budget). */
export const KEEP_ALIVE_CLOSE_MAX_MS = MAX_KEEP_ALIVE_WAIT_S * 1500 + LATE_CLOSE_EXTRA_MS;
/** A broker's timer may fire this much before the period we measure (clock granularity). */
const TIMER_EARLY_MS = 20;

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

class Evaluator {
  constructor(
    private readonly ctx: CaseContext,
    private readonly client: CaseClient,
    private readonly skip: PacketType[],
    private readonly bound: number,
  ) {}

  private fail(e: Expectation, actual: ClientEvent | undefined, extra?: string[]): never {
    const expected = describeExpectation(e);
    const actualText = actual
      ? describeEvent(actual)
      : e.kind === 'nothing'
        ? 'nothing'
        : e.kind === 'closed'
          ? `connection still open after ${this.bound} ms`
          : `nothing within ${this.bound} ms`;
    const detail = extra && extra.length > 0 ? ` (${extra.join('; ')})` : '';
    throw new ExpectationFailure(
      `${this.client.name}: expected ${expected}${detail}`,
      expected,
      actualText,
      actual === undefined && e.kind !== 'nothing',
    );
  }

  /** Next event not in the skip list, or undefined at the deadline. */
  private async take(deadline: number): Promise<ClientEvent | undefined> {
    for (;;) {
      const e = await this.client.take(deadline - performance.now());
      if (!e) return undefined;
      if (e.kind === 'packet' && this.skip.includes(e.packet.type)) continue;
      return e;
    }
  }

  async run(e: Expectation, deadline: number): Promise<void> {
    switch (e.kind) {
      case 'packet': {
        const ev = await this.take(deadline);
        if (ev?.kind === 'packet') {
          const m = matchPacket(e.match, ev.packet);
          if (m.ok) return;
          this.fail(e, ev, ev.packet.type === e.match.type ? m.mismatches : undefined);
        }
        this.fail(e, ev);
        break;
      }
      case 'closed': {
        if (e.keepAlive) return this.keepAliveClose(e.notBeforePeriod === true);
        for (;;) {
          const ev = await this.take(deadline);
          if (ev?.kind === 'closed') return;
          if (ev?.kind === 'packet' && !e.noPacket && allowedBeforeClose(this.ctx, this.client, ev.packet))
            continue;
          this.fail(e, ev);
        }
      }
      case 'nothing': {
        const ms = this.ctx.quietWindowMs(e.ms);
        const ev = await this.take(performance.now() + ms);
        if (ev) this.fail({ kind: 'nothing', ms }, ev);
        return;
      }
      case 'allOf': {
        const missing = [...e.matches];
        while (missing.length > 0) {
          const ev = await this.take(deadline);
          if (ev?.kind !== 'packet') {
            this.fail(e, ev, [`still missing ${missing.map((m) => describeMatch(m)).join(', ')}`]);
          }
          const i = missing.findIndex((m) => matchPacket(m, ev.packet).ok);
          if (i < 0) this.fail(e, ev, ['a packet that matches none of the expected']);
          missing.splice(i, 1);
        }
        return;
      }
      case 'oneOf': {
        // The first event decides which alternative is being followed.
        const waitsForNothing = e.options.some((seq) => seq[0]?.kind === 'nothing');
        const window = e.options.reduce(
          (ms, seq) => (seq[0]?.kind === 'nothing' ? Math.max(ms, this.ctx.quietWindowMs(seq[0].ms)) : ms),
          0,
        );
        const ev = await this.take(waitsForNothing ? performance.now() + window : deadline);
        for (const seq of e.options) {
          const first = seq[0]!;
          const accepted = this.accepts(first, ev);
          if (accepted === false) continue;
          if (accepted === 'partial') await this.run(first, deadline);
          for (const rest of seq.slice(1)) await this.run(rest, deadline);
          return;
        }
        this.fail(e, ev);
      }
    }
  }

  /**
   * The broker closes a silent client within one and a half times the keep-alive period [MQTT-3.1.2-24 /
   * 5.0 MQTT-3.1.2-22], counted from the client's last packet, with slack for timers and the measured round
   * trip; with `notBeforePeriod`, also no sooner than the period (not a rule: 3.1.1 section 3.1.2.10 lets a
   * server disconnect a client it deems inactive at any time; info cases observe it). A late close is still
   * waited for (a few seconds more) so that the message says when it came.
   */
  private async keepAliveClose(notBeforePeriod: boolean): Promise<void> {
    const ka = this.client.keepAliveSec;
    if (ka === 0)
      this.ctx.skip('keep-alive is off for this connection (keep-alive 0 or Server Keep Alive 0)');
    if (ka === undefined || ka > MAX_KEEP_ALIVE_WAIT_S) {
      this.ctx.skip(`the keep-alive in force (${ka ?? 'unknown'} s) is too long for this case to wait for`);
    }
    const raw = this.client.raw;
    const from = raw.lastWriteAt ?? raw.now();
    const slack = this.ctx.timingSlackMs();
    const earliest = notBeforePeriod ? ka * 1000 : 0;
    const latest = ka * 1500 + slack;
    const rule = notBeforePeriod
      ? `keep-alive ${ka} s: closed between ${secs(earliest)} and ${secs(ka * 1500)} of silence (+${secs(slack)} slack)`
      : `keep-alive ${ka} s: closed within ${secs(ka * 1500)} of silence (+${secs(slack)} slack)`;
    const giveUp = performance.now() + (from + latest - raw.now()) + LATE_CLOSE_EXTRA_MS;
    for (;;) {
      const ev = await this.take(giveUp);
      if (ev?.kind === 'packet' && allowedBeforeClose(this.ctx, this.client, ev.packet)) continue;
      if (ev?.kind === 'closed') {
        const after = ev.at - from;
        if (after >= earliest - TIMER_EARLY_MS && after <= latest) return;
        const allowed = after < earliest ? `not before ${secs(earliest)}` : `${secs(ka * 1500)}`;
        throw new ExpectationFailure(
          `${this.client.name}: closed after ${secs(after)} of silence; the rule allows ${allowed} (${rule})`,
          rule,
          `closed after ${secs(after)} of silence`,
        );
      }
      if (ev) this.fail({ kind: 'closed', keepAlive: true }, ev);
      throw new ExpectationFailure(
        `${this.client.name}: still open after ${secs(raw.now() - from)} of silence; the rule allows ${secs(ka * 1500)} (${rule})`,
        rule,
        `connection still open after ${secs(raw.now() - from)} of silence`,
      );
    }
  }

  /** Whether `ev` starts alternative `first`: fully satisfied, partially (closing sequence), or not. */
  private accepts(first: Expectation, ev: ClientEvent | undefined): boolean | 'partial' {
    switch (first.kind) {
      case 'nothing':
        return ev === undefined;
      case 'closed':
        if (ev?.kind === 'closed') return true;
        if (ev?.kind === 'packet' && !first.noPacket && allowedBeforeClose(this.ctx, this.client, ev.packet))
          return 'partial';
        return false;
      case 'packet':
        return ev?.kind === 'packet' && matchPacket(first.match, ev.packet).ok;
      case 'allOf': {
        if (ev?.kind !== 'packet') return false;
        const i = first.matches.findIndex((m) => matchPacket(m, ev.packet).ok);
        if (i < 0) return false;
        // Put the event back so the allOf evaluation sees it.
        this.client.unshift(ev);
        return 'partial';
      }
      case 'oneOf':
        return false;
    }
  }
}
