import type { Packet, Properties } from '../../../src/codec/index.js';
import type { FaultConn, FaultDef } from './types.js';

type Publish = Extract<Packet, { type: 'publish' }>;

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
};
