import { evaluateRule } from './choice.js';
import { isTerminalError, States, StatesError } from './errors.js';
import { checkSize, contextObject, emit, scope, select, type Ctx } from './io.js';
import { isInteger, toJson } from './json.js';
import type { Catcher, ChoiceState, FailState, MapState, ParallelState, PassState, Retrier, State, TaskState, WaitState } from './machine.js';
import { readPath, type ReferencePath } from './paths.js';
import { applyResultPath } from './result-path.js';
import type { Phase, Run } from './snapshot.js';
import { evaluateDynamic, evaluateTemplate } from './template.js';
import { parseTimestamp } from './timestamp.js';

/**
 * Moving runs forward. Every function returns a new Run (never changing the one it is given) and records
 * what happened in `ctx.out`. A state's failure becomes a `failed` phase after Retry and Catch had their
 * say; the parent run (Parallel/Map) or the engine (top level) takes it from there.
 */

export const ENTER: Phase = Object.freeze({ kind: 'enter' });

type Executing = TaskState | ParallelState | MapState;

function stateOf(ctx: Ctx, run: Run): State {
  const state = ctx.machine.graphs[run.graph]?.states.get(run.state);
  if (state === undefined) throw new StatesError(States.Runtime, `state "${run.state}" does not exist in this state machine`);
  return state;
}

function asStatesError(error: unknown): StatesError {
  if (error instanceof StatesError) return error;
  return new StatesError(States.Runtime, `internal error: ${error instanceof Error ? error.message : String(error)}`);
}

function failed(run: Run, error: string, cause: string | undefined, branch = false): Run {
  const phase: Phase = { kind: 'failed', error, ...(cause === undefined ? {} : { cause }), ...(branch ? { branch } : {}) };
  return { ...run, phase };
}

function label(parent: string, state: string, index: number): string {
  return `${parent}${state}[${index}]/`;
}

/** Does whatever the run can do without outside input; null when it can do nothing. */
export function progress(ctx: Ctx, run: Run, at: string): Run | null {
  switch (run.phase.kind) {
    case 'enter':
      return enter(ctx, run, at);
    case 'attempt': {
      const state = stateOf(ctx, run) as Executing;
      return attempt(ctx, run, state, at);
    }
    case 'parallel':
      return progressParallel(ctx, run, stateOf(ctx, run) as ParallelState, at);
    case 'map':
      return progressMap(ctx, run, stateOf(ctx, run) as MapState, at);
    default:
      return null;
  }
}

function enter(ctx: Ctx, run: Run, at: string): Run {
  let state: State;
  try {
    state = stateOf(ctx, run);
  } catch (error) {
    const e = asStatesError(error);
    return failed(run, e.error, e.detail);
  }
  emit(ctx, 'StateEntered', run.state, at, { type: state.type, input: run.input });
  const entered: Run = { graph: run.graph, state: run.state, input: run.input, phase: run.phase, enteredAt: ctx.hooks.now };
  switch (state.type) {
    case 'Pass':
      return pass(ctx, entered, state, at);
    case 'Choice':
      return choice(ctx, entered, state, at);
    case 'Wait':
      return wait(ctx, entered, state, at);
    case 'Succeed':
      return simple(ctx, entered, state, at, () => select(state.outputPath, select(state.inputPath, entered.input)));
    case 'Fail':
      return fail(ctx, entered, state);
    default: {
      const fresh = state.retry.length === 0 ? entered : { ...entered, retries: state.retry.map(() => 0) };
      return attempt(ctx, fresh, state, at);
    }
  }
}

/** Runs a state that computes its output at once; any error fails the run (these states have no Catch). */
function simple(ctx: Ctx, run: Run, state: State, at: string, output: () => unknown): Run {
  let value: unknown;
  try {
    value = output();
    if (value !== run.input) checkSize(value, `the output of state "${run.state}"`);
  } catch (error) {
    const e = asStatesError(error);
    return failed(run, e.error, e.detail);
  }
  return exit(ctx, run, state.next, value, at);
}

function pass(ctx: Ctx, run: Run, state: PassState, at: string): Run {
  return simple(ctx, run, state, at, () => {
    const effective = select(state.inputPath, run.input);
    let result = effective;
    if (state.parameters !== null) {
      result = evaluateTemplate(state.parameters, scope(ctx, run, effective));
      checkSize(result, `the input of state "${run.state}" after Parameters`);
    }
    if (state.result !== null) result = state.result.value;
    return select(state.outputPath, applyResultPath(run.input, state.resultPath, result));
  });
}

