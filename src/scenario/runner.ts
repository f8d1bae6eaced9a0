import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { type Deadline, setDeadline } from '../client/deadline.js';
import { RawClient } from '../client/index.js';
import { describeEvent } from '../client/match.js';
import { formatTranscript, mergeTranscripts } from '../client/transcript.js';
import type { ConnectPacket } from '../codec/index.js';
import type { CaseResult, Verdict } from '../report/model.js';
import { CaseContext, nodeCount, type Target } from './context.js';
import { CaseSkipped, ExpectationFailure, HarnessError } from './errors.js';
import type { ProtocolName, ScenarioCase, Step } from './model.js';
import { isLegacyRefusalOf5 } from './steps/connect.js';
import { KEEP_ALIVE_CLOSE_MAX_MS } from './steps/expect.js';
import { STEP_DEFINITIONS } from './steps/index.js';
import { newRunId, Templater } from './template.js';

export interface PlannedCase {
  scenario: ScenarioCase;
  protocol: ProtocolName;
}

export interface RunOptions {
  target: Target;
  /** Cases run at once (default 8). */
  concurrency?: number;
  /** Bound for each wait of a step: CONNACK, acknowledgements, expectations without `within` (default 5000). */
  stepTimeoutMs?: number;
  /** Bound for a whole case unless the case sets one (default: computed from its steps, at least 30 s). */
  caseTimeoutMs?: number;
  username?: string;
  password?: string;
  /** A second identity (`identity: second` in a connect step); cases that need one are skipped without it. */
  username2?: string;
  password2?: string;
  /** First level(s) of every test topic (`{prefix}`), default `mqtt-conform`: the vendor's namespace. */
  topicPrefix?: string;
  /** Aborting stops scheduling; running cases end as errors ("interrupted"); unstarted ones are left out. */
  signal?: AbortSignal;
  runId?: string;
  /** Keep wire logs of passed cases too (default: only for cases that did not pass). */
  keepAllWireLogs?: boolean;
  onCaseStart?: (c: PlannedCase) => void;
  onCaseDone?: (r: CaseResult) => void;
}

export interface RunOutcome {
  results: CaseResult[];
  /** Set when the run ended early. */
  stoppedBy?: 'interrupted' | 'target-died' | 'target-unreachable' | 'target-not-mqtt' | 'not-authorized';
  /** 'not-authorized': what the broker answered and what to do about it, one message for the whole run. */
  detail?: string;
}

const DEFAULT_CONCURRENCY = 8;
const DEFAULT_STEP_TIMEOUT_MS = 5000;
const MAX_WIRE_LOG_CHARS = 64 * 1024;
const PING_SAMPLES = 3;

/** The default concurrency, bounded by what a loopback broker and the runner handle comfortably. */
export function defaultConcurrency(): number {
  return DEFAULT_CONCURRENCY;
}

/**
 * Runs cases concurrently, each in isolation (own connections, own client ids and topic prefix). The target
 * is checked first (TCP, then one valid CONNECT per protocol) so that an unreachable, silent or hostile
 * target turns every case into an error at once instead of one timeout per case. When a case does not
 * pass, the target is probed; if it stopped accepting connections, the remaining cases become errors.
 */
