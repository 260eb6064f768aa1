import { States, type StatesError } from './errors.js';
import { checkSize, emit, type Ctx } from './io.js';
import type { Machine } from './machine.js';
import { ENTER, progress, taskFailed, taskSucceeded, timerFired, updateWaiting } from './run.js';
import type { Effect, ExecutionInput, HostHooks, Run, Snapshot, StartOptions, Transition } from './snapshot.js';

/** AWS Step Functions' limit on history events per execution. */
export const DEFAULT_MAX_TRANSITIONS = 25_000;
const DEADLINE_ID = 'execution-timeout';

export interface Outcome {
  snapshot: Snapshot;
  transitions: Transition[];
}

/** Starts an execution: the first state is entered by the first `step`. */
export function startExecution(machine: Machine, input: unknown, options: StartOptions): Outcome {
  const value = input === undefined ? null : input;
  const graph = machine.graphs[0]!;
  const execution = {
    id: options.executionId,
    name: options.executionName,
    stateMachineId: options.stateMachineId,
    stateMachineName: options.stateMachineName,
    startTime: options.now,
    input: value,
  };
  const root: Run = { graph: 0, state: graph.startAt, input: value, phase: ENTER };
  const transitions: Transition[] = [{ type: 'ExecutionStarted', at: options.now, detail: { input: value, executionId: execution.id, name: execution.name } }];
  let snapshot: Snapshot = {
    status: 'RUNNING',
    execution,
    transitions: 1,
    maxTransitions: options.maxTransitions ?? DEFAULT_MAX_TRANSITIONS,
    seq: 0,
    root,
    ...(machine.timeoutSeconds === null ? {} : { deadline: { id: DEADLINE_ID, until: options.now + machine.timeoutSeconds * 1000 } }),
  };
  try {
    checkSize(value, 'the execution input');
  } catch (error) {
    const e = error as StatesError;
    transitions.push({ type: 'ExecutionFailed', at: options.now, detail: { error: e.error, cause: e.detail } });
    snapshot = { ...snapshot, status: 'FAILED', transitions: 2, error: e.error, ...(e.detail === undefined ? {} : { cause: e.detail }) };
  }
  return { snapshot, transitions };
}

function context(machine: Machine, snapshot: Snapshot, hooks: HostHooks): Ctx {
  return { machine, execution: snapshot.execution, hooks, seq: snapshot.seq, out: [] };
}

/**
 * Runs one transition that needs no outside input, or returns null when the execution is finished or
 * only waits for effects.
 */
export function step(machine: Machine, snapshot: Snapshot, hooks: HostHooks): Outcome | null {
  if (snapshot.status !== 'RUNNING') return null;
  const ctx = context(machine, snapshot, hooks);
  const root = progress(ctx, snapshot.root, '');
  if (root === null) return null;
  return { snapshot: settle(ctx, snapshot, root), transitions: ctx.out };
}

/** Feeds a task result, a fired timer or an abort in; ids nothing waits for (any more) are ignored. */
export function deliver(machine: Machine, snapshot: Snapshot, input: ExecutionInput, hooks: HostHooks): Outcome {
  const unchanged: Outcome = { snapshot, transitions: [] };
  if (snapshot.status !== 'RUNNING') return unchanged;
  const ctx = context(machine, snapshot, hooks);
  if (input.kind === 'abort') {
    emit(ctx, 'ExecutionAborted', undefined, '', { ...(input.error === undefined ? {} : { error: input.error }), ...(input.cause === undefined ? {} : { cause: input.cause }) });
    return finishWith(ctx, snapshot, { status: 'ABORTED', error: input.error, cause: input.cause });
  }
  if (input.kind === 'timer-fired' && snapshot.deadline !== undefined && input.id === snapshot.deadline.id) {
    const cause = `The execution ran longer than the state machine's TimeoutSeconds`;
    emit(ctx, 'ExecutionTimedOut', undefined, '', { error: States.Timeout, cause });
    return finishWith(ctx, snapshot, { status: 'TIMED_OUT', error: States.Timeout, cause });
  }
  const root = updateWaiting(snapshot.root, '', input.id, (run, at) => {
    const kind = run.phase.kind;
    switch (input.kind) {
      case 'task-succeeded':
        return kind === 'task' ? taskSucceeded(ctx, run, input.id, input.output, at) : null;
      case 'task-failed':
        return kind === 'task' ? taskFailed(ctx, run, input.id, input.error, input.cause, at) : null;
      case 'timer-fired':
        return kind === 'retry' || kind === 'wait' ? timerFired(ctx, run, at) : null;
    }
  });
  if (root === null) return unchanged;
  return { snapshot: settle(ctx, snapshot, root), transitions: ctx.out };
}

