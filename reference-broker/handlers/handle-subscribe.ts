import { isValidTopicFilter, type QoS, ReasonCode, type SubscribePacket } from '../../src/codec/index.js';
import type { Connection } from '../connection.js';
import type { SubEntry } from '../session.js';

export interface ParsedFilter {
  topicFilter: string;
  group: string | undefined;
}

/** Splits `$share/{group}/{filter}`; undefined when the shared form is invalid (section 4.8.2). */
export function parseFilter(filter: string): ParsedFilter | undefined {
  if (!filter.startsWith('$share/')) return { topicFilter: filter, group: undefined };
  const slash = filter.indexOf('/', 7);
  if (slash < 0) return undefined;
  const group = filter.slice(7, slash);
  if (group === '' || group.includes('+') || group.includes('#')) return undefined;
  const topicFilter = filter.slice(slash + 1);
  if (topicFilter === '') return undefined;
  return { topicFilter, group };
}

/**
 * 3.1.1 knows no shared subscriptions: `$share/...` is an ordinary filter there, matched level by level like any
 * other, so a 3.1.1 subscriber only ever gets topics its filter matches (3.1.1 [MQTT-3.3.2-3]).
 */
function plainFilter(filter: string): ParsedFilter | undefined {
  if (filter.length === 0 || filter.includes('\u0000')) return undefined;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return undefined;
    if (level.includes('+') && level !== '+') return undefined;
  }
  return { topicFilter: filter, group: undefined };
}

function levelCount(filter: string): number {
  let n = 1;
  for (let i = 0; i < filter.length; i++) if (filter.charCodeAt(i) === 47) n++;
  return n;
}

/**
 * SUBSCRIBE: every filter is processed in order as if in its own packet (3.1.1 [MQTT-3.8.4-4] [MQTT-3.8.4-5]), and one
 * SUBACK carries a code per filter in the same order [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.9.3-1] (5.0
 * [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.8.4-7]). Retained messages follow the SUBACK.
 */
