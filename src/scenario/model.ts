import type { PacketMatch } from '../client/types.js';
import type { EncodeOverrides, PacketType, Properties, QoS } from '../codec/index.js';
import type { ProtocolName } from './statements/index.js';

export type { ProtocolName };

/** How binding the checked behaviour is: must -> failed, should -> non-strict, info -> informational. */
export type CaseLevel = 'must' | 'should' | 'info';

export type Verdict = 'passed' | 'failed' | 'non-strict' | 'info' | 'skipped' | 'error';

export const ALL_PROTOCOLS: readonly ProtocolName[] = ['3.1.1', '5.0'];

export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export interface ScenarioFile {
  file: string;
  section: string;
  title: string;
  cases: ScenarioCase[];
}

export interface ScenarioCase {
  /** `<section>/<slug>`, stable across edits of the file. */
  id: string;
  section: string;
  title: string;
  description?: string;
  /** Statement ids checked, per protocol (the same rule has different ids in 3.1.1 and 5.0). */
  statements: Partial<Record<ProtocolName, string[]>>;
  level: CaseLevel;
  protocols: ProtocolName[];
  steps: Step[];
  /** Whole-case bound; defaults to the runner's. */
  timeoutMs?: number;
  /**
   * Time is the subject (keep-alive, will on keep-alive expiry, expiry): the case runs in a phase of its own
   * after the others, one at a time with nothing else in flight, so that other traffic cannot change when a
   * broker acts (some brokers check timers only when their event loop wakes).
   */
  timing?: boolean;
  /**
   * `timing: silent`: the subject is a timer the broker runs while the case's clients send nothing at all
   * (keep-alive expiry). Such cases run in a group of their own, with no client or broker traffic from other
   * cases, since any traffic may wake a broker that checks its timers only when its event loop wakes.
   */
  silentTiming?: boolean;
  /** `websocket`: the case is about MQTT over WebSocket (section 6) and is skipped on other targets. */
  transport?: 'websocket';
  /**
   * The case is about a clustered broker (its clients connect to different nodes, `node:` in connect steps;
   * set by `cluster: true` or derived from a `node:` above 1): skipped unless the target has two or more
   * nodes (`--node host:port`).
   */
  cluster?: true;
  pos: SourcePos;
}

interface StepBase {
  pos: SourcePos;
  /** Protocols this step applies to (default: all the case's). */
  protocols?: ProtocolName[];
}

