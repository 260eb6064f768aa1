/** One thing wrong with a state machine definition; `path` names the place, like `States.Check.Next`. */
export interface DefinitionProblem {
  path: string;
  message: string;
}

/** A refused definition: every problem found, each with its path. */
export class DefinitionError extends Error {
  readonly problems: DefinitionProblem[];

  constructor(problems: DefinitionProblem[]) {
    super(`invalid state machine definition:\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'DefinitionError';
    this.problems = problems;
  }
}

export function formatProblem(problem: DefinitionProblem): string {
  return `${problem.path === '' ? '(definition)' : problem.path}: ${problem.message}`;
}

/** The error names the States language predefines (all start with "States."). */
export const States = {
  ALL: 'States.ALL',
  BranchFailed: 'States.BranchFailed',
  DataLimitExceeded: 'States.DataLimitExceeded',
  ExceedToleratedFailureThreshold: 'States.ExceedToleratedFailureThreshold',
  HeartbeatTimeout: 'States.HeartbeatTimeout',
  IntrinsicFailure: 'States.IntrinsicFailure',
  NoChoiceMatched: 'States.NoChoiceMatched',
  ParameterPathFailure: 'States.ParameterPathFailure',
  Permissions: 'States.Permissions',
  ResultPathMatchFailure: 'States.ResultPathMatchFailure',
  Runtime: 'States.Runtime',
  TaskFailed: 'States.TaskFailed',
  Timeout: 'States.Timeout',
} as const;

/**
 * An error raised while running a state, named as the States language names errors. Thrown inside the
 * interpreter only; it never escapes `step`/`deliver` (it becomes a failed state).
 */
export class StatesError extends Error {
  readonly error: string;
  readonly detail: string | undefined;

  constructor(error: string, cause?: string) {
    super(cause === undefined ? error : `${error}: ${cause}`);
    this.name = 'StatesError';
    this.error = error;
    this.detail = cause;
  }
}

/**
 * AWS: States.Runtime "isn't retriable, and will always cause the execution to fail"; States.DataLimitExceeded
 * "is a terminal error that cannot be caught by the States.ALL error type". Neither reaches Retry or Catch.
 */
export function isTerminalError(error: string): boolean {
  return error === States.Runtime || error === States.DataLimitExceeded;
}