export async function runCases(planned: readonly PlannedCase[], opts: RunOptions): Promise<RunOutcome> {
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  const stepTimeoutMs = opts.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const runId = opts.runId ?? newRunId();
  const results: Array<CaseResult | undefined> = new Array(planned.length);
  const internal = new AbortController();
  // Every running case and wait step listens on this signal.
  setMaxListeners(0, internal.signal);
  const external = opts.signal;
  const onExternalAbort = (): void => internal.abort();
  external?.addEventListener('abort', onExternalAbort);
  let stoppedBy: RunOutcome['stoppedBy'];

  const record = (i: number, r: CaseResult): void => {
    results[i] = r;
    opts.onCaseDone?.(r);
  };

  try {
    if (external?.aborted) return { results: [], stoppedBy: 'interrupted' };

    // 1. Can we reach the target at all? An interruption does not wait for the checks to time out.
    const reachable = await untilAborted(
      probeTcp(opts.target, Math.min(stepTimeoutMs, 3000)),
      internal.signal,
    );
    if (!reachable) return { results: [], stoppedBy: 'interrupted' };
    if (!reachable.ok) {
      planned.forEach((p, i) => {
        record(
          i,
          resultOf(p, 'error', 0, {
            message: `target unreachable: ${reachable.detail}`,
          }),
        );
      });
      return { results: results.filter(isDefined), stoppedBy: 'target-unreachable' };
    }

    // 2. Does it answer a valid CONNECT, per protocol?
    const protocols = [...new Set(planned.map((p) => p.protocol))];
    const verdicts = new Map<ProtocolName, Preflight>();
    const checked = await untilAborted(
      Promise.all(
        protocols.map(async (p) => {
          verdicts.set(p, await preflight(opts, p, stepTimeoutMs, runId, internal.signal, 'first', true));
        }),
      ),
      internal.signal,
    );
    if (!checked) return { results: [], stoppedBy: 'interrupted' };
    // A broker that refuses the suite's credentials (or wants some) cannot be judged at all: one message
    // and no case run, instead of every case failing as if the broker broke the rules.
    let refusal = [...verdicts.values()].find((v) => v.refusedCredentials);
    // The second identity is checked once, in a version the broker accepted.
    const accepted = protocols.find((p) => verdicts.get(p)?.status === 'ok');
    if (!refusal && opts.username2 !== undefined && accepted !== undefined) {
      const second = await untilAborted(
        preflight(opts, accepted, stepTimeoutMs, runId, internal.signal, 'second'),
        internal.signal,
      );
      if (!second) return { results: [], stoppedBy: 'interrupted' };
      if (second.refusedCredentials) refusal = second;
    }
    if (refusal)
      return { results: [], stoppedBy: 'not-authorized', detail: refusal.message ?? 'not authorized' };

    // A target that accepted TCP a moment ago, gave no CONNACK and now refuses TCP went away during the
    // first checks (a broker stopping or crashing): that is a dead target, not one that does not speak MQTT.
    if ([...verdicts.values()].some((v) => v.noAnswer)) {
      const again = await untilAborted(probeTcp(opts.target, Math.min(stepTimeoutMs, 3000)), internal.signal);
      if (!again) return { results: [], stoppedBy: 'interrupted' };
      if (!again.ok) {
        const reason = `the target stopped accepting connections during the first checks: ${again.detail}`;
        planned.forEach((p, i) => {
          record(i, resultOf(p, 'error', 0, { message: `not run: ${reason}` }));
        });
        return { results: results.filter(isDefined), stoppedBy: 'target-died' };
      }
    }

    // 3. Run.
    let deadTarget: Promise<boolean> | undefined;
    let deathReason = 'the target stopped accepting connections';
    /**
     * Is the target gone? A refused TCP connection says so; otherwise one valid CONNECT tells a hung broker
     * (no answer: gone too) from a problem of the case itself. A healthy broker answers in milliseconds.
     */
    /** Cases running now, with what the stall detection needs of them. */
    const running = new Map<number, RunningCase>();
    /** When each case ran and when its connections held an incomplete packet (performance.now()). */
    const spans = new Map<number, { from: number; to: number; incomplete: Interval[] }>();
    /** Cases whose connections were closed while looking for the one that stalled the broker. */
    const closedWhileSearching = new Set<number>();
    /** Cases proven to have stalled the broker: closing their connection brought it back. */
    const stallers = new Set<number>();

    /**
     * A broker that stops answering CONNECT may be stalled rather than dead: some brokers serve nobody while
     * one connection holds an incomplete packet. Close the connections of the running cases that hold one,
     * oldest first, probing after each; the case after whose closing the broker answers again stalled it.
     * Returns true when the broker answers again. Every case closed here is run again at the end.
     */
    const resolveStall = async (protocol: ProtocolName): Promise<boolean> => {
      const holders = [...running.entries()]
        .map(([index, rc]) => ({ index, rc, since: rc.incompleteSince() }))
        .filter((h): h is { index: number; rc: RunningCase; since: number } => h.since !== undefined)
        .sort((a, b) => a.since - b.since);
      for (const h of holders) {
        closedWhileSearching.add(h.index);
        await h.rc.closeConnections();
        const pre = await preflight(opts, protocol, Math.min(stepTimeoutMs, 2000), runId);
        if (pre.noAnswer) continue;
        stallers.add(h.index);
        return true;
      }
      return false;
    };

    /**
     * Is the target gone? A refused TCP connection says so; otherwise one valid CONNECT tells a hung broker
     * (no answer: gone too, unless closing a connection that holds an incomplete packet brings it back) from
     * a problem of the case itself. A healthy broker answers in milliseconds.
     */
    const isDead = async (protocol: ProtocolName): Promise<boolean> => {
      if (stoppedBy === 'target-died') return true;
      // Interrupted: the cases end because of the interruption, not the target; do not probe.
      if (internal.signal.aborted) return false;
      deadTarget ??= (async () => {
        const tcp = await probeTcp(opts.target, 1500);
        if (!tcp.ok) return true;
        const pre = await preflight(opts, protocol, Math.min(stepTimeoutMs, 2000), runId);
        if (!pre.noAnswer) return false;
        if (await resolveStall(protocol)) return false;
        deathReason = 'the target stopped answering CONNECT';
        return true;
      })().finally(() => {
        deadTarget = undefined;
      });
      const dead = await deadTarget;
      if (dead && !stoppedBy) {
        stoppedBy = 'target-died';
        internal.abort();
      }
      return dead;
    };

    let nodesReachable: Promise<string | undefined> | undefined;
    const runOne = async (i: number, again = false): Promise<void> => {
      const p = planned[i]!;
      const pre = verdicts.get(p.protocol)!;
      if (pre.status !== 'ok') {
        record(i, resultOf(p, pre.status, 0, pre));
        return;
      }
      if (p.scenario.transport === 'websocket' && !opts.target.websocket) {
        record(
          i,
          resultOf(p, 'skipped', 0, {
            message: 'the case is about MQTT over WebSocket: it needs a ws:// or wss:// target',
          }),
        );
        return;
      }
      if (p.scenario.cluster && nodeCount(opts.target) < 2) {
        record(
          i,
          resultOf(p, 'skipped', 0, {
            message: 'the case is about a clustered broker: it needs two or more nodes (--node host:port)',
          }),
        );
        return;
      }
      if (p.scenario.cluster) {
        // The other nodes are checked once (TCP), so that a wrong --node is named as such in every cluster case.
        nodesReachable ??= unreachableNode(opts.target, Math.min(stepTimeoutMs, 3000));
        const down = await nodesReachable;
        if (down) {
          record(i, resultOf(p, 'error', 0, { message: down }));
          return;
        }
      }
      if (!again) opts.onCaseStart?.(p);
      const from = performance.now();
      let incomplete: Interval[] = [];
      const r = await runCase(p, i, {
        ...opts,
        stepTimeoutMs,
        runId,
        signal: internal.signal,
        ...(pre.roundTripMs !== undefined ? { roundTripMs: pre.roundTripMs } : {}),
        onRunning: (rc) => {
          if (rc) running.set(i, rc);
          else running.delete(i);
        },
        onIncomplete: (list) => {
          incomplete = list;
        },
      });
      if (!again) spans.set(i, { from, to: performance.now(), incomplete });
      if (
        r.status !== 'passed' &&
        r.status !== 'info' &&
        r.status !== 'skipped' &&
        (await isDead(p.protocol))
      ) {
        r.status = 'error';
        r.message = `${deathReason} during the case${r.message ? ` (${r.message})` : ''}`;
      } else if (
        internal.signal.aborted &&
        r.status === 'error' &&
        !stoppedBy &&
        !r.message?.startsWith('interrupted')
      ) {
        r.message = `interrupted${r.message ? ` (${r.message})` : ''}`;
      }
      record(i, r);
    };

    /**
     * Cases whose verdict another case may have disturbed: they did not pass and ran while another case's
     * connection held an incomplete packet long enough to stall a broker that serves one client at a time,
     * or their connections were closed while looking for the case that stalled it. They run again, one at a
     * time with nothing else in flight, and keep the verdict of that run, so the verdicts do not depend on
     * the concurrency. Where the second run passes, the cases whose incomplete packets the first run
     * overlapped are named as having stalled the broker.
     */
    const rerunDisturbed = async (): Promise<void> => {
      const overlapping = (i: number): number[] => {
        const me = spans.get(i);
        if (!me) return [];
        return [...spans.entries()]
          .filter(
            ([j, other]) =>
              j !== i &&
              other.incomplete.some((w) => w.to - w.from >= MIN_STALL_MS && w.from < me.to && w.to > me.from),
          )
          .map(([j]) => j);
      };
      const disturbed = planned
        .map((_, i) => i)
        .filter((i) => {
          const r = results[i];
          if (!r || !['failed', 'non-strict', 'error'].includes(r.status)) return false;
          return closedWhileSearching.has(i) || overlapping(i).length > 0;
        });
      const suspects = new Map<number, Set<string>>();
      for (const i of disturbed) {
        if (internal.signal.aborted) return;
        const first = results[i]!;
        const culprits = overlapping(i);
        await runOne(i, true);
        const second = results[i]!;
        if (second.status === first.status || stallers.has(i)) continue;
        const names = [...new Set(culprits.map((j) => caseName(planned[j]!)))].join(', ');
        const note = `${first.status} while ${names} held an incomplete packet; ${second.status} when run again alone`;
        second.message = second.message ? `${second.message} (${note})` : note;
        for (const j of culprits) {
          const victims = suspects.get(j) ?? new Set<string>();
          victims.add(caseName(planned[i]!));
          suspects.set(j, victims);
        }
      }
      for (const j of new Set([...stallers, ...suspects.keys()])) {
        const r = results[j];
        if (!r) continue;
        const victims = [...(suspects.get(j) ?? [])];
        const finding = `the broker stopped serving other clients while this case's connection held an incomplete packet${
          stallers.has(j) ? ' (a new CONNECT got no CONNACK until that connection was closed)' : ''
        }${victims.length > 0 ? `; ${victims.join(', ')} failed meanwhile and passed when run again alone` : ''}`;
        r.finding = finding;
        r.message = r.message ? `${r.message}; finding: ${finding}` : `finding: ${finding}`;
      }
    };

    /** Runs the queue with `width` workers; stops taking cases once the run is aborted. */
    const drain = async (queue: number[], width: number): Promise<void> => {
      const worker = async (): Promise<void> => {
        for (;;) {
          if (internal.signal.aborted) return;
          const i = queue.shift();
          if (i === undefined) return;
          await runOne(i);
        }
      };
      await Promise.all(Array.from({ length: Math.min(width, queue.length) }, () => worker()));
    };
    // First the cases marked `timing: silent` (clients that send nothing while a broker timer runs), together,
    // on a broker that nothing else has touched yet: other cases leave timers behind in the broker (session
    // expiry, will delay) whose firing would wake a broker that checks its timers only when it wakes. Then
    // every case whose subject is not time, concurrently. Then the other timing cases, together, with no other
    // case in flight (each wakes the broker with its own traffic anyway). Each timing group runs all at once
    // whatever --concurrency says: a timing case mostly waits, and one that had to wait for a free slot would
    // run while the group's others are in flight anyway.
    const indices = planned.map((_, i) => i);
    const timing = indices.filter((i) => planned[i]!.scenario.timing);
    const silent = timing.filter((i) => planned[i]!.scenario.silentTiming);
    // drain() consumes its queue: give it a copy, silent is used again below.
    await drain([...silent], silent.length);
    await drain(
      indices.filter((i) => !planned[i]!.scenario.timing),
      concurrency,
    );
    const active = timing.filter((i) => !silent.includes(i));
    await drain(active, active.length);
    // Phase 3: cases another case may have disturbed (a broker stalled by an incomplete packet) run again.
    if (!stoppedBy) await rerunDisturbed();

    if (stoppedBy === 'target-died') {
      // Everything that did not get to run is an error, reported at once.
      planned.forEach((p, i) => {
        if (!results[i]) {
          record(i, resultOf(p, 'error', 0, { message: `not run: ${deathReason}` }));
        }
      });
    } else if (external?.aborted) {
      stoppedBy = 'interrupted';
    } else if ([...verdicts.values()].every((v) => v.noAnswer)) {
      // TCP works but nothing answered a valid CONNECT in any version: not a broker we can test.
      stoppedBy = 'target-not-mqtt';
    }
    return { results: results.filter(isDefined), ...(stoppedBy ? { stoppedBy } : {}) };
  } finally {
    external?.removeEventListener('abort', onExternalAbort);
  }
}

