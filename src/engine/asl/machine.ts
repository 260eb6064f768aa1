import type { Rule } from './choice.js';
import type { Path, ReferencePath } from './paths.js';
import type { Dynamic, Template } from './template.js';

/** A compiled state machine: immutable, shared by every execution of the definition. */
export interface Machine {
  /** Every States graph: 0 is the top level, then Parallel branches and Map item processors. */
  readonly graphs: readonly Graph[];
  /** The machine's TimeoutSeconds, or null. */
  readonly timeoutSeconds: number | null;
}

export interface Graph {
  readonly startAt: string;
  readonly states: ReadonlyMap<string, State>;
  /** Where the graph sits in the definition ("" for the top level, "States.P.Branches[0]." inside). */
  readonly at: string;
}

export interface Retrier {
  readonly errors: readonly string[];
  readonly intervalSeconds: number;
  readonly maxAttempts: number;
  readonly backoffRate: number;
  readonly maxDelaySeconds: number | null;
  readonly fullJitter: boolean;
}

export interface Catcher {
  readonly errors: readonly string[];
  readonly next: string;
  readonly resultPath: ReferencePath | null;
}

interface Base {
  readonly name: string;
  /** The state to go to next, or null for an end state. */
  readonly next: string | null;
  /** null: the state sees `{}` (InputPath null); the identity path when the field is absent. */
  readonly inputPath: Path | null;
  readonly outputPath: Path | null;
}

/** ResultPath/ResultSelector/Retry/Catch of the states that produce results and handle errors. */
interface Executes {
  readonly resultSelector: Template | null;
  readonly resultPath: ReferencePath | null;
  readonly retry: readonly Retrier[];
  readonly catch: readonly Catcher[];
}

export interface PassState extends Base {
  readonly type: 'Pass';
  readonly parameters: Template | null;
  readonly result: { readonly value: unknown } | null;
  readonly resultPath: ReferencePath | null;
}

export interface TaskState extends Base, Executes {
  readonly type: 'Task';
  readonly resource: string;
  readonly parameters: Template | null;
  readonly timeoutSeconds: number | null;
  readonly timeoutSecondsPath: ReferencePath | null;
  readonly heartbeatSeconds: number | null;
  readonly heartbeatSecondsPath: ReferencePath | null;
}

export interface ChoiceState extends Base {
  readonly type: 'Choice';
  readonly choices: readonly { readonly rule: Rule; readonly next: string }[];
  readonly default: string | null;
}

export interface WaitState extends Base {
  readonly type: 'Wait';
  readonly seconds: number | null;
  /** Epoch milliseconds (AWS truncates a Timestamp to whole seconds). */
  readonly timestamp: number | null;
  readonly secondsPath: ReferencePath | null;
  readonly timestampPath: ReferencePath | null;
}

export interface SucceedState extends Base {
  readonly type: 'Succeed';
}

export interface FailState extends Base {
  readonly type: 'Fail';
  readonly error: string | null;
  readonly cause: string | null;
  readonly errorPath: Dynamic | null;
  readonly causePath: Dynamic | null;
}

export interface ParallelState extends Base, Executes {
  readonly type: 'Parallel';
  readonly branches: readonly number[];
  readonly parameters: Template | null;
}

export interface MapState extends Base, Executes {
  readonly type: 'Map';
  readonly processor: number;
  readonly itemsPath: ReferencePath;
  readonly itemSelector: Template | null;
  readonly maxConcurrency: number;
  readonly maxConcurrencyPath: ReferencePath | null;
  readonly toleratedFailureCount: number | null;
  readonly toleratedFailureCountPath: ReferencePath | null;
  readonly toleratedFailurePercentage: number | null;
  readonly toleratedFailurePercentagePath: ReferencePath | null;
}

export type State = PassState | TaskState | ChoiceState | WaitState | SucceedState | FailState | ParallelState | MapState;
