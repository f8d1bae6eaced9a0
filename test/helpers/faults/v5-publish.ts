import type { Packet, Properties } from '../../../src/codec/index.js';
import type { FaultConn, FaultDef } from './types.js';

type Publish = Extract<Packet, { type: 'publish' }>;
type Subscription = Extract<Packet, { type: 'subscribe' }>['subscriptions'][number];

/** A PUBLISH to clients with its properties changed by `f` (other packets pass). */
function downProps(f: (props: Properties, p: Publish, conn: FaultConn) => Properties): FaultDef['down'] {
  return (p, conn) =>
    p.type === 'publish' && conn.version === 5
      ? { ...p, properties: f({ ...(p.properties ?? {}) }, p, conn) }
      : 'raw';
}

function without(props: Properties, ...names: Array<keyof Properties>): Properties {
  const out = { ...props };
  for (const n of names) delete out[n];
  return out;
}

const ACKS = new Set(['puback', 'pubrec', 'pubrel', 'pubcomp', 'suback', 'unsuback']);
type Ack = Extract<Packet, { type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'suback' | 'unsuback' }>;
const isAck = (p: Packet): p is Ack => ACKS.has(p.type);

/** A per-connection map kept in `conn.state` (or `conn.shared` when `shared`). */
function stateMap<K, V>(conn: FaultConn, key: string, shared = false): Map<K, V> {
  const where = shared ? conn.shared : conn.state;
  let m = where.get(key) as Map<K, V> | undefined;
  if (!m) {
    m = new Map();
    where.set(key, m);
  }
  return m;
}

/** Limits a 5.0 broker may legitimately announce in an accepting CONNACK (cases depending on them skip). */
function announce(extra: Properties): FaultDef['down'] {
  return (p, conn) =>
    p.type === 'connack' && p.reasonCode === 0 && conn.version === 5
      ? { ...p, properties: { ...(p.properties ?? {}), ...extra } }
      : 'raw';
}

