/**
 * The persistent shape of an execution. Everything here is plain JSON: the host stores a snapshot after
 * every call and can resume from a parsed copy. Snapshots are never changed in place; a new one shares
 * every unchanged part with its predecessor.
 */

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionInfo {
  readonly id: string;
  readonly name: string;
  readonly stateMachineId: string;
  readonly stateMachineName: string;
  /** Epoch milliseconds. */
  readonly startTime: number;
  readonly input: unknown;
}

export interface Snapshot {
  readonly status: ExecutionStatus;
  readonly execution: ExecutionInfo;
  /** Transitions (history events) emitted so far, counted against `maxTransitions`. */
  readonly transitions: number;
  readonly maxTransitions: number;
  /** Last number used for an effect id. */
  readonly seq: number;
  /** The top-level run; Parallel and Map states hold the runs of their branches and iterations. */
  readonly root: Run;
  /** The execution's TimeoutSeconds timer. */
  readonly deadline?: { readonly id: string; readonly until: number };
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
}

/** A thread of control in one States graph: the top level, a Parallel branch or a Map iteration. */
export interface Run {
  readonly graph: number;
  readonly state: string;
  /** The raw input of the current state. */
  readonly input: unknown;
  readonly phase: Phase;
  /** When the current state was entered (epoch ms), for $$.State.EnteredTime. */
  readonly enteredAt?: number;
  /** Attempts used per retrier of the current state. */
  readonly retries?: readonly number[];
}

export type Phase =
  /** About to enter `state`. */
  | { readonly kind: 'enter' }
  /** A retry's wait is over: run the state's work again. */
  | { readonly kind: 'attempt' }
  | {
      readonly kind: 'task';
      readonly id: string;
      readonly resource: string;
      readonly input: unknown;
      readonly timeoutSeconds?: number;
      readonly heartbeatSeconds?: number;
    }
  | { readonly kind: 'retry'; readonly id: string; readonly until: number }
  | { readonly kind: 'wait'; readonly id: string; readonly until: number; readonly output: unknown }
  | { readonly kind: 'parallel'; readonly branches: readonly Run[] }
  | {
      readonly kind: 'map';
      readonly items: readonly unknown[];
      /** The Map state's effective input: what `$` means in its ItemSelector. */
      readonly effective: unknown;
      /** Most iterations running at once (0: no limit). */
      readonly limit: number;
      readonly next: number;
      readonly running: readonly { readonly index: number; readonly run: Run }[];
      readonly results: readonly unknown[];
      readonly finished: number;
      readonly failed: number;
      readonly toleratedCount: number | null;
      readonly toleratedPercentage: number | null;
    }
  | { readonly kind: 'done'; readonly output: unknown }
  | { readonly kind: 'failed'; readonly error: string; readonly cause?: string; readonly branch?: boolean };

/** What the execution waits for: tasks to run (possibly several at once under Parallel/Map) and timers. */
export type Effect =
  | {
      kind: 'task';
      id: string;
      resource: string;
      input: unknown;
      timeoutSeconds?: number;
      heartbeatSeconds?: number;
      stateName: string;
    }
  | { kind: 'timer'; id: string; until: number; reason: 'wait' | 'retry' | 'execution-timeout' };

export type ExecutionInput =
  | { kind: 'task-succeeded'; id: string; output: unknown }
  | { kind: 'task-failed'; id: string; error: string; cause?: string }
  | { kind: 'timer-fired'; id: string }
  | { kind: 'abort'; error?: string; cause?: string };

export interface HostHooks {
  now: number;
  random(): number;
  uuid(): string;
}

export interface StartOptions {
  executionId: string;
  executionName: string;
  stateMachineId: string;
  stateMachineName: string;
  now: number;
  maxTransitions?: number;
}

export type TransitionType =
  | 'ExecutionStarted'
  | 'StateEntered'
  | 'StateExited'
  | 'TaskScheduled'
  | 'TaskSucceeded'
  | 'TaskFailed'
  | 'RetryScheduled'
  | 'WaitStarted'
  | 'ParallelStarted'
  | 'MapStarted'
  | 'MapIterationStarted'
  | 'ExecutionSucceeded'
  | 'ExecutionFailed'
  | 'ExecutionTimedOut'
  | 'ExecutionAborted';

export interface Transition {
  type: TransitionType;
  at: number;
  state?: string;
  detail?: Record<string, unknown>;
}
