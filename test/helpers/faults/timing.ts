import type { FaultConn, FaultDef } from './types.js';

/** Closes both sides of the proxied connection, as a broker dropping the client. */
function drop(conn: FaultConn): void {
  conn.client.destroy();
  conn.broker.destroy();
}

/** Faults for the timing cases (keep-alive): each breaks exactly one rule. */
export const TIMING_FAULTS = {
  'keep-alive-pingreq-only': {
    describe:
      'keep-alive counts only PINGREQ (and CONNECT): a client that sends other packets but no PINGREQ for one and a half keep-alive periods is dropped',
    up: (p, conn) => {
      if (p.type === 'connect') conn.state.set('keepAliveMs', p.keepAlive * 1000);
      if (p.type !== 'connect' && p.type !== 'pingreq') return 'raw';
      const ms = conn.state.get('keepAliveMs') as number;
      if (!ms) return 'raw';
      clearTimeout(conn.state.get('timer') as NodeJS.Timeout | undefined);
      const timer = setTimeout(() => drop(conn), ms * 1.5);
      timer.unref();
      conn.state.set('timer', timer);
      conn.client.once('close', () => clearTimeout(timer));
      return 'raw';
    },
  },
  'keep-alive-early-close': {
    describe: 'a client with a keep-alive is dropped after half the keep-alive period of silence',
    up: (p, conn) => {
      if (p.type === 'connect' && p.keepAlive > 0) {
        const timer = setTimeout(() => drop(conn), p.keepAlive * 500);
        timer.unref();
        conn.client.once('close', () => clearTimeout(timer));
      }
      return 'raw';
    },
  },
} as const satisfies Record<string, FaultDef>;

/** Case id -> the fault (of any area) that makes it fail. */
export const TIMING_CASE_FAULTS: Record<string, string | string[]> = {
  // Closing early is allowed (3.1.1 section 3.1.2.10): keep-alive-early-close only changes what the info case
  // 3.1.2/keep-alive-not-before-period observes (test/scenarios.test.ts).
  '3.1.2/keep-alive-timeout': 'never-close',
  '3.1.2/any-packet-resets-keep-alive': 'keep-alive-pingreq-only',
};