/** The 5.0 PUBLISH-property, expiry, topic alias, subscription option and flow control faults. */
export const V5_PUBLISH_FAULTS = {
  'strip-payload-format': {
    describe: 'the Payload Format Indicator is removed from PUBLISH packets to clients',
    down: downProps((props) => without(props, 'payloadFormatIndicator')),
  },
  'alter-content-type': {
    describe: 'the Content Type of PUBLISH packets to clients is lower-cased',
    down: downProps((props) =>
      props.contentType === undefined ? props : { ...props, contentType: props.contentType.toLowerCase() },
    ),
  },
  'alter-response-topic': {
    describe: 'the Response Topic of PUBLISH packets to clients loses its empty levels',
    down: downProps((props) =>
      props.responseTopic === undefined
        ? props
        : { ...props, responseTopic: props.responseTopic.replace(/\/+/g, '/') },
    ),
  },
  'alter-correlation-data': {
    describe: 'the Correlation Data of PUBLISH packets to clients is cut at its first zero byte',
    down: downProps((props) => {
      const d = props.correlationData;
      if (d === undefined) return props;
      const zero = d.indexOf(0);
      return { ...props, correlationData: Buffer.from(zero < 0 ? d : d.subarray(0, zero)) };
    }),
  },
  'sort-user-properties': {
    describe: 'the user properties of PUBLISH packets to clients are sorted by name (order lost)',
    down: downProps((props) =>
      props.userProperties === undefined
        ? props
        : { ...props, userProperties: [...props.userProperties].sort((a, b) => a[0].localeCompare(b[0])) },
    ),
  },
  'dedupe-user-properties': {
    describe: 'repeated user properties (same name and value) of PUBLISH packets to clients are sent once',
    down: downProps((props) => {
      if (props.userProperties === undefined) return props;
      const seen = new Set<string>();
      const kept = props.userProperties.filter(([k, v]) => {
        const key = `${k}\u0000${v}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      return { ...props, userProperties: kept };
    }),
  },
  'strip-retained-properties': {
    describe:
      'retained PUBLISH packets to clients lose their payload format, content type, response topic, correlation data and user properties',
    down: (p, conn) =>
      p.type === 'publish' && p.retain && conn.version === 5
        ? {
            ...p,
            properties: without(
              p.properties ?? {},
              'payloadFormatIndicator',
              'contentType',
              'responseTopic',
              'correlationData',
              'userProperties',
            ),
          }
        : 'raw',
  },
  'ignore-message-expiry': {
    describe: 'the Message Expiry Interval of client PUBLISH packets is dropped (messages never expire)',
    up: (p) =>
      p.type === 'publish' && p.properties?.messageExpiryInterval !== undefined
        ? { ...p, properties: without(p.properties, 'messageExpiryInterval') }
        : 'raw',
  },
  'keep-message-expiry': {
    describe:
      'PUBLISH packets to clients carry the Message Expiry Interval as received, not reduced by the wait',
    up: (p, conn) => {
      if (p.type === 'publish' && p.properties?.messageExpiryInterval !== undefined && p.topic !== '')
        stateMap<string, number>(conn, 'expiryByTopic', true).set(
          p.topic,
          p.properties.messageExpiryInterval,
        );
      return 'raw';
    },
    down: downProps((props, p, conn) => {
      const original = stateMap<string, number>(conn, 'expiryByTopic', true).get(p.topic);
      return original === undefined || props.messageExpiryInterval === undefined
        ? props
        : { ...props, messageExpiryInterval: original };
    }),
  },
  'ignore-topic-alias': {
    describe: 'the Topic Alias of client PUBLISH packets is dropped (an alias alone leaves an empty topic)',
    up: (p) =>
      p.type === 'publish' && p.properties?.topicAlias !== undefined
        ? { ...p, properties: without(p.properties, 'topicAlias') }
        : 'raw',
  },
  'alias-across-connections': {
    describe:
      'topic aliases are kept per client identifier across connections (an alias-only PUBLISH on a new connection gets the topic of the old one)',
    up: (p, conn) => {
      if (p.type === 'connect') {
        conn.state.set('clientId', p.clientId);
        return 'raw';
      }
      if (p.type !== 'publish' || p.properties?.topicAlias === undefined) return 'raw';
      const id = conn.state.get('clientId') as string | undefined;
      const key = `${id}\u0000${p.properties.topicAlias}`;
      const known = stateMap<string, string>(conn, 'aliases', true);
      const mine = stateMap<number, string>(conn, 'ownAliases');
      if (p.topic !== '') {
        known.set(key, p.topic);
        mine.set(p.properties.topicAlias, p.topic);
        return 'raw';
      }
      const old = known.get(key);
      return !mine.has(p.properties.topicAlias) && old !== undefined ? { ...p, topic: old } : 'raw';
    },
  },
  'server-alias-2': {
    describe:
      'PUBLISH packets to 5.0 clients carry Topic Alias 2 (beside the topic name), whatever the client allowed',
    down: downProps((props) => ({ ...props, topicAlias: 2 })),
  },
  'ignore-retain-as-published': {
    describe: '5.0 SUBSCRIBE options lose Retain As Published (RETAIN cleared on live delivery)',
    up: (p) =>
      p.type === 'subscribe'
        ? { ...p, subscriptions: p.subscriptions.map((x) => ({ ...x, retainAsPublished: false })) }
        : 'raw',
  },
  'strip-subscription-ids': {
    describe: 'Subscription Identifiers are removed from PUBLISH packets to clients',
    down: downProps((props) => without(props, 'subscriptionIdentifier')),
  },
  'first-subscription-id-only': {
    describe: 'a PUBLISH to a client carries only the first of its Subscription Identifiers',
    down: downProps((props) =>
      props.subscriptionIdentifier && props.subscriptionIdentifier.length > 1
        ? { ...props, subscriptionIdentifier: props.subscriptionIdentifier.slice(0, 1) }
        : props,
    ),
  },
  'ignore-receive-maximum': {
    describe: 'the Receive Maximum of a 5.0 CONNECT is removed (the broker may send up to 65,535 at once)',
    up: (p) =>
      p.type === 'connect' && p.properties?.receiveMaximum !== undefined
        ? { ...p, properties: without(p.properties, 'receiveMaximum') }
        : 'raw',
  },
  'silent-at-zero-quota': {
    describe:
      'while the client has as many QoS 1/2 PUBLISH packets unacknowledged as its Receive Maximum, every other packet to it is dropped',
    up: (p, conn) => {
      if (p.type === 'connect') conn.state.set('receiveMaximum', p.properties?.receiveMaximum ?? 65535);
      if (p.type === 'puback' || p.type === 'pubcomp' || (p.type === 'pubrec' && (p.reasonCode ?? 0) >= 0x80))
        stateMap<number, true>(conn, 'inflight').delete(p.packetId);
      return 'raw';
    },
    down: (p, conn) => {
      const inflight = stateMap<number, true>(conn, 'inflight');
      if (p.type === 'publish') {
        if (p.qos > 0 && p.packetId !== undefined) inflight.set(p.packetId, true);
        return 'raw';
      }
      const max = (conn.state.get('receiveMaximum') as number | undefined) ?? 65535;
      return inflight.size >= max ? null : 'raw';
    },
  },
  'ack-reason-string': {
    describe:
      'every 5.0 PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK to clients gets a 100-character reason string',
    down: (p, conn) =>
      isAck(p) && conn.version === 5
        ? ({ ...p, properties: { ...(p.properties ?? {}), reasonString: 'r'.repeat(100) } } as Packet)
        : 'raw',
  },
  'ack-user-property': {
    describe:
      'every 5.0 PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK to clients gets a 100-byte user property',
    down: (p, conn) =>
      isAck(p) && conn.version === 5
        ? ({
            ...p,
            properties: { ...(p.properties ?? {}), userProperties: [['why', 'u'.repeat(96)]] },
          } as Packet)
        : 'raw',
  },
  'reverse-unsuback-codes': {
    describe: 'the reason codes of a 5.0 UNSUBACK come in reverse order',
    down: (p) =>
      p.type === 'unsuback' && p.reasonCodes ? { ...p, reasonCodes: [...p.reasonCodes].reverse() } : 'raw',
  },
  'unsuback-code-invalid': {
    describe: 'every reason code of a 5.0 UNSUBACK becomes 0x05 (not an UNSUBACK reason code)',
    down: (p) =>
      p.type === 'unsuback' && p.reasonCodes ? { ...p, reasonCodes: p.reasonCodes.map(() => 5) } : 'raw',
  },
  'swallow-failure-acks': {
    describe: 'a client PUBACK or PUBREC with a reason code of 0x80 or above never reaches the broker',
    up: (p) => ((p.type === 'puback' || p.type === 'pubrec') && (p.reasonCode ?? 0) >= 0x80 ? null : 'raw'),
  },
  'failed-pubrec-id-held': {
    describe:
      'after a failure PUBREC to a client, its next QoS 2 PUBLISH with that packet id is taken for a duplicate (PUBREC 0x00, not delivered)',
    up: (p, conn) => {
      const held = stateMap<number, 'failed' | 'dup'>(conn, 'failedPubrec');
      if (p.type === 'publish' && p.qos === 2 && p.packetId !== undefined && held.has(p.packetId)) {
        held.set(p.packetId, 'dup');
        conn.toClient({ type: 'pubrec', packetId: p.packetId, reasonCode: 0, properties: {} });
        return null;
      }
      if (p.type === 'pubrel' && held.get(p.packetId) === 'dup') {
        held.delete(p.packetId);
        conn.toClient({ type: 'pubcomp', packetId: p.packetId, reasonCode: 0, properties: {} });
        return null;
      }
      return 'raw';
    },
    down: (p, conn) => {
      if (p.type === 'pubrec' && (p.reasonCode ?? 0) >= 0x80)
        stateMap<number, 'failed' | 'dup'>(conn, 'failedPubrec').set(p.packetId, 'failed');
      return 'raw';
    },
  },
  'expired-pubrel-unknown': {
    describe:
      'a PUBREL for a QoS 2 message whose Message Expiry Interval has passed is answered PUBCOMP 0x92 (the exchange is dropped with the message)',
    up: (p, conn) => {
      const deadlines = stateMap<number, number>(conn, 'qos2Expiry');
      if (p.type === 'publish' && p.qos === 2 && p.packetId !== undefined) {
        const s = p.properties?.messageExpiryInterval;
        if (s !== undefined) deadlines.set(p.packetId, Date.now() + s * 1000);
        return 'raw';
      }
      if (p.type === 'pubrel') {
        const d = deadlines.get(p.packetId);
        if (d !== undefined && Date.now() > d) {
          deadlines.delete(p.packetId);
          conn.toClient({ type: 'pubcomp', packetId: p.packetId, reasonCode: 0x92, properties: {} });
          return null;
        }
      }
      return 'raw';
    },
  },
  'drop-expiring-redelivery': {
    describe: 'a PUBLISH sent again (DUP 1) to a client is dropped when it carries a Message Expiry Interval',
    down: (p) =>
      p.type === 'publish' && p.dup && p.properties?.messageExpiryInterval !== undefined ? null : 'raw',
  },
  'reroute-shared': {
    describe:
      'a shared-subscription message a member leaves unfinished (it disconnects with the QoS 2 flow open) or refuses (failure PUBACK/PUBREC) is sent to another member of the group',
    up: (p, conn) => {
      const members = stateMap<FaultConn, string>(conn, 'shareMembers', true);
      if (p.type === 'subscribe') {
        for (const s of p.subscriptions) if (s.topic.startsWith('$share/')) members.set(conn, s.topic);
        return 'raw';
      }
      const pending = stateMap<number, Publish>(conn, 'sharedPending');
      const reroute = (msg: Publish): void => {
        const filter = members.get(conn);
        for (const [other, f] of members) {
          if (other === conn || f !== filter || other.client.destroyed) continue;
          other.toClient({ ...msg, dup: false, packetId: other.nextProxyId() });
          return;
        }
      };
      if (p.type === 'disconnect') {
        for (const msg of pending.values()) if (msg.qos === 2) reroute(msg);
        members.delete(conn);
        return 'raw';
      }
      if (p.type === 'puback' || p.type === 'pubrec' || p.type === 'pubcomp') {
        const msg = pending.get(p.packetId);
        if (msg && p.type !== 'pubcomp' && (p.reasonCode ?? 0) >= 0x80) reroute(msg);
        if (p.type !== 'pubrec' || (p.reasonCode ?? 0) >= 0x80) pending.delete(p.packetId);
      }
      return 'raw';
    },
    down: (p, conn) => {
      if (p.type === 'publish' && p.qos > 0 && p.packetId !== undefined && conn.shared.get('shareMembers'))
        if (stateMap<FaultConn, string>(conn, 'shareMembers', true).has(conn))
          stateMap<number, Publish>(conn, 'sharedPending').set(p.packetId, p);
      return 'raw';
    },
  },
  'grant-invalid-shared': {
    describe:
      'a SUBSCRIBE with an invalid shared filter (empty share name, share name with + or #, no filter) or No Local on a shared filter has those filters dropped on the way and granted QoS 0 in the SUBACK',
    up: (p, conn) => {
      if (p.type !== 'subscribe') return 'raw';
      const bad = (s: Subscription): boolean =>
        s.topic.startsWith('$share/') && (s.noLocal === true || !/^\$share\/[^/+#]+\/./.test(s.topic));
      const flags = p.subscriptions.map(bad);
      if (!flags.includes(true)) return 'raw';
      stateMap<number, boolean[]>(conn, 'invalidShared').set(p.packetId, flags);
      const kept = p.subscriptions.filter((_, i) => !flags[i]);
      if (kept.length > 0) return { ...p, subscriptions: kept };
      conn.toClient({
        type: 'suback',
        packetId: p.packetId,
        reasonCodes: flags.map(() => 0),
        properties: {},
      });
      return null;
    },
    down: (p, conn) => {
      if (p.type !== 'suback') return 'raw';
      const pending = stateMap<number, boolean[]>(conn, 'invalidShared');
      const flags = pending.get(p.packetId);
      if (!flags) return 'raw';
      pending.delete(p.packetId);
      const codes = [...p.reasonCodes];
      return { ...p, reasonCodes: flags.map((b) => (b ? 0 : (codes.shift() ?? 0))) };
    },
  },
  'accept-wildcard-response-topic': {
    describe:
      'a Response Topic with wildcards in a client PUBLISH reaches the broker with them replaced (so it is accepted)',
    up: (p) =>
      p.type === 'publish' && p.properties?.responseTopic && /[+#]/.test(p.properties.responseTopic)
        ? {
            ...p,
            properties: { ...p.properties, responseTopic: p.properties.responseTopic.replace(/[+#]/g, 'w') },
          }
        : 'raw',
  },
  'topic-alias-maximum-0': {
    describe:
      'accepting 5.0 CONNACKs announce Topic Alias Maximum 0 (legitimate: the broker takes no aliases)',
    down: announce({ topicAliasMaximum: 0 }),
  },
  'shared-subscriptions-unavailable': {
    describe: 'accepting 5.0 CONNACKs announce Shared Subscription Available 0 (legitimate)',
    down: announce({ sharedSubscriptionAvailable: 0 }),
  },
  'subscription-ids-unavailable': {
    describe: 'accepting 5.0 CONNACKs announce Subscription Identifiers Available 0 (legitimate)',
    down: announce({ subscriptionIdentifiersAvailable: 0 }),
  },
  'wildcards-unavailable': {
    describe: 'accepting 5.0 CONNACKs announce Wildcard Subscription Available 0 (legitimate)',
    down: announce({ wildcardSubscriptionAvailable: 0 }),
  },
} as const satisfies Record<string, FaultDef>;

/** The fault that breaks the rule of each case of this area. */
export const V5_PUBLISH_CASE_FAULTS: Record<string, string | string[]> = {
  '3.3.2.3/payload-format-indicator-forwarded': 'strip-payload-format',
  '3.3.2.3/content-type-forwarded': 'alter-content-type',
  '3.3.2.3/response-topic-forwarded': 'alter-response-topic',
  '3.3.2.3/correlation-data-forwarded': 'alter-correlation-data',
  '3.3.2.3/user-properties-forwarded-in-order': ['sort-user-properties', 'dedupe-user-properties'],
  '3.3.2.3/properties-forwarded-on-retained': 'strip-retained-properties',
  '3.3.2.3/expired-message-not-delivered': 'ignore-message-expiry',
  '3.3.2.3/forwarded-expiry-reduced': 'keep-message-expiry',
  '3.3.2.3/retained-message-expires': 'ignore-message-expiry',
  '3.3.2.3/topic-alias-set-then-used': 'ignore-topic-alias',
  '3.3.2.3/topic-alias-not-carried-to-next-connection': 'alias-across-connections',
  '3.3.2.3/unknown-topic-alias': 'never-close',
  '3.3.2.3/topic-alias-zero': 'never-close',
  '3.3.2.3/no-topic-alias-to-client-without-maximum': 'server-alias-2',
  '3.3.2.3/topic-alias-within-client-maximum': 'server-alias-2',
  '3.8.3.1/retain-handling-1-new-subscription-only': 'ignore-retain-handling',
  '3.8.3.1/retain-as-published-keeps-flag': 'ignore-retain-as-published',
  '3.8.3.1/subscription-identifier-carried': 'strip-subscription-ids',
  '3.8.3.1/subscription-identifiers-overlapping': ['first-subscription-id-only', 'strip-subscription-ids'],
  '4.9/receive-maximum-respected': 'ignore-receive-maximum',
  '4.9/receive-maximum-qos2': ['ignore-receive-maximum', 'silent-at-zero-quota'],
  '4.9/non-publish-packets-at-zero-quota': 'silent-at-zero-quota',
  '3.4.2.2/acknowledgements-within-client-maximum-packet-size': ['ack-reason-string', 'ack-user-property'],
  '3.11.3/unsuback-codes-in-order': ['reverse-unsuback-codes', 'unsuback-code-invalid'],
  '4.4.0/no-resend-after-failed-puback': 'swallow-failure-acks',
  '4.4.0/no-resend-after-failed-pubrec': 'swallow-failure-acks',
  '4.3.3/packet-id-new-after-failed-pubrec': 'failed-pubrec-id-held',
  '4.3.3/qos2-completed-after-expiry': 'expired-pubrel-unknown',
  '4.3.3/sent-message-not-expired': 'drop-expiring-redelivery',
  '4.8.2/shared-granted-qos-respected': 'qos-upgrade',
  '4.8.2/shared-qos2-completed-with-member': ['no-redelivery', 'reroute-shared'],
  '4.8.2/shared-qos2-not-rerouted-after-session-end': 'reroute-shared',
  '4.8.2/shared-failed-ack-discarded': 'reroute-shared',
  '4.8.2/shared-no-local-refused': 'grant-invalid-shared',
  '4.8.2/shared-invalid-share-name-refused': 'grant-invalid-shared',
  '4.13.1/property-length-past-packet': 'never-close',
  '4.13.1/unknown-property-identifier': 'never-close',
  '4.13.1/property-not-allowed-in-packet': 'never-close',
  '4.13.1/single-property-repeated': 'never-close',
  '4.13.1/response-topic-ill-formed-utf8': 'never-close',
  '4.13.1/response-topic-wildcard': ['never-close', 'accept-wildcard-response-topic'],
  '4.13.1/content-type-ill-formed-utf8': 'never-close',
  '4.13.1/user-property-ill-formed-utf8': 'never-close',
  '4.13.1/topic-name-length-past-packet': 'never-close',
  '4.13.1/pubrel-invalid-reason-code': 'never-close',
  '4.13.1/puback-invalid-reason-code': 'never-close',
  '4.13.1/payload-format-indicator-invalid-value': 'never-close',
  '4.13.1/subscription-identifier-zero': 'never-close',
};
