import type { Packet } from '../../../src/codec/index.js';
import { ack, type FaultDef } from './types.js';

/** Limits a 5.0 broker may legitimately announce in an accepting CONNACK. */
function announce(extra: Record<string, number>): FaultDef['down'] {
  return (p, conn) =>
    p.type === 'connack' && p.reasonCode === 0 && conn.version === 5
      ? { ...p, properties: { ...(p.properties ?? {}), ...extra } }
      : 'raw';
}

const isAck = (p: Packet): p is Packet & { packetId: number } =>
  p.type === 'puback' ||
  p.type === 'pubrec' ||
  p.type === 'pubcomp' ||
  p.type === 'suback' ||
  p.type === 'unsuback';

/** The faults of the first scenario set; each breaks one rule (or, where said, is legitimate behaviour). */
export const CORE_FAULTS = {
  none: { describe: 'no fault: a transparent proxy' },
  'never-close': {
    describe: 'when the broker closes a connection, the client side stays open and silent',
    keepClientOpen: 'always',
  },
  'drop-publish': {
    describe: 'every PUBLISH to clients is dropped',
    down: (p) => (p.type === 'publish' ? null : 'raw'),
  },
  'drop-retained': {
    describe: 'PUBLISH packets with RETAIN 1 to clients are dropped',
    down: (p) => (p.type === 'publish' && p.retain ? null : 'raw'),
  },
  'force-retain': {
    describe: 'RETAIN 1 on every PUBLISH to clients',
    down: (p) => (p.type === 'publish' ? { ...p, retain: true } : 'raw'),
  },
  'clear-retain': {
    describe: 'RETAIN 0 on every PUBLISH to clients',
    down: (p) => (p.type === 'publish' ? { ...p, retain: false } : 'raw'),
  },
  'ignore-retained-update': {
    describe: 'a retained PUBLISH to a topic that already got one is dropped (and acknowledged by the proxy)',
    up: (p, conn) => {
      if (p.type !== 'publish' || !p.retain) return 'raw';
      const seen = (conn.shared.get('retainedTopics') as Set<string> | undefined) ?? new Set<string>();
      conn.shared.set('retainedTopics', seen);
      if (!seen.has(p.topic)) {
        seen.add(p.topic);
        return 'raw';
      }
      if (p.qos === 1 && p.packetId !== undefined) conn.toClient(ack('puback', p.packetId, conn.version));
      else if (p.qos === 2 && p.packetId !== undefined)
        conn.toClient(ack('pubrec', p.packetId, conn.version));
      return null;
    },
  },
  'no-will': {
    describe: 'the will is stripped from CONNECT (never published)',
    up: (p) => {
      if (p.type === 'connect' && p.will) {
        const { will: _w, ...rest } = p;
        return rest;
      }
      return 'raw';
    },
  },
  'will-on-disconnect': {
    describe: 'a client DISCONNECT becomes an abrupt close towards the broker (the will fires)',
    up: (p) => (p.type === 'disconnect' ? 'abort-broker' : 'raw'),
  },
  'session-present-flip': {
    describe: 'CONNACK Session Present inverted',
    down: (p) => (p.type === 'connack' ? { ...p, sessionPresent: !p.sessionPresent } : 'raw'),
  },
  'lose-session': {
    describe:
      'every CONNECT reaches the broker with Clean 1, yet a CONNACK to Clean 0 claims Session Present 1',
    up: (p, conn) => {
      if (p.type !== 'connect') return 'raw';
      conn.state.set('askedResume', !p.clean);
      return { ...p, clean: true };
    },
    down: (p, conn) =>
      p.type === 'connack' && p.reasonCode === 0 && conn.state.get('askedResume')
        ? { ...p, sessionPresent: true }
        : 'raw',
  },
  'connack-accept-all': {
    describe: 'refusing CONNACKs become acceptances, and the connection stays open',
    keepClientOpen: 'after-refusal',
    down: (p) => (p.type === 'connack' && p.reasonCode !== 0 ? { ...p, reasonCode: 0 } : 'raw'),
  },
  'drop-pingresp': {
    describe: 'PINGRESP dropped',
    down: (p) => (p.type === 'pingresp' ? null : 'raw'),
  },
  'ack-wrong-id': {
    describe: 'acknowledgements to clients (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK) carry packet id + 1',
    down: (p) => (isAck(p) ? { ...p, packetId: (p.packetId % 65535) + 1 } : 'raw'),
  },
  'drop-pubcomp': {
    describe: 'PUBCOMP to clients dropped',
    down: (p) => (p.type === 'pubcomp' ? null : 'raw'),
  },
  'drop-pubrel': {
    describe: 'PUBREL to clients dropped',
    down: (p) => (p.type === 'pubrel' ? null : 'raw'),
  },
  'qos-downgrade': {
    describe: 'QoS 1/2 PUBLISH to clients delivered as QoS 0',
    down: (p) => {
      if (p.type !== 'publish' || p.qos === 0) return 'raw';
      const { packetId: _id, ...rest } = p;
      return { ...rest, qos: 0, dup: false };
    },
  },
  'qos-upgrade': {
    describe: 'QoS 0 PUBLISH to clients delivered as QoS 1 (with a packet id)',
    down: (p, conn) =>
      p.type === 'publish' && p.qos === 0 ? { ...p, qos: 1, packetId: conn.nextProxyId() } : 'raw',
  },
  'dup-at-qos0': {
    describe: 'DUP 1 on QoS 0 PUBLISH to clients',
    down: (p) => (p.type === 'publish' && p.qos === 0 ? { ...p, dup: true } : 'raw'),
  },
  'ignore-unsubscribe': {
    describe: 'UNSUBSCRIBE is swallowed and answered by the proxy; the subscription stays',
    up: (p, conn) => {
      if (p.type !== 'unsubscribe') return 'raw';
      conn.toClient(
        conn.version === 5
          ? { type: 'unsuback', packetId: p.packetId, reasonCodes: p.topics.map(() => 0), properties: {} }
          : { type: 'unsuback', packetId: p.packetId },
      );
      return null;
    },
  },
  'dollar-leak': {
    describe: 'a client PUBLISH to a topic starting with $ loses the $ (so wildcard subscribers get it)',
    up: (p) => (p.type === 'publish' && p.topic.startsWith('$') ? { ...p, topic: p.topic.slice(1) } : 'raw'),
  },
  'close-on-dollar': {
    describe: 'a client publishing to a topic starting with $ is disconnected (legitimate: 4.7.2 SHOULD)',
    up: (p) => (p.type === 'publish' && p.topic.startsWith('$') ? 'abort-broker' : 'raw'),
  },
  'rewrite-topic': {
    describe: 'PUBLISH to clients gets one more topic level (`/x`)',
    down: (p) => (p.type === 'publish' ? { ...p, topic: `${p.topic}/x` } : 'raw'),
  },
  'refuse-5': {
    describe: 'every 5.0 CONNECT is answered with CONNACK 0x84 and closed (a broker that declines 5.0)',
    up: (p) => (p.type === 'connect' && p.protocolVersion === 5 ? 'refuse' : 'raw'),
  },
  'refuse-client-id-23': {
    describe: 'a CONNECT with a 23-character client identifier is refused (0x02 / 0x85) and closed',
    up: (p) => (p.type === 'connect' && p.clientId.length === 23 ? 'refuse-id' : 'raw'),
  },
  'grant-qos1': {
    describe: 'SUBACK grants QoS 1 where QoS 2 was granted',
    down: (p) =>
      p.type === 'suback' ? { ...p, reasonCodes: p.reasonCodes.map((c) => (c === 2 ? 1 : c)) } : 'raw',
  },
  'grant-qos0': {
    describe: 'SUBACK grants QoS 0 wherever QoS 1 or 2 was granted (legitimate: a server may grant less)',
    down: (p) =>
      p.type === 'suback'
        ? { ...p, reasonCodes: p.reasonCodes.map((c) => (c === 1 || c === 2 ? 0 : c)) }
        : 'raw',
  },
  'ignore-retain-handling': {
    describe: '5.0 SUBSCRIBE options lose Retain Handling (always 0: retained messages are sent)',
    up: (p) =>
      p.type === 'subscribe'
        ? { ...p, subscriptions: p.subscriptions.map((x) => ({ ...x, retainHandling: 0 as const })) }
        : 'raw',
  },
  'ignore-no-local': {
    describe: '5.0 SUBSCRIBE options lose No Local (a client gets its own messages)',
    up: (p) =>
      p.type === 'subscribe'
        ? { ...p, subscriptions: p.subscriptions.map((x) => ({ ...x, noLocal: false })) }
        : 'raw',
  },
  'server-keep-alive-60': {
    describe: 'accepting 5.0 CONNACKs announce Server Keep Alive 60 (legitimate)',
    down: announce({ serverKeepAlive: 60 }),
  },
  'maximum-qos-1': {
    describe: 'accepting 5.0 CONNACKs announce Maximum QoS 1 (legitimate)',
    down: announce({ maximumQoS: 1 }),
  },
  'session-expiry-0': {
    describe:
      'accepting 5.0 CONNACKs announce Session Expiry Interval 0 (legitimate: the broker keeps no session)',
    down: announce({ sessionExpiryInterval: 0 }),
  },
} as const satisfies Record<string, FaultDef>;

