/** Exit codes of `mqtt-conform`. Only the CLI decides them. */
export const EXIT = {
  /** Every must-level case passed (with --strict, every should-level too) or is an expected failure. */
  OK: 0,
  /** At least one conformance failure (or a must-level case that could not be carried out). */
  FAILURES: 1,
  /** Usage error, invalid scenario or expected-failures file. */
  USAGE: 2,
  /**
   * The target could not be reached, answered no valid CONNECT in any protocol version (silent, garbage),
   * or stopped accepting connections during the run; or it refused the suite's credentials (3.1.1 CONNACK
   * 0x04/0x05, 5.0 0x86/0x87: no case is run).
   */
  UNREACHABLE: 3,
  /** Interrupted by SIGINT (128 + 2), reports written with what ran. */
  SIGINT: 130,
  /** Interrupted by SIGTERM (128 + 15), reports written with what ran. */
  SIGTERM: 143,
} as const;

export function exitCodeFor(run: {
  signal?: 'SIGINT' | 'SIGTERM';
  stoppedBy?: string;
  failures: number;
}): number {
  if (run.signal === 'SIGINT') return EXIT.SIGINT;
  if (run.signal === 'SIGTERM') return EXIT.SIGTERM;
  if (
    run.stoppedBy === 'target-unreachable' ||
    run.stoppedBy === 'target-died' ||
    run.stoppedBy === 'target-not-mqtt' ||
    run.stoppedBy === 'not-authorized'
  ) {
    return EXIT.UNREACHABLE;
  }
  return run.failures > 0 ? EXIT.FAILURES : EXIT.OK;
}