export interface WillSpec {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

export interface ConnectSpec {
  clientId?: string;
  clean?: boolean;
  keepAlive?: number;
  username?: string;
  password?: Buffer;
  /** Use the run's --username/--password when the step names none (default true). */
  credentials?: boolean;
  /** Which of the run's identities connects: `second` is --username2/--password2 (the case is skipped without). */
  identity?: 'first' | 'second';
  will?: WillSpec;
  properties?: Properties;
  /** Protocol level byte written in CONNECT (default: the case's protocol). */
  protocolLevel?: number;
  protocolName?: string;
  overrides?: EncodeOverrides;
  /** A packet sent instead of CONNECT (a connection whose first packet is not CONNECT); no CONNACK is awaited. */
  firstPacket?: Record<string, unknown> & { type: PacketType };
  /** Raw bytes written instead of CONNECT (hex in YAML, never templated); no CONNACK is awaited. */
  firstBytes?: Buffer;
  /** 5.0 properties the accepting CONNACK must announce with these values, or the case is skipped. */
  skipUnless?: Properties;
  /** Partial CONNACK match; when given, a mismatch is a conformance failure. `false`: do not wait. */
  connack?: Record<string, unknown> | false;
  /** Which node of a clustered broker to connect to (1, the target, by default; `--node` adds the others). */
  node?: number;
}

export interface ConnectStep extends StepBase, ConnectSpec {
  kind: 'connect';
  as: string;
}

export interface ReconnectStep extends StepBase, ConnectSpec {
  kind: 'reconnect';
  as: string;
}

export interface SendStep extends StepBase {
  kind: 'send';
  as: string;
  packet?: Record<string, unknown> & { type: PacketType };
  hex?: Buffer;
  overrides?: EncodeOverrides;
  /** Write the bytes in this many pieces (over WebSocket: that many frames, [MQTT-6.0.0-2]). */
  pieces?: number;
  /** `text`: over WebSocket, send the bytes in a text frame [MQTT-6.0.0-1]. */
  frame?: 'text';
}

export interface PublishStep extends StepBase {
  kind: 'publish';
  as: string;
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  packetId?: number;
  properties?: Properties;
  /** Complete the QoS 1/2 exchange (default true). */
  ack: boolean;
  /**
   * 5.0: go one past a limit the broker announced in CONNACK: `receiveMaximum` sends Receive Maximum + 1
   * PUBLISH packets without waiting, `maximumPacketSize` pads the payload to Maximum Packet Size + 1 bytes.
   */
  exceed?: 'receiveMaximum' | 'maximumPacketSize';
}

export interface SubscriptionSpec {
  topic: string;
  qos: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribeStep extends StepBase {
  kind: 'subscribe';
  as: string;
  filters: SubscriptionSpec[];
  packetId?: number;
  properties?: Properties;
  ack: boolean;
  /** A grant lower than requested turns the case to skipped unless this is true. */
  allowDowngrade: boolean;
}

export interface UnsubscribeStep extends StepBase {
  kind: 'unsubscribe';
  as: string;
  filters: string[];
  packetId?: number;
  properties?: Properties;
  ack: boolean;
}

export interface DisconnectStep extends StepBase {
  kind: 'disconnect';
  as: string;
  reasonCode?: number;
  properties?: Properties;
}

export interface CloseStep extends StepBase {
  kind: 'close';
  as: string;
  /** true (default): TCP reset, as a crashed client; false: orderly FIN. */
  abrupt: boolean;
}

export type Expectation =
  | { kind: 'packet'; match: PacketMatch }
  /**
   * The connection is closed. `keepAlive`: closed because the client went silent, no later than one and a
   * half times the keep-alive plus slack, counted from the client's last packet; the effective keep-alive is
   * the Server Keep Alive where the 5.0 CONNACK announced one. `notBeforePeriod` (with keepAlive): and no
   * sooner than the keep-alive period, which the standard does not require (a server may disconnect a client
   * it deems inactive at any time): for info cases. `noPacket`: closed with nothing at all before it, not
   * even a refusing CONNACK (3.1.1 [MQTT-3.1.4-1]).
   */
  | { kind: 'closed'; keepAlive?: true; notBeforePeriod?: true; noPacket?: true }
  /** A quiet window: `ms` as written, or 'auto' (derived from the target's measured round trip). */
  | { kind: 'nothing'; ms: number | 'auto' }
  /** The first event decides which alternative applies; an alternative may be a sequence. */
  | { kind: 'oneOf'; options: Expectation[][] }
  | { kind: 'allOf'; matches: PacketMatch[] };

export interface ExpectStep extends StepBase {
  kind: 'expect';
  as: string;
  expectation: Expectation;
  /** Time bound for the expectation (default: the step timeout). */
  within?: number;
  /** Packet types consumed and ignored while waiting. */
  skip?: PacketType[];
  /** A positive control: when the expectation is not met, the case is skipped with this reason. */
  orSkip?: string;
  /**
   * Skipped with this reason only when nothing at all came by the deadline (the broker may hold the packet
   * back, e.g. one message in flight at a time); a packet that does not match still fails.
   */
  orSkipIfNothing?: string;
  /** An answer that means the broker declines a feature: when the first event matches it, the case is skipped. */
  skipOn?: { match: PacketMatch; reason: string };
  /** Another client: the packet may come to either (the next event of one of them). */
  orAs?: string;
}

export interface WaitStep extends StepBase {
  kind: 'wait';
  ms: number;
}

export type Step =
  | ConnectStep
  | ReconnectStep
  | SendStep
  | PublishStep
  | SubscribeStep
  | UnsubscribeStep
  | DisconnectStep
  | CloseStep
  | ExpectStep
  | WaitStep;

export type StepKind = Step['kind'];
