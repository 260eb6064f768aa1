import { describe, expect, it } from 'vitest';
import { compileDefinition, deliver, pendingEffects, startExecution, step, type HostHooks, type Snapshot } from '../../../src/engine/asl/index.js';
import { failure, runExecution, runState, T0, type TaskHandler } from './driver.js';

/** Fails with the listed errors, one per call, then succeeds. */
function failing(...errors: string[]): TaskHandler {
  let i = 0;
  return () => (i < errors.length ? { error: errors[i++]!, cause: `attempt ${i}` } : { output: 'done' });
}

function retryDelays(r: ReturnType<typeof runExecution>): number[] {
  return r.transitions.filter((t) => t.type === 'RetryScheduled').map((t) => (t.detail!.until as number) - t.at);
}

const taskWith = (extra: Record<string, unknown>) => ({ Type: 'Task', Resource: 'agent-mesh:t', End: true, ...extra });

describe('Retry', () => {
  it('waits IntervalSeconds × BackoffRate^n between attempts (3 and 4.5 seconds)', () => {
    const r = runState(taskWith({ Retry: [{ ErrorEquals: ['States.Timeout'], IntervalSeconds: 3, MaxAttempts: 2, BackoffRate: 1.5 }] }), {}, { tasks: failing('States.Timeout', 'States.Timeout') });
    expect(retryDelays(r)).toEqual([3000, 4500]);
    expect(r.snapshot.output).toBe('done');
  });

  it('defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0', () => {
    const r = runState(taskWith({ Retry: [{ ErrorEquals: ['E'] }] }), {}, { tasks: failing('E', 'E', 'E', 'E') });
    expect(retryDelays(r)).toEqual([1000, 2000, 4000]);
    expect(failure(r)).toEqual({ status: 'FAILED', error: 'E', cause: 'attempt 4' });
  });

  it('MaxDelaySeconds caps the interval', () => {
    const r = runState(taskWith({ Retry: [{ ErrorEquals: ['E'], IntervalSeconds: 2, BackoffRate: 3, MaxAttempts: 5, MaxDelaySeconds: 20 }] }), {}, { tasks: failing('E', 'E', 'E', 'E', 'E') });
    expect(retryDelays(r)).toEqual([2000, 6000, 18000, 20000, 20000]);
  });

  it('JitterStrategy FULL draws each interval between 0 and the computed interval with the injected random()', () => {
    const draws = [0.25, 0.5, 0.75];
    let i = 0;
    const r = runState(taskWith({ Retry: [{ ErrorEquals: ['E'], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 3, JitterStrategy: 'FULL' }] }), {}, {
      tasks: failing('E', 'E', 'E'),
      random: () => draws[i++]!,
    });
    expect(retryDelays(r)).toEqual([500, 2000, 6000]);
    const none = runState(taskWith({ Retry: [{ ErrorEquals: ['E'], IntervalSeconds: 2, JitterStrategy: 'NONE' }] }), {}, { tasks: failing('E'), random: () => 0 });
    expect(retryDelays(none)).toEqual([2000]);
  });

  it('MaxAttempts 0 never retries, and the next retriers are not consulted (retry everything but States.Timeout)', () => {
    const retry = [{ ErrorEquals: ['States.Timeout'], MaxAttempts: 0 }, { ErrorEquals: ['States.ALL'] }];
    const timeout = runState(taskWith({ Retry: retry }), {}, { tasks: failing('States.Timeout') });
    expect(retryDelays(timeout)).toEqual([]);
    expect(failure(timeout)).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    const other = runState(taskWith({ Retry: retry }), {}, { tasks: failing('Other') });
    expect(retryDelays(other)).toEqual([1000]);
    expect(other.snapshot.output).toBe('done');
  });

  it('the complex retry scenario of the guide: ErrorA, ErrorB, ErrorC, ErrorB', () => {
    const r = runExecution(
      {
        StartAt: 'X',
        States: {
          X: {
            Type: 'Task',
            Resource: 'agent-mesh:x',
            Next: 'Y',
            Retry: [
              { ErrorEquals: ['ErrorA', 'ErrorB'], IntervalSeconds: 1, BackoffRate: 2.0, MaxAttempts: 2 },
              { ErrorEquals: ['ErrorC'], IntervalSeconds: 5 },
            ],
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Z' }],
          },
          Y: { Type: 'Pass', Result: 'Y', End: true },
          Z: { Type: 'Pass', End: true },
        },
      },
      {},
      { tasks: failing('ErrorA', 'ErrorB', 'ErrorC', 'ErrorB') },
    );
    // Waits of 1 and 2 s (first retrier), 5 s (second); the fourth error finds the first retrier's two
    // attempts used up, so the Catch sends the execution to Z.
    expect(retryDelays(r)).toEqual([1000, 2000, 5000]);
    expect(r.snapshot.output).toEqual({ Error: 'ErrorB', Cause: 'attempt 4' });
  });

  it('attempt counts start again when the state is entered again', () => {
    let calls = 0;
    const r = runExecution(
      {
        StartAt: 'T',
        States: {
          T: { Type: 'Task', Resource: 'agent-mesh:t', Retry: [{ ErrorEquals: ['E'], MaxAttempts: 1 }], Next: 'Again' },
          Again: { Type: 'Choice', Choices: [{ Variable: '$', StringEquals: 'first', Next: 'T' }], Default: 'Done' },
          Done: { Type: 'Succeed' },
        },
      },
      {},
      { tasks: () => (++calls % 2 === 1 ? { error: 'E' } : { output: calls === 2 ? 'first' : 'second' }) },
    );
    expect(r.snapshot.status).toBe('SUCCEEDED');
    expect(retryDelays(r)).toEqual([1000, 1000]);
  });

  it('States.TaskFailed matches any error except States.Timeout', () => {
    expect(runState(taskWith({ Retry: [{ ErrorEquals: ['States.TaskFailed'] }] }), {}, { tasks: failing('Lambda.Unknown') }).snapshot.status).toBe('SUCCEEDED');
    expect(runState(taskWith({ Retry: [{ ErrorEquals: ['States.TaskFailed'] }] }), {}, { tasks: failing('States.Timeout') }).snapshot.status).toBe('FAILED');
  });

  it('a heartbeat timeout matches States.HeartbeatTimeout and States.Timeout', () => {
    for (const name of ['States.HeartbeatTimeout', 'States.Timeout']) {
      expect(runState(taskWith({ Retry: [{ ErrorEquals: [name] }] }), {}, { tasks: failing('States.HeartbeatTimeout') }).snapshot.status).toBe('SUCCEEDED');
    }
  });
});

