import {
  compileDefinition,
  deliver,
  pendingEffects,
  startExecution,
  step,
  type Effect,
  type HostHooks,
  type Machine,
  type Snapshot,
  type Transition,
} from '../../../src/engine/asl/index.js';

/** Fixed start time of test executions: 2024-01-01T00:00:00.000Z. */
export const T0 = Date.UTC(2024, 0, 1);

export type TaskOutcome = { output: unknown } | { error: string; cause?: string };
export type TaskHandler = (resource: string, input: unknown, effect: Extract<Effect, { kind: 'task' }>) => TaskOutcome;

export interface RunOptions {
  tasks?: TaskHandler;
  /** Serialize and parse the snapshot between every call, as a host that checkpoints to storage would. */
  roundTrip?: boolean;
  random?: () => number;
  maxTransitions?: number;
  /** Stop once this many milliseconds of (fake) time have passed. */
  horizon?: number;
}

export interface RunResult {
  snapshot: Snapshot;
  transitions: Transition[];
  /** Every effect the host was asked to run, in order. */
  effects: Effect[];
  /** The largest number of tasks pending at the same time. */
  maxPendingTasks: number;
  /** Fake time at the end. */
  now: number;
  machine: Machine;
}

/** Runs an execution to completion with a fake task runner and a fake clock that jumps to the next timer. */
export function runExecution(definition: unknown, input: unknown, options: RunOptions = {}): RunResult {
  const machine = compileDefinition(definition);
  let now = T0;
  let uuids = 0;
  const hooks = (): HostHooks => ({
    now,
    random: options.random ?? (() => 0.5),
    uuid: () => `00000000-0000-4000-8000-${String(++uuids).padStart(12, '0')}`,
  });
  const keep = (s: Snapshot): Snapshot => (options.roundTrip ? (JSON.parse(JSON.stringify(s)) as Snapshot) : s);
  const started = startExecution(machine, input, {
    executionId: 'arn:aws:states:us-east-1:123456789012:execution:Machine:exec-1',
    executionName: 'exec-1',
    stateMachineId: 'arn:aws:states:us-east-1:123456789012:stateMachine:Machine',
    stateMachineName: 'Machine',
    now,
    ...(options.maxTransitions === undefined ? {} : { maxTransitions: options.maxTransitions }),
  });
  let snapshot = keep(started.snapshot);
  const transitions = [...started.transitions];
  const effects: Effect[] = [];
  const seen = new Set<string>();
  let maxPendingTasks = 0;
  const tasks = options.tasks ?? ((_r, i) => ({ output: i }));
  for (let guard = 0; guard < 1_000_000; guard++) {
    const r = step(machine, snapshot, hooks());
    if (r !== null) {
      snapshot = keep(r.snapshot);
      transitions.push(...r.transitions);
      continue;
    }
    if (snapshot.status !== 'RUNNING') break;
    const pending = pendingEffects(snapshot);
    for (const e of pending) if (!seen.has(e.id)) (seen.add(e.id), effects.push(e));
    const pendingTasks = pending.filter((e): e is Extract<Effect, { kind: 'task' }> => e.kind === 'task');
    maxPendingTasks = Math.max(maxPendingTasks, pendingTasks.length);
    if (pendingTasks.length > 0) {
      for (const t of pendingTasks) {
        const outcome = tasks(t.resource, t.input, t);
        const d = deliver(machine, snapshot, 'output' in outcome ? { kind: 'task-succeeded', id: t.id, output: outcome.output } : { kind: 'task-failed', id: t.id, error: outcome.error, ...(outcome.cause === undefined ? {} : { cause: outcome.cause }) }, hooks());
        snapshot = keep(d.snapshot);
        transitions.push(...d.transitions);
      }
      continue;
    }
    const timers = pending.filter((e): e is Extract<Effect, { kind: 'timer' }> => e.kind === 'timer').sort((a, b) => a.until - b.until);
    const first = timers[0];
    if (first === undefined) throw new Error('execution is stuck: RUNNING with nothing pending');
    if (options.horizon !== undefined && first.until - T0 > options.horizon) break;
    now = Math.max(now, first.until);
    const d = deliver(machine, snapshot, { kind: 'timer-fired', id: first.id }, hooks());
    snapshot = keep(d.snapshot);
    transitions.push(...d.transitions);
  }
  return { snapshot, transitions, effects, maxPendingTasks, now, machine };
}

/** Runs a one-state machine made of `state` (which must be an end state) on `input`; returns the execution. */
export function runState(state: Record<string, unknown>, input: unknown, options: RunOptions = {}): RunResult {
  return runExecution({ StartAt: 'S', States: { S: state } }, input, options);
}

/** The output of a one-Pass-state machine with these fields. */
export function passOutput(fields: Record<string, unknown>, input: unknown): unknown {
  const r = runState({ Type: 'Pass', End: true, ...fields }, input);
  if (r.snapshot.status !== 'SUCCEEDED') throw new Error(`execution ${r.snapshot.status}: ${r.snapshot.error} ${r.snapshot.cause}`);
  return r.snapshot.output;
}

/** The error of a failed one-state execution. */
export function failure(r: RunResult): { status: string; error?: string; cause?: string } {
  return { status: r.snapshot.status, ...(r.snapshot.error === undefined ? {} : { error: r.snapshot.error }), ...(r.snapshot.cause === undefined ? {} : { cause: r.snapshot.cause }) };
}