/** `p`'s value, or undefined as soon as `signal` aborts (p keeps running; it is bounded by its own timeout). */
async function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

function isDefined<T>(x: T | undefined): x is T {
  return x !== undefined;
}

function resultOf(
  p: PlannedCase,
  status: Verdict,
  durationMs: number,
  extra: { message?: string; expected?: string; actual?: string },
): CaseResult {
  const c = p.scenario;
  const r: CaseResult = {
    id: c.id,
    protocol: p.protocol,
    title: c.title,
    section: c.section,
    statements: c.statements[p.protocol] ?? [],
    level: c.level,
    status,
    durationMs: Math.round(durationMs),
    source: `${c.pos.file}:${c.pos.line}`,
  };
  if (extra.message !== undefined) r.message = extra.message;
  if (extra.expected !== undefined) r.expected = extra.expected;
  if (extra.actual !== undefined) r.actual = extra.actual;
  return r;
}

function caseName(p: PlannedCase): string {
  return `${p.scenario.id} (${p.protocol})`;
}

interface Interval {
  from: number;
  to: number;
}

/** An incomplete packet held for less than this cannot explain another case's failure. */
const MIN_STALL_MS = 100;

/** What the stall detection needs of a running case. */
interface RunningCase {
  /** Since when (performance.now()) one of its connections has held an incomplete packet, if one does. */
  incompleteSince(): number | undefined;
  /** Ends the case and closes its connections at once. */
  closeConnections(): Promise<void>;
}