function choice(ctx: Ctx, run: Run, state: ChoiceState, at: string): Run {
  let next: string;
  let output: unknown;
  try {
    const effective = select(state.inputPath, run.input);
    let context: unknown;
    const contextFn = () => (context ??= contextObject(ctx, run));
    const match = state.choices.find((c) => evaluateRule(c.rule, effective, contextFn));
    if (match !== undefined) next = match.next;
    else if (state.default !== null) next = state.default;
    else throw new StatesError(States.NoChoiceMatched, `No choice rule matched the input of state "${run.state}" and it has no Default`);
    output = select(state.outputPath, effective);
  } catch (error) {
    const e = asStatesError(error);
    return failed(run, e.error, e.detail);
  }
  return exit(ctx, run, next, output, at);
}

function wait(ctx: Ctx, run: Run, state: WaitState, at: string): Run {
  const now = ctx.hooks.now;
  let until: number;
  let output: unknown;
  try {
    const effective = select(state.inputPath, run.input);
    if (state.seconds !== null) until = now + state.seconds * 1000;
    else if (state.timestamp !== null) until = state.timestamp;
    else if (state.secondsPath !== null) {
      const seconds = readReference(state.secondsPath, effective);
      if (!isInteger(seconds) || seconds < 0) {
        throw new StatesError(States.Runtime, `The SecondsPath parameter does not reference a valid non-negative integer: ${state.secondsPath.source} is ${toJson(seconds)}`);
      }
      until = now + seconds * 1000;
    } else {
      const value = readReference(state.timestampPath!, effective);
      const instant = parseTimestamp(value);
      if (instant === null) throw new StatesError(States.Runtime, `The TimestampPath parameter does not reference a valid ISO-8601 timestamp: ${state.timestampPath!.source} is ${toJson(value)}`);
      until = instant.seconds * 1000;
    }
    output = select(state.outputPath, effective);
    if (output !== run.input) checkSize(output, `the output of state "${run.state}"`);
  } catch (error) {
    const e = asStatesError(error);
    return failed(run, e.error, e.detail);
  }
  if (until <= now) return exit(ctx, run, state.next, output, at);
  const id = `wait-${++ctx.seq}`;
  emit(ctx, 'WaitStarted', run.state, at, { id, until });
  return { ...run, phase: { kind: 'wait', id, until, output } };
}

function readReference(path: ReferencePath, data: unknown): unknown {
  const found = readPath(path, data, () => undefined);
  if (!found.found) throw new StatesError(States.Runtime, `Invalid path '${path.source}': the path references an invalid value`);
  return found.value;
}

function fail(ctx: Ctx, run: Run, state: FailState): Run {
  try {
    const text = (fixed: string | null, dynamic: FailState['errorPath'], field: string): string | undefined => {
      if (fixed !== null) return fixed;
      if (dynamic === null) return undefined;
      const found = evaluateDynamic(dynamic, scope(ctx, run, run.input));
      if (!found.found || typeof found.value !== 'string') {
        const source = dynamic.kind === 'path' ? dynamic.path.source : dynamic.call.source;
        throw new StatesError(States.Runtime, `The ${field} field of state "${run.state}" does not resolve to a string: ${source}`);
      }
      return found.value;
    };
    const error = text(state.error, state.errorPath, 'ErrorPath');
    const cause = text(state.cause, state.causePath, 'CausePath');
    return failed(run, error ?? '', cause);
  } catch (error) {
    const e = asStatesError(error);
    return failed(run, e.error, e.detail);
  }
}

/** Emits StateExited and moves the run to the next state, or ends it. */
function exit(ctx: Ctx, run: Run, next: string | null, output: unknown, at: string): Run {
  emit(ctx, 'StateExited', run.state, at, { output });
  if (next === null) return { graph: run.graph, state: run.state, input: run.input, phase: { kind: 'done', output } };
  return { graph: run.graph, state: next, input: output, phase: ENTER };
}

/** Starts (or, after a retry's wait, restarts) the work of a Task, Parallel or Map state. */
function attempt(ctx: Ctx, run: Run, state: Executing, at: string): Run {
  try {
    const effective = select(state.inputPath, run.input);
    switch (state.type) {
      case 'Task':
        return scheduleTask(ctx, run, state, effective, at);
      case 'Parallel': {
        let input = effective;
        if (state.parameters !== null) {
          input = evaluateTemplate(state.parameters, scope(ctx, run, effective));
          checkSize(input, `the input of state "${run.state}" after Parameters`);
        }
        emit(ctx, 'ParallelStarted', run.state, at, { branches: state.branches.length });
        const branches = state.branches.map((g): Run => ({ graph: g, state: ctx.machine.graphs[g]!.startAt, input, phase: ENTER }));
        return { ...run, phase: { kind: 'parallel', branches } };
      }
      case 'Map':
        return startMap(ctx, run, state, effective, at);
    }
  } catch (error) {
    const e = asStatesError(error);
    return handleError(ctx, run, state, e.error, e.detail, at);
  }
}

