import type { CaseContext } from '../context.js';
import type { SourcePos, Step } from '../model.js';
import type { Schema } from '../schema.js';

/** One step kind: its YAML schema, how the validated value becomes a step, and how it runs. */
export interface StepDefinition<S extends Step = Step> {
  kind: S['kind'];
  /** Schema of the step body (the value under the step's key). */
  schema: Schema;
  /** Cross-field rules the schema cannot say; returns the error message. */
  check?(value: Record<string, unknown>): string | undefined;
  build(value: Record<string, unknown>, pos: SourcePos): S;
  /** Throws ExpectationFailure, CaseSkipped or HarnessError; returns when the step is done. */
  run(step: S, ctx: CaseContext): Promise<void>;
}
