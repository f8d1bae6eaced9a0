import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { QoS } from '../src/codec/index.js';

/** One user allowed to connect with a password. */
export interface BrokerUser {
  username: string;
  password: string;
}

/**
 * One ACL rule. When `acl` is configured, everything not allowed by a rule is denied; a matching rule with
 * `allow: false` denies even when another rule allows. `topic` is a filter pattern (`+`, `#`) in which `%u`
 * stands for the username and `%c` for the client identifier.
 */
export interface AclRule {
  topic: string;
  access: 'read' | 'write' | 'readwrite';
  /** Applies only to this username (absent: to everyone). */
  username?: string;
  /** Applies only to this client identifier (absent: to everyone). */
  clientId?: string;
  allow?: boolean;
}

/** Resource limits; every one has a safe default (see DEFAULT_LIMITS). */
export interface BrokerLimits {
  /** Largest packet accepted from a client, in bytes (announced as 5.0 Maximum Packet Size). */
  maxPacketSize?: number;
  maxConnections?: number;
  /** Sockets that send no CONNECT within this time are closed. */
  connectTimeoutMs?: number;
  /** Outgoing QoS 1/2 messages awaiting acknowledgement per session (5.0: also capped by the client's Receive Maximum). */
  maxInflight?: number;
  /** QoS 1/2 messages queued per session beyond the in-flight window or while offline; newer ones are dropped. */
  maxQueuedMessages?: number;
  /** Server Receive Maximum announced in 5.0 CONNACK (incoming QoS 1/2 in flight). */
  receiveMaximum?: number;
  /** Server Topic Alias Maximum announced in 5.0 CONNACK. */
  topicAliasMaximum?: number;
  maxTopicLength?: number;
  maxTopicLevels?: number;
  /** New sessions beyond this are refused (3.1.1 0x03 Server unavailable, 5.0 0x97 Quota exceeded). */
  maxSessions?: number;
  /** Retained messages on new topics beyond this are not stored (replacing and clearing still work). */
  maxRetainedMessages?: number;
  /** Subscriptions per session; more get SUBACK 0x80 (3.1.1) / 0x97 Quota exceeded (5.0). */
  maxSubscriptionsPerSession?: number;
  /** Longer client identifiers are refused (3.1.1 0x02, 5.0 0x85). */
  maxClientIdLength?: number;
  /** 5.0: a larger client keep-alive (or 0) is replaced by this via Server Keep Alive. */
  maxKeepAlive?: number;
  /** Cap on the 5.0 session expiry interval, in seconds. */
  maxSessionExpiryInterval?: number;
  maximumQoS?: QoS;
  retainAvailable?: boolean;
  /** 5.0: false announces Wildcard Subscription Available 0; a SUBSCRIBE with a wildcard -> DISCONNECT 0xA2. */
  wildcardSubscriptionAvailable?: boolean;
  /** 5.0: false announces Subscription Identifiers Available 0; a SUBSCRIBE with one -> DISCONNECT 0xA1. */
  subscriptionIdentifiersAvailable?: boolean;
  /** 5.0: false announces Shared Subscription Available 0; a `$share/` SUBSCRIBE -> DISCONNECT 0x9E. */
  sharedSubscriptionAvailable?: boolean;
}

/** An extra listener besides the main TCP one. `tls` and `wss` need PEM `cert` and `key` files. */
export interface ListenerConfig {
  type: 'tcp' | 'tls' | 'ws' | 'wss';
  /** Default: the broker's host. */
  host?: string;
  /** Default 0 (a free port; see RunningReferenceBroker.listeners). */
  port?: number;
  cert?: string;
  key?: string;
  /** CA bundle to verify client certificates against (then required). */
  ca?: string;
}

/**
 * The 5.0 enhanced authentication method the broker speaks (section 4.12): a fixed challenge-response. A
 * CONNECT (or a re-authentication AUTH 0x19) naming `method` gets AUTH 0x18 with `challenge` as
 * Authentication Data; the client must answer AUTH 0x18 with `response`. Any other method gets CONNACK 0x8C.
 */
export interface AuthenticationConfig {
  method: string;
  challenge: string;
  response: string;
}