function positiveSeconds(path: ReferencePath | null, data: unknown, field: string): number | undefined {
  if (path === null) return undefined;
  const value = readReference(path, data);
  if (!isInteger(value) || value < 1) throw new StatesError(States.Runtime, `${field} must reference a positive integer: ${path.source} is ${toJson(value)}`);
  return value;
}

function scheduleTask(ctx: Ctx, run: Run, state: TaskState, effective: unknown, at: string): Run {
  const id = `task-${++ctx.seq}`;
  let input = effective;
  if (state.parameters !== null) {
    input = evaluateTemplate(state.parameters, scope(ctx, run, effective, { task: id }));
    checkSize(input, `the input of state "${run.state}" after Parameters`);
  }
  const timeoutSeconds = state.timeoutSeconds ?? positiveSeconds(state.timeoutSecondsPath, effective, 'TimeoutSecondsPath');
  const heartbeatSeconds = state.heartbeatSeconds ?? positiveSeconds(state.heartbeatSecondsPath, effective, 'HeartbeatSecondsPath');
  const phase: Phase = {
    kind: 'task',
    id,
    resource: state.resource,
    input,
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    ...(heartbeatSeconds === undefined ? {} : { heartbeatSeconds }),
  };
  emit(ctx, 'TaskScheduled', run.state, at, { id, resource: state.resource, input, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }), ...(heartbeatSeconds === undefined ? {} : { heartbeatSeconds }) });
  return { ...run, phase };
}

export function taskSucceeded(ctx: Ctx, run: Run, id: string, output: unknown, at: string): Run {
  const state = stateOf(ctx, run) as TaskState;
  const result = output === undefined ? null : output;
  emit(ctx, 'TaskSucceeded', run.state, at, { id, output: result });
  try {
    checkSize(result, `the result of task "${run.state}"`);
  } catch (error) {
    const e = asStatesError(error);
    return handleError(ctx, run, state, e.error, e.detail, at);
  }
  return finish(ctx, run, state, result, at);
}

export function taskFailed(ctx: Ctx, run: Run, id: string, error: string, cause: string | undefined, at: string): Run {
  const state = stateOf(ctx, run) as TaskState;
  emit(ctx, 'TaskFailed', run.state, at, { id, error, ...(cause === undefined ? {} : { cause }) });
  return handleError(ctx, run, state, error, cause, at);
}

export function timerFired(ctx: Ctx, run: Run, at: string): Run {
  const state = stateOf(ctx, run);
  if (run.phase.kind === 'wait') return exit(ctx, run, state.next, run.phase.output, at);
  return attempt(ctx, { ...run, phase: { kind: 'attempt' } }, state as Executing, at);
}

/** ResultSelector, ResultPath and OutputPath on a Task/Parallel/Map result, then on to the next state. */
function finish(ctx: Ctx, run: Run, state: Executing, result: unknown, at: string): Run {
  let output: unknown;
  try {
    const selected = state.resultSelector === null ? result : evaluateTemplate(state.resultSelector, scope(ctx, run, result));
    output = select(state.outputPath, applyResultPath(run.input, state.resultPath, selected));
    if (output !== run.input) checkSize(output, `the output of state "${run.state}"`);
  } catch (error) {
    const e = asStatesError(error);
    return handleError(ctx, run, state, e.error, e.detail, at);
  }
  return exit(ctx, run, state.next, output, at);
}

/** Whether an ErrorEquals list matches an error (States.ALL, States.TaskFailed and the other wildcards). */
export function errorMatches(names: readonly string[], error: string, fromBranch: boolean): boolean {
  for (const name of names) {
    if (name === error || name === States.ALL) return true;
    if (name === States.TaskFailed && error !== States.Timeout && error !== States.HeartbeatTimeout) return true;
    if (name === States.Timeout && error === States.HeartbeatTimeout) return true;
    if (name === States.BranchFailed && fromBranch) return true;
  }
  return false;
}

/** Seconds to wait before retry number `attempt` (1-based) of a retrier. */
export function retryDelay(retrier: Retrier, attempt: number, random: () => number): number {
  let delay = retrier.intervalSeconds * retrier.backoffRate ** (attempt - 1);
  if (retrier.maxDelaySeconds !== null) delay = Math.min(delay, retrier.maxDelaySeconds);
  return retrier.fullJitter ? delay * random() : delay;
}