/** The new snapshot after a call: ends the execution when the top-level run ended or ran out of transitions. */
function settle(ctx: Ctx, snapshot: Snapshot, root: Run): Snapshot {
  const p = root.phase;
  let next: Snapshot = { ...snapshot, root, seq: ctx.seq };
  if (p.kind === 'done') {
    emit(ctx, 'ExecutionSucceeded', undefined, '', { output: p.output });
    return closed(next, ctx, { status: 'SUCCEEDED', output: p.output });
  }
  if (p.kind === 'failed') {
    emit(ctx, 'ExecutionFailed', undefined, '', { ...(p.error === '' ? {} : { error: p.error }), ...(p.cause === undefined ? {} : { cause: p.cause }) });
    return closed(next, ctx, { status: 'FAILED', error: p.error === '' ? undefined : p.error, cause: p.cause });
  }
  next = { ...next, transitions: snapshot.transitions + ctx.out.length };
  if (next.transitions > next.maxTransitions) {
    const cause = `The execution exceeded the limit of ${next.maxTransitions} transitions (history events)`;
    emit(ctx, 'ExecutionFailed', undefined, '', { error: States.Runtime, cause });
    return closed(next, ctx, { status: 'FAILED', error: States.Runtime, cause }, snapshot.transitions);
  }
  return next;
}

function finishWith(ctx: Ctx, snapshot: Snapshot, end: End): Outcome {
  return { snapshot: closed({ ...snapshot, seq: ctx.seq }, ctx, end), transitions: ctx.out };
}

interface End {
  status: Snapshot['status'];
  output?: unknown;
  error?: string | undefined;
  cause?: string | undefined;
}

function closed(snapshot: Snapshot, ctx: Ctx, end: End, before = snapshot.transitions): Snapshot {
  const { deadline: _deadline, ...rest } = snapshot;
  return {
    ...rest,
    status: end.status,
    transitions: before + ctx.out.length,
    ...('output' in end ? { output: end.output } : {}),
    ...(end.error === undefined ? {} : { error: end.error }),
    ...(end.cause === undefined ? {} : { cause: end.cause }),
  };
}

/** What the execution waits for now, in a stable order. */
export function pendingEffects(snapshot: Snapshot): Effect[] {
  if (snapshot.status !== 'RUNNING') return [];
  const out: Effect[] = [];
  collect(snapshot.root, out);
  if (snapshot.deadline !== undefined) out.push({ kind: 'timer', id: snapshot.deadline.id, until: snapshot.deadline.until, reason: 'execution-timeout' });
  return out;
}

function collect(run: Run, out: Effect[]): void {
  const p = run.phase;
  switch (p.kind) {
    case 'task':
      out.push({
        kind: 'task',
        id: p.id,
        resource: p.resource,
        input: p.input,
        ...(p.timeoutSeconds === undefined ? {} : { timeoutSeconds: p.timeoutSeconds }),
        ...(p.heartbeatSeconds === undefined ? {} : { heartbeatSeconds: p.heartbeatSeconds }),
        stateName: run.state,
      });
      return;
    case 'retry':
      out.push({ kind: 'timer', id: p.id, until: p.until, reason: 'retry' });
      return;
    case 'wait':
      out.push({ kind: 'timer', id: p.id, until: p.until, reason: 'wait' });
      return;
    case 'parallel':
      for (const b of p.branches) collect(b, out);
      return;
    case 'map':
      for (const c of p.running) collect(c.run, out);
      return;
    default:
      return;
  }
}
