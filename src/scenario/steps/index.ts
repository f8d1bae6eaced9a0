import type { Step, StepKind } from '../model.js';
import { closeStep } from './close.js';
import { connectStep } from './connect.js';
import { disconnectStep } from './disconnect.js';
import { expectStep } from './expect.js';
import { publishStep } from './publish.js';
import { reconnectStep } from './reconnect.js';
import { sendStep } from './send.js';
import { subscribeStep } from './subscribe.js';
import type { StepDefinition } from './types.js';
import { unsubscribeStep } from './unsubscribe.js';
import { waitStep } from './wait.js';

export const STEP_DEFINITIONS: { [K in StepKind]: StepDefinition<Extract<Step, { kind: K }>> } = {
  connect: connectStep,
  reconnect: reconnectStep,
  send: sendStep,
  publish: publishStep,
  subscribe: subscribeStep,
  unsubscribe: unsubscribeStep,
  disconnect: disconnectStep,
  close: closeStep,
  expect: expectStep,
  wait: waitStep,
};

export const STEP_KINDS = Object.keys(STEP_DEFINITIONS) as StepKind[];

export type { StepDefinition };
