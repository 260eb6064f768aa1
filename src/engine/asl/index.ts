/**
 * An Amazon States Language interpreter (https://states-language.net/spec.html, as AWS Step Functions runs
 * it), pure and durable: no I/O, no timers, no clock and no randomness of its own. The host passes `now`,
 * `random()` and `uuid()` in, runs the effects the execution waits for (tasks, timers) and feeds their
 * outcomes back with `deliver`; every call returns a new JSON-serializable snapshot to store.
 *
 * Query language: JSONPath only (JSONata, variables and Distributed Map readers/writers are refused at
 * validation). See README-like notes in the test suite for the semantics chosen where the guide is terse.
 */
export { DefinitionError, formatProblem, type DefinitionProblem } from './errors.js';
export type { Machine } from './machine.js';
export { compileDefinition, validateDefinition } from './validate.js';
export { DEFAULT_MAX_TRANSITIONS, deliver, pendingEffects, startExecution, step, type Outcome } from './engine.js';
export { PAYLOAD_LIMIT } from './io.js';
export type {
  Effect,
  ExecutionInput,
  ExecutionStatus,
  HostHooks,
  Snapshot,
  StartOptions,
  Transition,
  TransitionType,
} from './snapshot.js';
