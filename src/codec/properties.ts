import type { PacketType, Properties } from './types.js';

/** Data types of 5.0 properties (section 2.2.2.2). */
export type PropertyKind = 'byte' | 'u16' | 'u32' | 'varint' | 'utf8' | 'binary' | 'pair';

/** Where a property may appear: packet types, plus `will` for will properties in CONNECT. */
export type PropertyScope = PacketType | 'will';

export type PropertyName = keyof Properties;

export interface PropertyDef {
  id: number;
  name: PropertyName;
  kind: PropertyKind;
  scopes: readonly PropertyScope[];
  /** Repeatable properties (user property; subscription identifier on PUBLISH). */
  repeatable?: readonly PropertyScope[];
  /** Allowed values check; returns false for a value that is a protocol error. */
  valid?: (v: number) => boolean;
}

const zeroOrOne = (v: number) => v === 0 || v === 1;

const ACKS = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;

/** User properties may appear, and repeat, in every 5.0 packet that has properties. */
const EVERY_SCOPE: readonly PropertyScope[] = [
  'connect',
  'connack',
  'publish',
  'will',
  ...ACKS,
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'disconnect',
  'auth',
];

export const PROPERTY_DEFS: readonly PropertyDef[] = [
  { id: 0x01, name: 'payloadFormatIndicator', kind: 'byte', scopes: ['publish', 'will'], valid: zeroOrOne },
  { id: 0x02, name: 'messageExpiryInterval', kind: 'u32', scopes: ['publish', 'will'] },
  { id: 0x03, name: 'contentType', kind: 'utf8', scopes: ['publish', 'will'] },
  { id: 0x08, name: 'responseTopic', kind: 'utf8', scopes: ['publish', 'will'] },
  { id: 0x09, name: 'correlationData', kind: 'binary', scopes: ['publish', 'will'] },
  {
    id: 0x0b,
    name: 'subscriptionIdentifier',
    kind: 'varint',
    scopes: ['publish', 'subscribe'],
    repeatable: ['publish'],
    valid: (v) => v >= 1 && v <= 268_435_455,
  },
  { id: 0x11, name: 'sessionExpiryInterval', kind: 'u32', scopes: ['connect', 'connack', 'disconnect'] },
  { id: 0x12, name: 'assignedClientIdentifier', kind: 'utf8', scopes: ['connack'] },
  { id: 0x13, name: 'serverKeepAlive', kind: 'u16', scopes: ['connack'] },
  { id: 0x15, name: 'authenticationMethod', kind: 'utf8', scopes: ['connect', 'connack', 'auth'] },
  { id: 0x16, name: 'authenticationData', kind: 'binary', scopes: ['connect', 'connack', 'auth'] },
  { id: 0x17, name: 'requestProblemInformation', kind: 'byte', scopes: ['connect'], valid: zeroOrOne },
  { id: 0x18, name: 'willDelayInterval', kind: 'u32', scopes: ['will'] },
  { id: 0x19, name: 'requestResponseInformation', kind: 'byte', scopes: ['connect'], valid: zeroOrOne },
  { id: 0x1a, name: 'responseInformation', kind: 'utf8', scopes: ['connack'] },
  { id: 0x1c, name: 'serverReference', kind: 'utf8', scopes: ['connack', 'disconnect'] },
  {
    id: 0x1f,
    name: 'reasonString',
    kind: 'utf8',
    scopes: ['connack', ...ACKS, 'suback', 'unsuback', 'disconnect', 'auth'],
  },
  { id: 0x21, name: 'receiveMaximum', kind: 'u16', scopes: ['connect', 'connack'], valid: (v) => v > 0 },
  { id: 0x22, name: 'topicAliasMaximum', kind: 'u16', scopes: ['connect', 'connack'] },
  { id: 0x23, name: 'topicAlias', kind: 'u16', scopes: ['publish'], valid: (v) => v > 0 },
  { id: 0x24, name: 'maximumQoS', kind: 'byte', scopes: ['connack'], valid: zeroOrOne },
  { id: 0x25, name: 'retainAvailable', kind: 'byte', scopes: ['connack'], valid: zeroOrOne },
  { id: 0x26, name: 'userProperties', kind: 'pair', scopes: EVERY_SCOPE, repeatable: EVERY_SCOPE },
  {
    id: 0x27,
    name: 'maximumPacketSize',
    kind: 'u32',
    scopes: ['connect', 'connack'],
    valid: (v) => v > 0,
  },
  { id: 0x28, name: 'wildcardSubscriptionAvailable', kind: 'byte', scopes: ['connack'], valid: zeroOrOne },
  { id: 0x29, name: 'subscriptionIdentifiersAvailable', kind: 'byte', scopes: ['connack'], valid: zeroOrOne },
  { id: 0x2a, name: 'sharedSubscriptionAvailable', kind: 'byte', scopes: ['connack'], valid: zeroOrOne },
];

export const PROPERTY_BY_ID: ReadonlyMap<number, PropertyDef> = new Map(PROPERTY_DEFS.map((d) => [d.id, d]));
export const PROPERTY_BY_NAME: ReadonlyMap<PropertyName, PropertyDef> = new Map(
  PROPERTY_DEFS.map((d) => [d.name, d]),
);

/** Property ids in encode order: ascending id, so encoding is deterministic. */
export const PROPERTY_ORDER: readonly PropertyDef[] = [...PROPERTY_DEFS].sort((a, b) => a.id - b.id);
