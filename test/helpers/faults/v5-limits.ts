import type { FaultConn, FaultDef } from './types.js';

/** Adds properties to every accepting 5.0 CONNACK: a limit announced that the broker behind does not enforce. */
function announceUnenforced(extra: Record<string, number>): FaultDef['down'] {
  return (p, conn) =>
    p.type === 'connack' && p.reasonCode === 0 && conn.version === 5
      ? { ...p, properties: { ...(p.properties ?? {}), ...extra } }
      : 'raw';
}

/**
 * 5.0 limits and availability the server announces in CONNACK and must then honour
 * (specs/3.2.2.3-limits-exceeded.yaml, specs/3.2.2.3-availability-honoured.yaml). The reference broker of the
 * fault proofs announces Receive Maximum 20 and Maximum Packet Size 256 KiB and supports wildcards,
 * subscription identifiers and shared subscriptions; these faults announce smaller limits, or a feature
 * unavailable, which the broker behind does not enforce.
 */
export const V5_LIMITS_FAULTS = {
  'receive-maximum-unenforced': {
    describe:
      'accepting 5.0 CONNACKs announce Receive Maximum 2, yet a client with 3 QoS 2 PUBLISH packets unacknowledged stays connected',
    down: announceUnenforced({ receiveMaximum: 2 }),
  },
  'maximum-packet-size-unenforced': {
    describe:
      'accepting 5.0 CONNACKs announce Maximum Packet Size 1000, yet a larger PUBLISH is accepted and delivered',
    down: announceUnenforced({ maximumPacketSize: 1000 }),
  },
  'wildcards-announced-unavailable-granted': {
    describe:
      'accepting 5.0 CONNACKs announce Wildcard Subscription Available 0, yet a wildcard filter is granted',
    down: announceUnenforced({ wildcardSubscriptionAvailable: 0 }),
  },
  'subscription-ids-announced-unavailable-granted': {
    describe:
      'accepting 5.0 CONNACKs announce Subscription Identifiers Available 0, yet a SUBSCRIBE with one is granted',
    down: announceUnenforced({ subscriptionIdentifiersAvailable: 0 }),
  },
  'shared-announced-unavailable-granted': {
    describe:
      'accepting 5.0 CONNACKs announce Shared Subscription Available 0, yet a $share/ filter is granted',
    down: announceUnenforced({ sharedSubscriptionAvailable: 0 }),
  },
  'shared-to-every-member': {
    describe:
      'a QoS 0 PUBLISH to a member of a shared subscription also goes to every other member (through this proxy)',
    up: (p, conn) => {
      if (p.type === 'subscribe' && p.subscriptions.some((s) => s.topic.startsWith('$share/')))
        sharedMembers(conn).add(conn);
      return 'raw';
    },
    down: (p, conn) => {
      if (p.type === 'publish' && p.qos === 0 && sharedMembers(conn).has(conn)) {
        for (const other of sharedMembers(conn))
          if (other !== conn && !other.client.destroyed) other.toClient(p);
      }
      return 'raw';
    },
  },
} as const satisfies Record<string, FaultDef>;

/** The connections through the proxy that subscribed to a shared filter. */
function sharedMembers(conn: FaultConn): Set<FaultConn> {
  let set = conn.shared.get('sharedMembers') as Set<FaultConn> | undefined;
  if (!set) {
    set = new Set();
    conn.shared.set('sharedMembers', set);
  }
  return set;
}

/** The fault that breaks the rule of each case of this area. */
export const V5_LIMITS_CASE_FAULTS: Record<string, string | string[]> = {
  '3.2.2.3/receive-maximum-exceeded-closed': ['receive-maximum-unenforced', 'never-close'],
  '3.2.2.3/receive-maximum-exceeded-disconnect-0x93': [
    'receive-maximum-unenforced',
    'server-disconnect-dropped',
  ],
  '3.2.2.3/maximum-packet-size-exceeded-closed': ['maximum-packet-size-unenforced', 'never-close'],
  '3.2.2.3/maximum-packet-size-exceeded-disconnect-0x95': [
    'maximum-packet-size-unenforced',
    'server-disconnect-dropped',
  ],
  '3.2.2.3/wildcard-unavailable-honoured': 'wildcards-announced-unavailable-granted',
  '3.2.2.3/subscription-identifiers-unavailable-honoured': 'subscription-ids-announced-unavailable-granted',
  '3.2.2.3/shared-unavailable-honoured': 'shared-announced-unavailable-granted',
};