/** The method the broker speaks unless the config says otherwise (`authentication: false` turns it off). */
export const DEFAULT_AUTHENTICATION: AuthenticationConfig = {
  method: 'mqtt-conform-challenge',
  challenge: 'challenge',
  response: 'response',
};

export interface BrokerConfig {
  users?: BrokerUser[];
  /** Default: DEFAULT_AUTHENTICATION; false: no enhanced authentication (every method gets 0x8C). */
  authentication?: AuthenticationConfig | false;
  listeners?: ListenerConfig[];
  /** Default: true when no users are configured, false otherwise. */
  allowAnonymous?: boolean;
  acl?: AclRule[];
  limits?: BrokerLimits;
}

export type ResolvedLimits = Required<BrokerLimits>;

export const DEFAULT_LIMITS: ResolvedLimits = {
  maxPacketSize: 16 * 1024 * 1024,
  maxConnections: 10_000,
  connectTimeoutMs: 10_000,
  maxInflight: 100,
  maxQueuedMessages: 1000,
  receiveMaximum: 65_535,
  topicAliasMaximum: 10,
  maxTopicLength: 65_535,
  maxTopicLevels: 128,
  maxClientIdLength: 65_535,
  maxSessions: 100_000,
  maxSubscriptionsPerSession: 10_000,
  maxRetainedMessages: 100_000,
  maxKeepAlive: 65_535,
  maxSessionExpiryInterval: 0xffffffff,
  maximumQoS: 2,
  retainAvailable: true,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  sharedSubscriptionAvailable: true,
};

export class BrokerConfigError extends Error {
  readonly code = 'BROKER_CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'BrokerConfigError';
  }
}

/** Reads a YAML or JSON broker config file (JSON is valid YAML). */
export function loadBrokerConfig(file: string): BrokerConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BrokerConfigError(`cannot read broker config ${file}: ${(err as Error).message}`);
  }
  return validateBrokerConfig(raw ?? {}, file);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the shape of a parsed config; `users` may also be given as a `{ name: password }` map. */
