import { encode, type Packet, type Properties } from '../../../src/codec/index.js';
import type { FaultDef } from './types.js';

/** A long text: enough to push any small packet past a Maximum Packet Size of 128. */
const LONG = 'added by the faulty proxy: '.padEnd(200, '.');

/** Packets that may carry a Reason String and User Properties besides CONNACK and PUBLISH. */
const ACKS = new Set(['puback', 'pubrec', 'pubrel', 'pubcomp', 'suback', 'unsuback', 'disconnect', 'auth']);

/** Adds `extra` to the properties of the 5.0 packets `types` sent to the client. */
function addProperties(types: Set<string>, extra: Properties): FaultDef['down'] {
  return (p, conn) =>
    conn.version === 5 && types.has(p.type)
      ? ({
          ...p,
          properties: { ...((p as { properties?: Properties }).properties ?? {}), ...extra },
        } as Packet)
      : 'raw';
}

/** The same for accepting 5.0 CONNACKs. */
function addToConnack(extra: Properties): FaultDef['down'] {
  return (p, conn) =>
    conn.version === 5 && p.type === 'connack' && p.reasonCode === 0
      ? { ...p, properties: { ...(p.properties ?? {}), ...extra } }
      : 'raw';
}

/** Faults for the 5.0 connection, session, CONNACK / DISCONNECT and AUTH cases: each breaks one rule. */
export const V5_CONNECT_FAULTS = {
  'session-expiry-raised': {
    describe:
      'every 5.0 CONNECT reaches the broker with a Session Expiry Interval of at least 300 s (sessions outlive what the client asked for)',
    up: (p) =>
      p.type === 'connect' && p.protocolVersion === 5
        ? {
            ...p,
            properties: {
              ...(p.properties ?? {}),
              sessionExpiryInterval: Math.max(p.properties?.sessionExpiryInterval ?? 0, 300),
            },
          }
        : 'raw',
  },
  'session-expiry-zeroed': {
    describe:
      'every 5.0 CONNECT reaches the broker without Session Expiry Interval (sessions end with the connection)',
    up: (p) => {
      if (p.type !== 'connect' || p.protocolVersion !== 5) return 'raw';
      const { sessionExpiryInterval: _s, ...rest } = p.properties ?? {};
      return { ...p, properties: rest };
    },
  },
  'response-information-unasked': {
    describe: 'accepting 5.0 CONNACKs carry Response Information whether or not the client asked for it',
    down: addToConnack({ responseInformation: 'mqtt-conform/response' }),
  },
  'problem-information-ignored': {
    describe:
      'PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK carry a Reason String and a User Property even after Request Problem Information 0',
    down: addProperties(new Set(['puback', 'pubrec', 'pubrel', 'pubcomp', 'suback', 'unsuback']), {
      reasonString: 'explained by the proxy',
      userProperties: [['why', 'proxy']],
    }),
  },
  'maximum-packet-size-ignored': {
    describe:
      "the client's Maximum Packet Size is stripped from CONNECT (the broker sends packets of any size)",
    up: (p) => {
      if (p.type !== 'connect' || p.protocolVersion !== 5) return 'raw';
      const { maximumPacketSize: _m, ...rest } = p.properties ?? {};
      return { ...p, properties: rest };
    },
  },
  'oversize-kept-for-later': {
    describe:
      "a PUBLISH above the client's Maximum Packet Size is withheld by the proxy and left unacknowledged (the broker keeps it in flight and resends it later)",
    up: (p, conn) => {
      if (p.type !== 'connect' || p.protocolVersion !== 5) return 'raw';
      const { maximumPacketSize: max, ...rest } = p.properties ?? {};
      if (max !== undefined) conn.state.set('max', max);
      return { ...p, properties: rest };
    },
    down: (p, conn) => {
      const max = conn.state.get('max') as number | undefined;
      return p.type === 'publish' && max !== undefined && p.payload.length + p.topic.length > max
        ? null
        : 'raw';
    },
  },
  'connack-oversize-reason-string': {
    describe:
      "accepting 5.0 CONNACKs get a 200-byte Reason String, whatever the client's Maximum Packet Size",
    down: addToConnack({ reasonString: LONG }),
  },
  'connack-oversize-user-property': {
    describe:
      "accepting 5.0 CONNACKs get a 200-byte User Property, whatever the client's Maximum Packet Size",
    down: addToConnack({ userProperties: [['note', LONG]] }),
  },
  'acks-oversize-reason-string': {
    describe:
      "5.0 acknowledgements, DISCONNECT and AUTH get a 200-byte Reason String, whatever the client's Maximum Packet Size",
    down: addProperties(ACKS, { reasonString: LONG }),
  },
  'acks-oversize-user-property': {
    describe:
      "5.0 acknowledgements, DISCONNECT and AUTH get a 200-byte User Property, whatever the client's Maximum Packet Size",
    down: addProperties(ACKS, { userProperties: [['note', LONG]] }),
  },
  'assigned-client-id-withheld': {
    describe: 'the Assigned Client Identifier is stripped from 5.0 CONNACKs',
    down: (p) => {
      if (p.type !== 'connack' || p.properties?.assignedClientIdentifier === undefined) return 'raw';
      const { assignedClientIdentifier: _a, ...rest } = p.properties;
      return { ...p, properties: rest };
    },
  },
  'qos-refused-in-suback': {
    describe:
      'SUBACK refuses (0x80) every filter granted QoS 1 or 2 (a server that refuses QoS it does not support)',
    down: (p) =>
      p.type === 'suback'
        ? { ...p, reasonCodes: p.reasonCodes.map((c) => (c === 1 || c === 2 ? 0x80 : c)) }
        : 'raw',
  },
  'qos2-refused-unannounced': {
    describe:
      'a QoS 2 PUBLISH from a 5.0 client is answered with DISCONNECT 0x9B (QoS not supported) and closed, although CONNACK announced no Maximum QoS',
    up: (p, conn) => {
      if (conn.version !== 5 || p.type !== 'publish' || p.qos !== 2) return 'raw';
      conn.toClient({ type: 'disconnect', reasonCode: 0x9b, properties: {} });
      setTimeout(() => {
        conn.client.end();
        conn.broker.destroy();
      }, 20);
      return null;
    },
  },
  'retain-unavailable-announced': {
    describe: 'accepting 5.0 CONNACKs announce Retain Available 0 (also to a CONNECT with a retained will)',
    down: addToConnack({ retainAvailable: 0 }),
  },
  'will-delay-dropped': {
    describe:
      'the Will Delay Interval is stripped from 5.0 wills (the will is published as soon as the connection is lost)',
    up: (p) => {
      if (p.type !== 'connect' || !p.will?.properties?.willDelayInterval) return 'raw';
      const { willDelayInterval: _d, ...rest } = p.will.properties;
      return { ...p, will: { ...p.will, properties: rest } };
    },
  },
  'will-user-properties-reversed': {
    describe: 'the User Properties of a 5.0 will reach the broker in reverse order',
    up: (p) =>
      p.type === 'connect' && p.will?.properties?.userProperties
        ? {
            ...p,
            will: {
              ...p.will,
              properties: {
                ...p.will.properties,
                userProperties: [...p.will.properties.userProperties].reverse(),
              },
            },
          }
        : 'raw',
  },
  'disconnect-expiry-ignored': {
    describe:
      'the Session Expiry Interval of a client DISCONNECT is stripped (the CONNECT value stays in force)',
    up: (p) => {
      if (p.type !== 'disconnect' || p.properties?.sessionExpiryInterval === undefined) return 'raw';
      const { sessionExpiryInterval: _s, ...rest } = p.properties;
      return { ...p, properties: rest };
    },
  },
  'zero-expiry-made-one': {
    describe:
      'a 5.0 CONNECT without Session Expiry Interval reaches the broker with 1 s (so a DISCONNECT may then raise it)',
    up: (p) =>
      p.type === 'connect' && p.protocolVersion === 5 && !p.properties?.sessionExpiryInterval
        ? { ...p, properties: { ...(p.properties ?? {}), sessionExpiryInterval: 1 } }
        : 'raw',
  },
  'server-disconnect-session-expiry': {
    describe: 'DISCONNECT packets from the broker carry a Session Expiry Interval',
    down: addProperties(new Set(['disconnect']), { sessionExpiryInterval: 60 }),
  },
  'auth-method-stripped': {
    describe:
      'the Authentication Method (and Data) is stripped from CONNECT (the broker accepts a method it does not support)',
    up: (p) => {
      if (p.type !== 'connect' || p.properties?.authenticationMethod === undefined) return 'raw';
      const { authenticationMethod: _m, authenticationData: _d, ...rest } = p.properties;
      return { ...p, properties: rest };
    },
  },
  'refusal-as-disconnect': {
    describe: 'a refusing 5.0 CONNACK reaches the client as a DISCONNECT with the same reason code',
    down: (p, conn) =>
      conn.version === 5 && p.type === 'connack' && p.reasonCode >= 0x80
        ? { type: 'disconnect', reasonCode: p.reasonCode, properties: {} }
        : 'raw',
  },
  'auth-answered': {
    describe:
      'an AUTH from a client whose CONNECT named no method is swallowed and answered with AUTH 0x18 (Continue authentication)',
    up: (p, conn) => {
      if (p.type === 'connect') conn.state.set('method', p.properties?.authenticationMethod !== undefined);
      if (p.type !== 'auth' || conn.state.get('method')) return 'raw';
      conn.toClient({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'proxy-method' } });
      return null;
    },
  },
  'auth-method-renamed': {
    describe: 'AUTH packets and CONNACKs from the broker name another authentication method than the CONNECT',
    down: (p) =>
      (p.type === 'auth' || p.type === 'connack') && p.properties?.authenticationMethod !== undefined
        ? { ...p, properties: { ...p.properties, authenticationMethod: 'another-method' } }
        : 'raw',
  },
  'auth-continue-as-success': {
    describe: 'AUTH 0x18 (Continue authentication) from the broker reaches the client as AUTH 0x00',
    down: (p) => (p.type === 'auth' && p.reasonCode === 0x18 ? { ...p, reasonCode: 0 } : 'raw'),
  },
  'auth-answer-corrected': {
    describe:
      'every AUTH 0x18 answer from the client reaches the broker with the right response (the broker accepts a wrong one)',
    up: (p) =>
      p.type === 'auth' && p.reasonCode === 0x18
        ? { ...p, properties: { ...(p.properties ?? {}), authenticationData: Buffer.from('response') } }
        : 'raw',
  },
  'string-pair-repaired': {
    describe:
      'the ill-formed UTF-8 bytes C3 28 in a CONNECT reach the broker as "AA" (a broker that accepts ill-formed string pairs)',
    upMalformed: (raw) => {
      if (raw[0] !== 0x10) return undefined;
      const at = raw.indexOf(Buffer.from([0xc3, 0x28]));
      if (at < 0) return undefined;
      const fixed = Buffer.from(raw);
      fixed[at] = 0x41;
      fixed[at + 1] = 0x41;
      return fixed;
    },
  },
  'property-length-omitted': {
    describe: 'a 5.0 PUBLISH without properties reaches the client without its Property Length',
    down: (p, conn) => {
      if (conn.version !== 5 || p.type !== 'publish' || Object.keys(p.properties ?? {}).length > 0)
        return 'raw';
      conn.client.write(encode(p, { protocolVersion: 5, overrides: { omit: ['properties'] } }));
      return null;
    },
  },
  'session-expiry-announced-longer': {
    describe:
      'accepting 5.0 CONNACKs announce Session Expiry Interval 3600 (legitimate: a server may keep sessions longer than asked)',
    down: addToConnack({ sessionExpiryInterval: 3600 }),
  },
  'server-disconnect-dropped': {
    describe: 'DISCONNECT packets from the broker are dropped (the connection just closes)',
    down: (p) => (p.type === 'disconnect' ? null : 'raw'),
  },
} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area) that makes it fail. */
export const V5_CONNECT_CASE_FAULTS: Record<string, string | string[]> = {
  '3.1.2.11/session-expiry-zero-ends-session': 'session-expiry-raised',
  '3.1.2.11/session-expiry-max-keeps-session': 'session-expiry-zeroed',
  '3.1.2.11/session-expires-while-offline': 'session-expiry-raised',
  '3.1.2.11/response-information-only-on-request': 'response-information-unasked',
  '3.1.2.11/problem-information-suppressed': 'problem-information-ignored',
  '3.1.2.11/maximum-packet-size-respected': 'maximum-packet-size-ignored',
  '3.1.2.11/oversize-message-completed': 'oversize-kept-for-later',
  '3.1.2.11/connack-fits-maximum-packet-size': [
    'connack-oversize-reason-string',
    'connack-oversize-user-property',
  ],
  '3.1.2.11/acks-fit-maximum-packet-size': ['acks-oversize-reason-string', 'acks-oversize-user-property'],
  '3.1.2.11/assigned-client-identifier': 'assigned-client-id-withheld',
  '3.1.3.2/will-delay-honoured': 'will-delay-dropped',
  '3.1.3.2/will-withheld-on-reconnect': 'will-delay-dropped',
  '3.1.3.2/will-at-session-end': 'session-expiry-raised',
  '3.1.3.2/will-user-properties-in-order': 'will-user-properties-reversed',
  '3.14.2/disconnect-lowers-session-expiry': 'disconnect-expiry-ignored',
  '3.14.2/disconnect-cannot-raise-zero-expiry': 'zero-expiry-made-one',
  '3.14.2/server-disconnect-well-formed': ['server-disconnect-session-expiry', 'never-close'],
  '4.12/unsupported-method-refused': ['never-close', 'auth-method-stripped', 'refusal-as-disconnect'],
  '4.12/auth-without-method-is-protocol-error': ['never-close', 'auth-answered'],
  '4.12/challenge-accepted': [
    'auth-method-renamed',
    'auth-continue-as-success',
    'acks-oversize-reason-string',
    'acks-oversize-user-property',
  ],
  '4.12/challenge-rejected': ['never-close', 'auth-answer-corrected'],
  '4.12/reauthentication-rejected': ['never-close', 'auth-answer-corrected'],
  '1.5.7/ill-formed-user-property': ['never-close', 'string-pair-repaired'],
  '2.2.2.1/zero-property-length': 'property-length-omitted',
  '4.12/reauthentication-rejected-with-disconnect': 'server-disconnect-dropped',
  '3.2.2.3/subscribe-any-qos-accepted': 'qos-refused-in-suback',
  '3.2.2.3/qos-supported-unless-announced': 'qos2-refused-unannounced',
  '3.2.2.3/will-qos-within-maximum': 'maximum-qos-1',
  '3.2.2.3/will-qos-refusal-code': 'refuse-will-connect',
  '3.2.2.3/will-retain-within-retain-available': 'retain-unavailable-announced',
  '3.2.2.3/will-retain-refusal-code': 'refuse-will-connect',
};