/** The fault that breaks the rule each first-set case checks (the proof that the case can fail). */
export const CORE_CASE_FAULTS: Record<string, keyof typeof CORE_FAULTS | Array<keyof typeof CORE_FAULTS>> = {
  '2.2.3/five-byte-remaining-length': 'never-close',
  '3.1.0/second-connect-closes': 'never-close',
  '3.1.2/unsupported-protocol-level': ['connack-accept-all', 'never-close'],
  '3.1.2/reserved-flag-set': 'never-close',
  '3.1.2/will-published-on-abrupt-close': 'no-will',
  '3.1.2/will-discarded-on-disconnect': 'will-on-disconnect',
  '3.1.2/will-retained': 'clear-retain',
  '3.1.3/empty-client-id-needs-clean-session': 'connack-accept-all',
  '3.1.3/client-id-23-characters': 'refuse-client-id-23',
  '3.1.4/session-takeover': 'never-close',
  '3.2.2/session-present-zero-on-clean': 'session-present-flip',
  '3.2.2/session-present-one-on-resume': 'lose-session',
  '3.3.1/retain-stored-and-sent': 'drop-retained',
  '3.3.1/retain-replaces-stored': 'ignore-retained-update',
  '3.3.1/retain-empty-payload-clears': 'ignore-retained-update',
  '3.3.1/retain-flag-cleared-on-live-delivery': 'force-retain',
  '3.3.1/qos-bits-both-set': 'never-close',
  '3.3.1/retain-qos0-replaces-stored': 'ignore-retained-update',
  '3.3.1/retain-qos0-stored': 'ignore-retained-update',
  '3.3.1/retain-handling-2-sends-none': 'ignore-retain-handling',
  '3.8.3/no-local': 'ignore-no-local',
  '3.3.2/wildcard-in-topic-name': 'never-close',
  '3.6.1/reserved-flags-not-0010': 'never-close',
  '3.8.1/reserved-flags-not-0010': 'never-close',
  '3.8.4/suback-per-filter': 'ack-wrong-id',
  '3.8.4/delivered-qos-is-minimum': 'qos-upgrade',
  '3.10.4/unsubscribe-stops-delivery': 'ignore-unsubscribe',
  '3.10.4/unsuback-without-subscription': 'ack-wrong-id',
  '3.12.4/pingresp-keeps-alive': 'drop-pingresp',
  '4.3.1/qos0-delivery': 'dup-at-qos0',
  '4.3.2/puback-echoes-packet-id': 'ack-wrong-id',
  '4.3.2/qos1-delivery': 'qos-downgrade',
  '4.3.3/qos2-inbound-flow': 'drop-pubcomp',
  '4.3.3/qos2-outbound-flow': 'drop-pubrel',
  '4.7.1/multi-level-wildcard': 'drop-publish',
  '4.7.1/single-level-wildcard': 'rewrite-topic',
  '4.7.2/wildcard-skips-dollar-topics': 'dollar-leak',
};