export function validateBrokerConfig(raw: unknown, where = 'config'): BrokerConfig {
  if (!isObject(raw)) throw new BrokerConfigError(`${where}: expected a mapping at the top level`);
  const known = new Set(['users', 'allowAnonymous', 'acl', 'limits', 'listeners', 'authentication']);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new BrokerConfigError(`${where}: unknown key "${key}"`);
  }
  const config: BrokerConfig = {};
  if (raw.users !== undefined) {
    const users: BrokerUser[] = [];
    if (Array.isArray(raw.users)) {
      for (const [i, u] of raw.users.entries()) {
        if (!isObject(u) || typeof u.username !== 'string' || typeof u.password !== 'string') {
          throw new BrokerConfigError(`${where}: users[${i}] needs string username and password`);
        }
        users.push({ username: u.username, password: u.password });
      }
    } else if (isObject(raw.users)) {
      for (const [username, password] of Object.entries(raw.users)) {
        if (typeof password !== 'string')
          throw new BrokerConfigError(`${where}: users.${username} must be a string`);
        users.push({ username, password });
      }
    } else {
      throw new BrokerConfigError(`${where}: users must be a list or a mapping`);
    }
    config.users = users;
  }
  if (raw.authentication !== undefined) {
    const a = raw.authentication;
    if (a === false) config.authentication = false;
    else if (
      isObject(a) &&
      Object.keys(a).every((k) => ['method', 'challenge', 'response'].includes(k)) &&
      typeof a.method === 'string' &&
      typeof a.challenge === 'string' &&
      typeof a.response === 'string'
    ) {
      config.authentication = { method: a.method, challenge: a.challenge, response: a.response };
    } else {
      throw new BrokerConfigError(
        `${where}: authentication must be false or { method, challenge, response } (strings)`,
      );
    }
  }
  if (raw.allowAnonymous !== undefined) {
    if (typeof raw.allowAnonymous !== 'boolean')
      throw new BrokerConfigError(`${where}: allowAnonymous must be boolean`);
    config.allowAnonymous = raw.allowAnonymous;
  }
  if (raw.acl !== undefined) {
    if (!Array.isArray(raw.acl)) throw new BrokerConfigError(`${where}: acl must be a list`);
    config.acl = raw.acl.map((r, i) => {
      if (!isObject(r) || typeof r.topic !== 'string')
        throw new BrokerConfigError(`${where}: acl[${i}] needs a topic`);
      const access = r.access ?? 'readwrite';
      if (access !== 'read' && access !== 'write' && access !== 'readwrite') {
        throw new BrokerConfigError(`${where}: acl[${i}].access must be read, write or readwrite`);
      }
      const rule: AclRule = { topic: r.topic, access };
      if (typeof r.username === 'string') rule.username = r.username;
      if (typeof r.clientId === 'string') rule.clientId = r.clientId;
      if (r.allow !== undefined) rule.allow = r.allow !== false;
      return rule;
    });
  }
  if (raw.listeners !== undefined) {
    if (!Array.isArray(raw.listeners)) throw new BrokerConfigError(`${where}: listeners must be a list`);
    config.listeners = raw.listeners.map((l, i) => {
      if (!isObject(l) || !['tcp', 'tls', 'ws', 'wss'].includes(String(l.type))) {
        throw new BrokerConfigError(`${where}: listeners[${i}].type must be tcp, tls, ws or wss`);
      }
      const out: ListenerConfig = { type: l.type as ListenerConfig['type'] };
      if (l.port !== undefined) {
        if (typeof l.port !== 'number')
          throw new BrokerConfigError(`${where}: listeners[${i}].port must be a number`);
        out.port = l.port;
      }
      for (const k of ['host', 'cert', 'key', 'ca'] as const) {
        if (l[k] === undefined) continue;
        if (typeof l[k] !== 'string')
          throw new BrokerConfigError(`${where}: listeners[${i}].${k} must be a string`);
        out[k] = l[k] as string;
      }
      if ((out.type === 'tls' || out.type === 'wss') && (out.cert === undefined || out.key === undefined)) {
        throw new BrokerConfigError(`${where}: listeners[${i}] (${out.type}) needs cert and key files`);
      }
      return out;
    });
  }
  if (raw.limits !== undefined) {
    if (!isObject(raw.limits)) throw new BrokerConfigError(`${where}: limits must be a mapping`);
    const limits: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw.limits)) {
      if (!(key in DEFAULT_LIMITS)) throw new BrokerConfigError(`${where}: unknown limit "${key}"`);
      const expected = typeof DEFAULT_LIMITS[key as keyof ResolvedLimits];
      if (typeof value !== expected)
        throw new BrokerConfigError(`${where}: limits.${key} must be a ${expected}`);
      checkLimit(key, value, where);
      limits[key] = value;
    }
    config.limits = limits as BrokerLimits;
  }
  return config;
}

/**
 * Ranges of the numeric limits. Those the protocol carries are bounded by their field: more than 65535 QoS 1/2
 * messages in flight would exhaust the packet identifiers [MQTT-2.3.1-4] (5.0 [MQTT-2.2.1-4]); Receive Maximum,
 * Topic Alias Maximum and Server Keep Alive are two-byte CONNACK fields (Receive Maximum and Maximum Packet Size
 * may not be 0); a Maximum Packet Size is at most 268435460 bytes.
 */
const LIMIT_RANGES: Partial<Record<keyof ResolvedLimits, readonly [number, number]>> = {
  maxPacketSize: [2, 268_435_460],
  maxInflight: [1, 65_535],
  receiveMaximum: [1, 65_535],
  topicAliasMaximum: [0, 65_535],
  maxKeepAlive: [0, 65_535],
  maxSessionExpiryInterval: [0, 0xffff_ffff],
  maximumQoS: [0, 2],
};

function checkLimit(key: string, value: unknown, where: string): void {
  if (typeof value !== 'number') return;
  const [min, max] = LIMIT_RANGES[key as keyof ResolvedLimits] ?? [0, Number.MAX_SAFE_INTEGER];
  if (!Number.isInteger(value) || value < min || value > max)
    throw new BrokerConfigError(`${where}: limits.${key} must be an integer from ${min} to ${max}`);
}

export function resolveLimits(config: BrokerConfig | undefined): ResolvedLimits {
  const limits = { ...DEFAULT_LIMITS, ...(config?.limits ?? {}) };
  for (const [key, value] of Object.entries(limits)) checkLimit(key, value, 'broker config');
  return limits;
}
