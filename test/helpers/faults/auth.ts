import type { FaultConn, FaultDef } from './types.js';

/**
 * Faults of the authorization (ACL) cases: the test broker denies the second identity (a user name) under the
 * topic prefix and allows everyone else everything.
 */
const USER = 'auth:user';

function noteUser(conn: FaultConn, username: string | undefined): void {
  if (username !== undefined) conn.state.set(USER, username);
}

export const AUTH_FAULTS = {
  'acl-bypass': {
    describe: 'the ACL is not enforced: a client connecting with a user name gets what an anonymous one gets',
    up: (p) => {
      if (p.type !== 'connect' || p.username === undefined) return 'raw';
      const { username: _u, password: _p, ...rest } = p;
      return rest;
    },
  },
  'denied-publish-unanswered': {
    describe: 'a QoS 1/2 PUBLISH of a client with a user name gets neither an acknowledgement nor a close',
    up: (p, conn) => {
      if (p.type === 'connect') noteUser(conn, p.username);
      return 'raw';
    },
    down: (p, conn) => (conn.state.has(USER) && (p.type === 'puback' || p.type === 'pubrec') ? null : 'raw'),
  },
  'refused-suback-dropped': {
    describe: 'a SUBSCRIBE whose filters are all refused gets no SUBACK',
    down: (p) => (p.type === 'suback' && p.reasonCodes.every((c) => c >= 0x80) ? null : 'raw'),
  },
} satisfies Record<string, FaultDef>;

export const AUTH_CASE_FAULTS: Record<string, keyof typeof AUTH_FAULTS | Array<keyof typeof AUTH_FAULTS>> = {
  '3.3.5/denied-publish-acknowledged-not-delivered': ['acl-bypass', 'denied-publish-unanswered'],
  '3.8.4/denied-subscribe-answered': 'refused-suback-dropped',
};