describe('Catch', () => {
  const machine = (catcher: Record<string, unknown>) => ({
    StartAt: 'T',
    States: {
      T: { Type: 'Task', Resource: 'agent-mesh:t', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recovery', ...catcher }], End: true },
      Recovery: { Type: 'Pass', End: true },
    },
  });

  it('ResultPath places the error output {Error, Cause} into the input', () => {
    const r = runExecution(machine({ ResultPath: '$.error' }), { foo: 'bar' }, { tasks: () => ({ error: 'Error here', cause: 'because' }) });
    expect(r.snapshot.output).toEqual({ foo: 'bar', error: { Error: 'Error here', Cause: 'because' } });
  });

  it('without ResultPath the error output replaces the input; without a cause there is no Cause field', () => {
    const r = runExecution(machine({}), { foo: 'bar' }, { tasks: () => ({ error: 'Error here' }) });
    expect(r.snapshot.output).toEqual({ Error: 'Error here' });
  });

  it('ResultPath null keeps the input', () => {
    expect(runExecution(machine({ ResultPath: null }), { foo: 'bar' }, { tasks: () => ({ error: 'E' }) }).snapshot.output).toEqual({ foo: 'bar' });
  });

  it('retriers run first, then catchers; catchers are scanned in order', () => {
    const r = runExecution(
      {
        StartAt: 'T',
        States: {
          T: {
            Type: 'Task',
            Resource: 'agent-mesh:t',
            Retry: [{ ErrorEquals: ['java.lang.Exception'], MaxAttempts: 1 }],
            Catch: [
              { ErrorEquals: ['java.lang.Exception'], ResultPath: '$.error-info', Next: 'RecoveryState' },
              { ErrorEquals: ['States.ALL'], Next: 'EndState' },
            ],
            End: true,
          },
          RecoveryState: { Type: 'Pass', End: true },
          EndState: { Type: 'Pass', Result: 'end', End: true },
        },
      },
      { in: 1 },
      { tasks: failing('java.lang.Exception', 'java.lang.Exception') },
    );
    expect(retryDelays(r)).toEqual([1000]);
    expect(r.snapshot.output).toEqual({ in: 1, 'error-info': { Error: 'java.lang.Exception', Cause: 'attempt 2' } });
  });

  it('States.ALL does not catch States.Runtime (an OutputPath that selects nothing)', () => {
    const r = runExecution(
      {
        StartAt: 'T',
        States: {
          T: { Type: 'Task', Resource: 'agent-mesh:t', OutputPath: '$.missing', Retry: [{ ErrorEquals: ['States.ALL'] }], Catch: [{ ErrorEquals: ['States.ALL'], Next: 'R' }], End: true },
          R: { Type: 'Pass', End: true },
        },
      },
      {},
      { tasks: () => ({ output: { present: 1 } }) },
    );
    expect(failure(r)).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(r.effects.filter((e) => e.kind === 'task')).toHaveLength(1);
  });
});

describe('timeouts, aborts and limits', () => {
  const hooks = (now: number): HostHooks => ({ now, random: () => 0.5, uuid: () => 'u' });
  const start = (definition: unknown, input: unknown = {}, maxTransitions?: number) => {
    const machine = compileDefinition(definition);
    let s: Snapshot = startExecution(machine, input, { executionId: 'e', executionName: 'e', stateMachineId: 'm', stateMachineName: 'm', now: T0, ...(maxTransitions === undefined ? {} : { maxTransitions }) }).snapshot;
    for (let r = step(machine, s, hooks(T0)); r !== null; r = step(machine, s, hooks(T0))) s = r.snapshot;
    return { machine, snapshot: s };
  };

  it('hands TimeoutSeconds and HeartbeatSeconds to the host with the task; a States.Timeout report can be caught', () => {
    const definition = {
      StartAt: 'T',
      States: {
        T: { Type: 'Task', Resource: 'mcp:github/create_issue', TimeoutSeconds: 30, HeartbeatSeconds: 10, Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Fallback' }], End: true },
        Fallback: { Type: 'Pass', Result: 'Hello, AWS Step Functions!', End: true },
      },
    };
    const { machine, snapshot } = start(definition, { a: 1 });
    const [effect] = pendingEffects(snapshot);
    expect(effect).toEqual({ kind: 'task', id: expect.any(String), resource: 'mcp:github/create_issue', input: { a: 1 }, timeoutSeconds: 30, heartbeatSeconds: 10, stateName: 'T' });
    let s = deliver(machine, snapshot, { kind: 'task-failed', id: effect!.id, error: 'States.Timeout', cause: 'Task timed out after 30 seconds' }, hooks(T0 + 30_000)).snapshot;
    for (let r = step(machine, s, hooks(T0)); r !== null; r = step(machine, s, hooks(T0))) s = r.snapshot;
    expect(s.output).toBe('Hello, AWS Step Functions!');
  });

  it('TimeoutSecondsPath and HeartbeatSecondsPath are read from the input', () => {
    const { snapshot } = start({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:t', TimeoutSecondsPath: '$.t', HeartbeatSecondsPath: '$.h', End: true } } }, { t: 60, h: 5 });
    expect(pendingEffects(snapshot)[0]).toMatchObject({ timeoutSeconds: 60, heartbeatSeconds: 5 });
    expect(start({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:t', TimeoutSecondsPath: '$.t', End: true } } }, { t: 'x' }).snapshot).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });

  it('the execution TimeoutSeconds is a timer; when it fires the execution is TIMED_OUT', () => {
    const { machine, snapshot } = start({ TimeoutSeconds: 5, StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:t', End: true } } });
    const effects = pendingEffects(snapshot);
    expect(effects.map((e) => e.kind)).toEqual(['task', 'timer']);
    expect(effects[1]).toEqual({ kind: 'timer', id: 'execution-timeout', until: T0 + 5000, reason: 'execution-timeout' });
    const out = deliver(machine, snapshot, { kind: 'timer-fired', id: 'execution-timeout' }, hooks(T0 + 5000));
    expect(out.snapshot).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect(out.transitions.map((t) => t.type)).toEqual(['ExecutionTimedOut']);
    expect(pendingEffects(out.snapshot)).toEqual([]);
    // The task's late result is ignored.
    expect(deliver(machine, out.snapshot, { kind: 'task-succeeded', id: effects[0]!.id, output: 1 }, hooks(T0 + 6000)).transitions).toEqual([]);
  });

  it('abort ends the execution as ABORTED', () => {
    const { machine, snapshot } = start({ StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 100, End: true } } });
    const out = deliver(machine, snapshot, { kind: 'abort', error: 'Stopped', cause: 'by the user' }, hooks(T0 + 1));
    expect(out.snapshot).toMatchObject({ status: 'ABORTED', error: 'Stopped', cause: 'by the user' });
    expect(out.transitions.map((t) => t.type)).toEqual(['ExecutionAborted']);
    expect(step(machine, out.snapshot, hooks(T0 + 2))).toBeNull();
  });

  it('a runaway loop fails with States.Runtime once it exceeds maxTransitions', () => {
    const loop = {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Next: 'B' },
        B: { Type: 'Choice', Choices: [{ Variable: '$.stop', IsPresent: true, Next: 'Done' }], Default: 'A' },
        Done: { Type: 'Succeed' },
      },
    };
    const { snapshot } = start(loop, {}, 1000);
    expect(snapshot.status).toBe('FAILED');
    expect(snapshot.error).toBe('States.Runtime');
    expect(snapshot.cause).toMatch(/transition/);
    expect(snapshot.transitions).toBeLessThanOrEqual(1002);
    expect(start(loop).snapshot.cause).toContain('25000');
  });

  it('payloads above 256 KB fail with States.DataLimitExceeded, which States.ALL does not catch', () => {
    const big = 'x'.repeat(300_000);
    const r = runExecution(
      {
        StartAt: 'T',
        States: { T: { Type: 'Task', Resource: 'agent-mesh:t', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'R' }], End: true }, R: { Type: 'Pass', End: true } },
      },
      {},
      { tasks: () => ({ output: big }) },
    );
    expect(failure(r)).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(failure(runState({ Type: 'Pass', Parameters: { 'a.$': "States.Format('{}{}', $.s, $.s)" }, End: true }, { s: 'y'.repeat(140_000) }))).toMatchObject({ error: 'States.DataLimitExceeded' });
    expect(startExecution(compileDefinition({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }), big, { executionId: 'e', executionName: 'e', stateMachineId: 'm', stateMachineName: 'm', now: T0 }).snapshot.status).toBe('FAILED');
  });
});

describe('Fail and Succeed', () => {
  it('Fail reports Error and Cause', () => {
    expect(failure(runState({ Type: 'Fail', Error: 'ErrorA', Cause: 'Kaiju attack' }, {}))).toEqual({ status: 'FAILED', error: 'ErrorA', cause: 'Kaiju attack' });
    expect(failure(runState({ Type: 'Fail' }, {}))).toEqual({ status: 'FAILED' });
  });

  it('ErrorPath and CausePath take a path or an intrinsic function', () => {
    expect(failure(runState({ Type: 'Fail', ErrorPath: '$.e', CausePath: "States.Format('code {}', $.code)" }, { e: 'Custom', code: 42 }))).toEqual({
      status: 'FAILED',
      error: 'Custom',
      cause: 'code 42',
    });
    expect(failure(runState({ Type: 'Fail', ErrorPath: '$.e' }, { e: 5 }))).toMatchObject({ error: 'States.Runtime' });
  });

  it('Succeed applies InputPath and OutputPath', () => {
    expect(runState({ Type: 'Succeed', InputPath: '$.a', OutputPath: '$.b' }, { a: { b: 1 } }).snapshot.output).toBe(1);
  });
});