/**
 * A state reported an error: the first retrier whose ErrorEquals matches decides whether to retry (its
 * attempts are counted per state visit); failing that, the first matching catcher sends the error output
 * `{Error, Cause}` (placed by its ResultPath) to its Next; failing that, the run fails.
 */
function handleError(ctx: Ctx, run: Run, state: Executing, error: string, cause: string | undefined, at: string, fromBranch = false): Run {
  if (isTerminalError(error)) return failed(run, error, cause, fromBranch);
  const r = state.retry.findIndex((retrier) => errorMatches(retrier.errors, error, fromBranch));
  if (r >= 0) {
    const retrier = state.retry[r]!;
    const used = run.retries?.[r] ?? 0;
    if (used < retrier.maxAttempts) {
      const attemptNumber = used + 1;
      const delay = retryDelay(retrier, attemptNumber, () => ctx.hooks.random());
      const until = ctx.hooks.now + Math.round(delay * 1000);
      const id = `retry-${++ctx.seq}`;
      const retries = (run.retries ?? state.retry.map(() => 0)).slice();
      retries[r] = attemptNumber;
      emit(ctx, 'RetryScheduled', run.state, at, { id, error, ...(cause === undefined ? {} : { cause }), retrier: r, attempt: attemptNumber, delaySeconds: delay, until });
      return { ...run, retries, phase: { kind: 'retry', id, until } };
    }
  }
  const catcher: Catcher | undefined = state.catch.find((c) => errorMatches(c.errors, error, fromBranch));
  if (catcher === undefined) return failed(run, error, cause, fromBranch);
  let output: unknown;
  try {
    output = applyResultPath(run.input, catcher.resultPath, cause === undefined ? { Error: error } : { Error: error, Cause: cause });
    checkSize(output, `the output of state "${run.state}"`);
  } catch (e) {
    const f = asStatesError(e);
    return failed(run, f.error, f.detail);
  }
  emit(ctx, 'StateExited', run.state, at, { output, error, ...(cause === undefined ? {} : { cause }), next: catcher.next });
  return { graph: run.graph, state: catcher.next, input: output, phase: ENTER };
}

function progressParallel(ctx: Ctx, run: Run, state: ParallelState, at: string): Run | null {
  const phase = run.phase as Extract<Phase, { kind: 'parallel' }>;
  const broken = phase.branches.find((b) => b.phase.kind === 'failed');
  if (broken !== undefined && broken.phase.kind === 'failed') {
    return handleError(ctx, run, state, broken.phase.error, broken.phase.cause, at, true);
  }
  if (phase.branches.every((b) => b.phase.kind === 'done')) {
    return finish(ctx, run, state, phase.branches.map((b) => (b.phase as { output: unknown }).output), at);
  }
  for (let i = 0; i < phase.branches.length; i++) {
    const next = progress(ctx, phase.branches[i]!, label(at, run.state, i));
    if (next !== null) {
      const branches = phase.branches.slice();
      branches[i] = next;
      return { ...run, phase: { ...phase, branches } };
    }
  }
  return null;
}

function nonNegative(path: ReferencePath | null, data: unknown, fallback: number | null, field: string, max = Infinity): number | null {
  if (path === null) return fallback;
  const value = readReference(path, data);
  if (typeof value !== 'number' || value < 0 || value > max || (max === Infinity && !Number.isInteger(value))) {
    throw new StatesError(States.Runtime, `${field} must reference a ${max === Infinity ? 'non-negative integer' : `number from 0 to ${max}`}: ${path.source} is ${toJson(value)}`);
  }
  return value;
}

function startMap(ctx: Ctx, run: Run, state: MapState, effective: unknown, at: string): Run {
  const found = readPath(state.itemsPath, effective, () => contextObject(ctx, run));
  if (!found.found) throw new StatesError(States.Runtime, `Invalid path '${state.itemsPath.source}' : No results for path: ${state.itemsPath.source}`);
  if (!Array.isArray(found.value)) {
    throw new StatesError(States.Runtime, `The ItemsPath ${state.itemsPath.source} of state "${run.state}" must select an array, not ${toJson(found.value)}`);
  }
  const items = found.value;
  const limit = nonNegative(state.maxConcurrencyPath, effective, state.maxConcurrency, 'MaxConcurrencyPath')!;
  const toleratedCount = nonNegative(state.toleratedFailureCountPath, effective, state.toleratedFailureCount, 'ToleratedFailureCountPath');
  const toleratedPercentage = nonNegative(state.toleratedFailurePercentagePath, effective, state.toleratedFailurePercentage, 'ToleratedFailurePercentagePath', 100);
  emit(ctx, 'MapStarted', run.state, at, { length: items.length });
  return {
    ...run,
    phase: { kind: 'map', items, effective, limit, next: 0, running: [], results: items.map(() => null), finished: 0, failed: 0, toleratedCount, toleratedPercentage },
  };
}

