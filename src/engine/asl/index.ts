/**
 * An Amazon States Language interpreter: the language of https://states-language.net/spec.html as the AWS
 * Step Functions developer guide describes it, JSONPath flavour. It is pure and durable: no I/O, no timers,
 * no clock and no randomness of its own. The host passes `now`, `random()` and `uuid()` in, runs what
 * `pendingEffects` lists (tasks, timers) and feeds the outcomes back with `deliver`; every call returns a new
 * JSON-serializable snapshot, which the host stores and may resume from after a crash.
 *
 * Not run (refused by validation): JSONata, variables (Assign), Distributed Map readers, writers and batching.
 * A Map in DISTRIBUTED mode runs like an inline one.
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