export function handleSubscribe(conn: Connection, packet: SubscribePacket): void {
  const broker = conn.broker;
  const limits = broker.limits;
  const session = conn.session!;
  const v5 = conn.version === 5;
  const subscriptionId = v5 ? packet.properties?.subscriptionIdentifier?.[0] : undefined;
  if (v5) {
    // A feature the CONNACK announced unavailable, used anyway, is a Protocol Error: DISCONNECT 0xA1, 0xA2 or
    // 0x9E (sections 3.2.2.3.11-13, closing per [MQTT-4.13.1-1]).
    if (subscriptionId !== undefined && !limits.subscriptionIdentifiersAvailable) {
      conn.violation(
        ReasonCode.SubscriptionIdentifiersNotSupported,
        'subscription identifiers not supported',
      );
      return;
    }
    for (const sub of packet.subscriptions) {
      const shared = sub.topic.startsWith('$share/');
      if (shared && !limits.sharedSubscriptionAvailable) {
        conn.violation(ReasonCode.SharedSubscriptionsNotSupported, 'shared subscriptions not supported');
        return;
      }
      const filter = shared ? (parseFilter(sub.topic)?.topicFilter ?? '') : sub.topic;
      if (/[+#]/.test(filter) && !limits.wildcardSubscriptionAvailable) {
        conn.violation(ReasonCode.WildcardSubscriptionsNotSupported, 'wildcard subscriptions not supported');
        return;
      }
    }
    for (const sub of packet.subscriptions) {
      // No Local on a shared subscription is a Protocol Error (section 3.8.3.1): the whole packet is refused
      // before any of its filters takes effect.
      if (sub.noLocal === true && parseFilter(sub.topic)?.group !== undefined) {
        conn.violation(ReasonCode.ProtocolError, 'No Local on a shared subscription');
        return;
      }
    }
  }
  const codes: number[] = [];
  const retainedFor: SubEntry[] = [];
  for (const sub of packet.subscriptions) {
    const parsed = v5 ? parseFilter(sub.topic) : plainFilter(sub.topic);
    const valid =
      parsed !== undefined &&
      (!v5 || isValidTopicFilter(parsed.topicFilter)) &&
      sub.topic.length <= limits.maxTopicLength &&
      levelCount(parsed.topicFilter) <= limits.maxTopicLevels;
    if (!valid || parsed === undefined) {
      // Invalid filter: failure code for that filter only (3.1.1 0x80; 5.0 0x8F Topic Filter invalid). Wildcards
      // are supported, so a valid filter is never refused for containing them (3.1.1 [MQTT-3.8.3-2]).
      codes.push(v5 ? ReasonCode.TopicFilterInvalid : 0x80);
      continue;
    }
    if (!v5 && !limits.wildcardSubscriptionAvailable && /[+#]/.test(sub.topic)) {
      // A server without wildcard subscriptions rejects every filter containing them (3.1.1 [MQTT-3.8.3-2]).
      codes.push(0x80);
      continue;
    }
    if (
      broker.acl.enabled &&
      !broker.acl.canSubscribe({ clientId: session.clientId, username: session.username }, parsed.topicFilter)
    ) {
      // 3.1.1: 0x80 failure; 5.0: 0x87 Not authorized.
      codes.push(v5 ? ReasonCode.NotAuthorized : 0x80);
      continue;
    }
    if (
      !session.subscriptions.has(sub.topic) &&
      session.subscriptions.size >= limits.maxSubscriptionsPerSession
    ) {
      codes.push(v5 ? ReasonCode.QuotaExceeded : 0x80);
      continue;
    }
    const qos = Math.min(sub.qos, limits.maximumQoS) as QoS;
    const entry: SubEntry = {
      session,
      filter: sub.topic,
      topicFilter: parsed.topicFilter,
      group: parsed.group,
      qos,
      noLocal: v5 && sub.noLocal === true,
      retainAsPublished: v5 && sub.retainAsPublished === true,
      retainHandling: v5 ? (sub.retainHandling ?? 0) : 0,
      subscriptionId,
    };
    // An identical filter replaces the existing subscription [MQTT-3.8.4-3].
    const previous = session.subscriptions.get(sub.topic);
    if (previous !== undefined) broker.tree.remove(previous);
    session.subscriptions.set(sub.topic, entry);
    broker.tree.add(entry);
    // Granted QoS may be lower than requested (5.0 [MQTT-3.2.2-10]); SUBACK reflects it.
    codes.push(qos);
    // Retain Handling 0: send retained; 1: only for a new subscription; 2: never (5.0 [MQTT-3.3.1-9]
    // [MQTT-3.3.1-10] [MQTT-3.3.1-11]); 3.1.1 always sends them [MQTT-3.3.1-6], also on replacement
    // [MQTT-3.8.4-3] (5.0 [MQTT-3.8.4-4]). Shared subscriptions get no retained messages (section 4.8.2).
    if (
      parsed.group === undefined &&
      (entry.retainHandling === 0 || (entry.retainHandling === 1 && previous === undefined))
    ) {
      retainedFor.push(entry);
    }
  }
  // SUBACK echoes the packet id [MQTT-2.3.1-7] (5.0 [MQTT-2.2.1-6]), no user properties (5.0 [MQTT-3.9.2-2]).
  // Only the codes the SUBACK tables allow [MQTT-3.9.3-2] (5.0 [MQTT-3.9.3-2]); no reason string (5.0 [MQTT-3.9.2-1]).
  conn.send(
    v5
      ? { type: 'suback', packetId: packet.packetId, reasonCodes: codes, properties: {} }
      : { type: 'suback', packetId: packet.packetId, reasonCodes: codes },
  );
  for (const entry of retainedFor) broker.sendRetained(entry);
}