interface Preflight {
  status: 'ok' | 'skipped' | 'error';
  /** The slowest of the CONNECT/CONNACK and PINGREQ/PINGRESP round trips measured (ms). */
  roundTripMs?: number;
  /** No CONNACK at all (silence, garbage, close), as opposed to a refusal. */
  noAnswer?: boolean;
  /** Refused for its credentials: 3.1.1 0x04/0x05, 5.0 0x86/0x87. */
  refusedCredentials?: boolean;
  message?: string;
  expected?: string;
  actual?: string;
}

/**
 * Can a connection to `target` be made, with its transport (TCP, TLS handshake, WebSocket upgrade)? The
 * reason when it cannot.
 */
export async function probeTcp(
  target: Target,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; detail: string }> {
  try {
    const c = await RawClient.connect({ ...target, connectTimeoutMs: timeoutMs, name: 'probe' });
    await c.destroy();
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** The first of a cluster's other nodes (`Target.nodes`) that does not accept a connection, described. */
async function unreachableNode(target: Target, timeoutMs: number): Promise<string | undefined> {
  const nodes = target.nodes ?? [];
  const probes = await Promise.all(nodes.map((n) => probeTcp({ ...target, ...n, nodes: [] }, timeoutMs)));
  const i = probes.findIndex((p) => !p.ok);
  if (i < 0) return undefined;
  const p = probes[i] as { detail: string };
  return `node ${i + 2} of the cluster (${nodes[i]!.host}:${nodes[i]!.port}) is unreachable: ${p.detail}`;
}

/** One valid CONNECT per protocol: tells a broker from a silent or hostile endpoint before any case runs. */
async function preflight(
  opts: RunOptions,
  protocol: ProtocolName,
  timeoutMs: number,
  runId: string,
  signal?: AbortSignal,
  identity: 'first' | 'second' = 'first',
  /** Measure the round trip with a few PINGREQs (the first check of a run; liveness probes do not). */
  measure = false,
): Promise<Preflight> {
  const username = identity === 'second' ? opts.username2 : opts.username;
  const password = identity === 'second' ? opts.password2 : opts.password;
  const version = protocol === '5.0' ? 5 : 4;
  let client: RawClient | undefined;
  // On interruption the check's connection goes at once (the caller has stopped waiting for it).
  const drop = (): void => void client?.destroy().catch(() => undefined);
  signal?.addEventListener('abort', drop, { once: true });
  try {
    client = await RawClient.connect({
      ...opts.target,
      protocolVersion: version,
      connectTimeoutMs: timeoutMs,
      maxPacketSize: 1024 * 1024,
      name: 'preflight',
      ...(signal ? { signal } : {}),
    });
    if (signal?.aborted) drop();
    const connect: ConnectPacket = {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: version,
      clean: true,
      keepAlive: 60,
      clientId: `mc${runId}pf${version}${identity === 'second' ? 'b' : ''}`,
    };
    if (username !== undefined) connect.username = username;
    if (password !== undefined) connect.password = Buffer.from(password);
    if (version === 5) connect.properties = {};
    const sentAt = performance.now();
    client.send(connect);
    const r = await client.expect({ type: 'connack' }, { timeoutMs });
    let roundTripMs = performance.now() - sentAt;
    if (!r.ok) {
      if (isLegacyRefusalOf5(version, r.actual)) {
        return {
          status: 'skipped',
          message: 'the broker declines MQTT 5.0 (it answered with a 3.1.1 CONNACK 0x01)',
        };
      }
      const actual = r.actual ? describeEvent(r.actual) : `nothing within ${timeoutMs} ms`;
      return {
        status: 'error',
        noAnswer: true,
        message: `the target did not answer a valid MQTT ${protocol} CONNECT with a CONNACK`,
        expected: 'CONNACK',
        actual,
      };
    }
    const code =
      r.event.kind === 'packet' && r.event.packet.type === 'connack' ? r.event.packet.reasonCode : 0;
    if (code === 0) {
      // A few PINGREQ round trips: quiet windows derive from the slowest one seen.
      for (let i = 0; measure && i < PING_SAMPLES; i++) {
        const t = performance.now();
        client.send({ type: 'pingreq' });
        const pong = await client.expect({ type: 'pingresp' }, { timeoutMs });
        if (!pong.ok) break;
        roundTripMs = Math.max(roundTripMs, performance.now() - t);
      }
      client.send(
        version === 5 ? { type: 'disconnect', reasonCode: 0, properties: {} } : { type: 'disconnect' },
      );
      return { status: 'ok', roundTripMs };
    }
    if ((version === 5 && code === 0x84) || (version === 4 && code === 0x01)) {
      return { status: 'skipped', message: `the broker declines MQTT ${protocol} (CONNACK code ${code})` };
    }
    const hex = `0x${code.toString(16).padStart(2, '0')}`;
    if (
      (version === 4 && (code === 0x04 || code === 0x05)) ||
      (version === 5 && (code === 0x86 || code === 0x87))
    ) {
      const flags = identity === 'second' ? '--username2/--password2' : '--username/--password';
      const what = code === 0x05 || code === 0x87 ? 'not authorized' : 'bad user name or password';
      const who = identity === 'second' ? 'the second identity' : 'the suite';
      const hint =
        username === undefined
          ? `the broker requires credentials: pass ${flags}`
          : `check ${flags} (user "${username}")`;
      return {
        status: 'error',
        refusedCredentials: true,
        message: `the broker refused ${who}'s MQTT ${protocol} CONNECT with ${hex} (${what}); ${hint}. No case was run.`,
      };
    }
    return {
      status: 'error',
      message: `the broker refused a valid MQTT ${protocol} CONNECT with code ${hex}; check --username/--password`,
    };
  } catch (err) {
    return { status: 'error', noAnswer: true, message: err instanceof Error ? err.message : String(err) };
  } finally {
    signal?.removeEventListener('abort', drop);
    await client?.close(500).catch(() => undefined);
  }
}

function caseBudget(c: ScenarioCase, steps: Step[], stepTimeoutMs: number, floor?: number): number {
  if (c.timeoutMs) return c.timeoutMs;
  let ms = 2000;
  for (const s of steps) {
    ms += stepTimeoutMs;
    if (s.kind === 'wait') ms += s.ms;
    if (s.kind === 'expect') {
      if (s.within) ms += s.within;
      if (s.expectation.kind === 'closed' && s.expectation.keepAlive) ms += KEEP_ALIVE_CLOSE_MAX_MS;
      if (s.expectation.kind === 'nothing')
        ms += s.expectation.ms === 'auto' ? stepTimeoutMs : s.expectation.ms;
    }
  }
  return Math.max(ms, floor ?? 0);
}

async function runCase(
  p: PlannedCase,
  index: number,
  opts: RunOptions & {
    stepTimeoutMs: number;
    runId: string;
    signal: AbortSignal;
    roundTripMs?: number;
    /** Called with the running case's handle when it starts, and with undefined when it ends. */
    onRunning?: (rc: RunningCase | undefined) => void;
    /** Called once the case's steps are over with when its connections held an incomplete packet. */
    onIncomplete?: (windows: Interval[]) => void;
  },
): Promise<CaseResult> {
  const c = p.scenario;
  const started = performance.now();
  // Ends this case's steps on a case timeout as well as on a run-wide abort.
  const caseAbort = new AbortController();
  setMaxListeners(0, caseAbort.signal);
  const ctx = new CaseContext({
    target: opts.target,
    protocol: p.protocol,
    stepTimeoutMs: opts.stepTimeoutMs,
    templater: new Templater({
      runId: opts.runId,
      caseIndex: index,
      protocol: p.protocol,
      ...(opts.topicPrefix !== undefined ? { topicPrefix: opts.topicPrefix } : {}),
    }),
    signal: caseAbort.signal,
    epoch: started,
    ...(opts.roundTripMs !== undefined ? { roundTripMs: opts.roundTripMs } : {}),
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...(opts.username2 !== undefined ? { username2: opts.username2 } : {}),
    ...(opts.password2 !== undefined ? { password2: opts.password2 } : {}),
  });
  const steps = c.steps.filter((s) => !s.protocols || s.protocols.includes(p.protocol));
  const budget = caseBudget(c, steps, opts.stepTimeoutMs, opts.caseTimeoutMs);
  let status: Verdict;
  let extra: { message?: string; expected?: string; actual?: string } = {};
  let timer: Deadline | undefined;
  const onAbort = (): void => {
    caseAbort.abort();
    void ctx.closeAll();
  };
  opts.signal.addEventListener('abort', onAbort);
  opts.onRunning?.({
    incompleteSince: () => {
      const times = ctx.allClients.map((c) => c.incompleteSince).filter((t): t is number => t !== undefined);
      return times.length > 0 ? started + Math.min(...times) : undefined;
    },
    closeConnections: async () => {
      caseAbort.abort();
      await ctx.closeAll();
    },
  });
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setDeadline(() => {
        reject(new HarnessError('CASE_TIMEOUT', `the case did not finish within ${budget} ms`));
        caseAbort.abort();
        void ctx.closeAll();
      }, budget);
    });
    const body = (async () => {
      for (const step of steps) {
        if (caseAbort.signal.aborted) throw new HarnessError('INTERRUPTED', 'interrupted');
        const def = STEP_DEFINITIONS[step.kind] as { run(s: Step, ctx: CaseContext): Promise<void> };
        await def.run(step, ctx);
      }
    })();
    body.catch(() => undefined);
    await Promise.race([body, timeout]);
    status = c.level === 'info' ? 'info' : 'passed';
    if (c.level === 'info') extra.message = 'observed: the broker behaves as the case describes';
  } catch (err) {
    if (opts.signal.aborted && !(err instanceof HarnessError && err.code !== 'INTERRUPTED')) {
      status = 'error';
      extra = { message: 'interrupted' };
    } else if (err instanceof ExpectationFailure) {
      status = c.level === 'must' ? 'failed' : c.level === 'should' ? 'non-strict' : 'info';
      extra = {
        message: c.level === 'info' ? `observed: ${err.message}` : err.message,
        expected: err.expected,
        actual: err.actual,
      };
    } else if (err instanceof CaseSkipped) {
      status = 'skipped';
      extra = { message: err.message };
    } else if (err instanceof HarnessError) {
      status = 'error';
      extra = { message: err.message };
      if (err.expected !== undefined) extra.expected = err.expected;
      if (err.actual !== undefined) extra.actual = err.actual;
    } else {
      status = 'error';
      extra = {
        message: `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      };
    }
  } finally {
    timer?.clear();
    opts.signal.removeEventListener('abort', onAbort);
    opts.onRunning?.(undefined);
  }
  opts.onIncomplete?.(
    ctx.allClients.flatMap((c) => {
      const w = c.incompleteWindow();
      return w ? [{ from: started + w.from, to: started + w.to }] : [];
    }),
  );
  await politeClose(ctx);
  const r = resultOf(p, status, performance.now() - started, extra);
  if (status !== 'passed' || opts.keepAllWireLogs) {
    let log = formatTranscript(mergeTranscripts(...ctx.allClients.map((cl) => cl.transcript())));
    if (log.length > MAX_WIRE_LOG_CHARS) log = `${log.slice(0, MAX_WIRE_LOG_CHARS)}\n… (wire log truncated)`;
    r.wireLog = log;
  }
  return r;
}

/** Ends the case's connections: DISCONNECT where still open (so no will fires), then close. */
async function politeClose(ctx: CaseContext): Promise<void> {
  await Promise.all(
    ctx.allClients.map(async (c) => {
      try {
        if (!c.closed) {
          c.send(
            ctx.version === 5
              ? { type: 'disconnect', reasonCode: 0, properties: {} }
              : { type: 'disconnect' },
          );
          await c.close(300);
        }
      } catch {
        // best effort
      }
      await c.destroy().catch(() => undefined);
    }),
  );
}
