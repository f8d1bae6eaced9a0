import type { SchemaIssue } from './schema.js';

/** A scenario file (or the expected-failures file) is invalid; every issue has file:line:col. */
export class ScenarioLoadError extends Error {
  readonly code = 'SCENARIO_INVALID';
  override readonly name = 'ScenarioLoadError';
  constructor(readonly issues: SchemaIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

export function formatIssue(i: SchemaIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.message}`;
}

export function isScenarioLoadError(e: unknown): e is ScenarioLoadError {
  return e instanceof ScenarioLoadError;
}

/** The broker did something the case checks against: failed / non-strict / info by the case's level. */
export class ExpectationFailure extends Error {
  readonly code = 'EXPECTATION_FAILED';
  override readonly name = 'ExpectationFailure';
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string,
    /** Nothing at all came (no packet, no close) by the deadline. */
    readonly noEvent = false,
  ) {
    super(message);
  }
}

/** The broker declined a feature the case needs (detected from its answer): the case is skipped. */
export class CaseSkipped extends Error {
  readonly code = 'CASE_SKIPPED';
  override readonly name = 'CaseSkipped';
}

/**
 * The case could not be carried out: unreachable target, no answer to a valid CONNECT, garbage where a
 * CONNACK was due, timeouts of the harness itself. Never a verdict on the statement.
 */
export class HarnessError extends Error {
  override readonly name = 'HarnessError';
  constructor(
    readonly code:
      | 'TARGET_UNREACHABLE'
      | 'NO_CONNACK'
      | 'CONNECT_REFUSED'
      | 'CASE_TIMEOUT'
      | 'INTERRUPTED'
      | 'TARGET_DIED'
      | 'BAD_STEP'
      | 'INTERNAL',
    message: string,
    readonly expected?: string,
    readonly actual?: string,
  ) {
    super(message);
  }
}