function progressMap(ctx: Ctx, run: Run, state: MapState, at: string): Run | null {
  let phase = run.phase as Extract<Phase, { kind: 'map' }>;
  let changed = false;
  // Collect finished iterations first.
  if (phase.running.some((c) => c.run.phase.kind === 'done' || c.run.phase.kind === 'failed')) {
    const results = phase.results.slice();
    const running: (typeof phase.running)[number][] = [];
    let { finished, failed: failures } = phase;
    for (const child of phase.running) {
      const p = child.run.phase;
      if (p.kind === 'done') {
        results[child.index] = p.output;
        finished++;
      } else if (p.kind === 'failed') {
        const tolerant = phase.toleratedCount !== null || phase.toleratedPercentage !== null;
        if (!tolerant || isTerminalError(p.error)) return handleError(ctx, run, state, p.error, p.cause, at);
        failures++;
        results[child.index] = p.cause === undefined ? { Error: p.error } : { Error: p.error, Cause: p.cause };
        const n = phase.items.length;
        if ((phase.toleratedCount !== null && failures > phase.toleratedCount) || (phase.toleratedPercentage !== null && failures * 100 > phase.toleratedPercentage * n)) {
          return handleError(ctx, run, state, States.ExceedToleratedFailureThreshold, `The specified tolerated failure threshold was exceeded: ${failures} of ${n} iterations failed`, at);
        }
      } else running.push(child);
    }
    phase = { ...phase, results, running, finished, failed: failures };
    changed = true;
  }
  const n = phase.items.length;
  if (phase.next < n && (phase.limit === 0 || phase.running.length < phase.limit)) {
    const index = phase.next;
    const value = phase.items[index];
    let input = value;
    if (state.itemSelector !== null) {
      try {
        input = evaluateTemplate(state.itemSelector, scope(ctx, run, phase.effective, { item: { index, value } }));
        checkSize(input, `the input of iteration ${index} of state "${run.state}" after ItemSelector`);
      } catch (error) {
        const e = asStatesError(error);
        return handleError(ctx, run, state, e.error, e.detail, at);
      }
    }
    emit(ctx, 'MapIterationStarted', run.state, at, { index });
    const child: Run = { graph: state.processor, state: ctx.machine.graphs[state.processor]!.startAt, input, phase: ENTER };
    return { ...run, phase: { ...phase, next: index + 1, running: [...phase.running, { index, run: child }] } };
  }
  if (phase.running.length === 0 && phase.next >= n) {
    return finish(ctx, { ...run, phase }, state, phase.results, at);
  }
  for (let i = 0; i < phase.running.length; i++) {
    const child = phase.running[i]!;
    const next = progress(ctx, child.run, label(at, run.state, child.index));
    if (next !== null) {
      const running = phase.running.slice();
      running[i] = { index: child.index, run: next };
      return { ...run, phase: { ...phase, running } };
    }
  }
  return changed ? { ...run, phase } : null;
}

/** The run (anywhere in the tree) waiting for effect `id`, updated by `apply`; null when none waits for it. */
export function updateWaiting(run: Run, at: string, id: string, apply: (run: Run, at: string) => Run | null): Run | null {
  const p = run.phase;
  switch (p.kind) {
    case 'task':
    case 'retry':
    case 'wait':
      return p.id === id ? apply(run, at) : null;
    case 'parallel':
      for (let i = 0; i < p.branches.length; i++) {
        const next = updateWaiting(p.branches[i]!, label(at, run.state, i), id, apply);
        if (next !== null) {
          const branches = p.branches.slice();
          branches[i] = next;
          return { ...run, phase: { ...p, branches } };
        }
      }
      return null;
    case 'map':
      for (let i = 0; i < p.running.length; i++) {
        const child = p.running[i]!;
        const next = updateWaiting(child.run, label(at, run.state, child.index), id, apply);
        if (next !== null) {
          const running = p.running.slice();
          running[i] = { index: child.index, run: next };
          return { ...run, phase: { ...p, running } };
        }
      }
      return null;
    default:
      return null;
  }
}
