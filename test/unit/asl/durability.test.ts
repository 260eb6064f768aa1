import { describe, expect, it } from 'vitest';
import { compileDefinition, deliver, pendingEffects, startExecution, step, type HostHooks, type Snapshot, type Transition } from '../../../src/engine/asl/index.js';
import { runExecution, T0, type TaskHandler } from './driver.js';

/** A machine using every state type, retries, catches, waits, Parallel inside Map and intrinsics. */
const EVERYTHING = {
  Comment: 'every state type',
  TimeoutSeconds: 3600,
  StartAt: 'Prepare',
  States: {
    Prepare: { Type: 'Pass', Parameters: { 'items.$': 'States.ArrayRange(1, 6, 1)', 'id.$': 'States.UUID()', 'pick.$': 'States.MathRandom(0, 100)' }, ResultPath: '$.prep', Next: 'Fan' },
    Fan: {
      Type: 'Map',
      ItemsPath: '$.prep.items',
      MaxConcurrency: 2,
      ItemSelector: { 'n.$': '$$.Map.Item.Value', 'i.$': '$$.Map.Item.Index' },
      ItemProcessor: {
        StartAt: 'Both',
        States: {
          Both: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: 'agent-mesh:work', Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 1, JitterStrategy: 'FULL' }], End: true } } },
              { StartAt: 'Nap', States: { Nap: { Type: 'Wait', SecondsPath: '$.n', Next: 'Echo' }, Echo: { Type: 'Pass', End: true } } },
            ],
            ResultSelector: { 'work.$': '$[0]', 'echo.$': '$[1].n' },
            End: true,
          },
        },
      },
      ResultPath: '$.results',
      Next: 'Route',
    },
    Route: {
      Type: 'Choice',
      Choices: [{ Variable: '$.results[0].echo', NumericEquals: 1, Next: 'Risky' }],
      Default: 'Broken',
    },
    Risky: {
      Type: 'Task',
      Resource: 'mcp:svc/risky',
      Parameters: { 'count.$': 'States.ArrayLength($.results)' },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'Done' }],
      Next: 'Done',
    },
    Done: { Type: 'Succeed', OutputPath: '$' },
    Broken: { Type: 'Fail', Error: 'Unexpected' },
  },
};

function tasks(): TaskHandler {
  let calls = 0;
  return (resource, input) => {
    calls++;
    if (resource === 'mcp:svc/risky') return { error: 'Risky.Failed', cause: 'always' };
    return calls % 3 === 0 ? { error: 'Flaky' } : { output: { doubled: (input as { n: number }).n * 2 } };
  };
}

function randoms(): () => number {
  let x = 0.1;
  return () => (x = (x * 9301 + 0.49297) % 1);
}

describe('durability', () => {
  it('JSON round-tripping the snapshot between every call changes nothing', () => {
    const plain = runExecution(EVERYTHING, { start: true }, { tasks: tasks(), random: randoms() });
    const stored = runExecution(EVERYTHING, { start: true }, { tasks: tasks(), random: randoms(), roundTrip: true });
    expect(plain.snapshot.status).toBe('SUCCEEDED');
    expect(stored.transitions).toEqual(plain.transitions);
    expect(stored.snapshot.output).toEqual(plain.snapshot.output);
    expect(stored.effects).toEqual(plain.effects);
    expect((plain.snapshot.output as { caught: unknown }).caught).toEqual({ Error: 'Risky.Failed', Cause: 'always' });
    expect((plain.snapshot.output as { results: unknown[] }).results).toHaveLength(6);
  });

  it('is deterministic: the same hooks give the same transitions and effects', () => {
    const a = runExecution(EVERYTHING, { start: true }, { tasks: tasks(), random: randoms() });
    const b = runExecution(EVERYTHING, { start: true }, { tasks: tasks(), random: randoms() });
    expect(b.transitions).toEqual(a.transitions);
    expect(b.effects).toEqual(a.effects);
    expect(b.snapshot).toEqual(a.snapshot);
  });

  it('never changes a snapshot it was given', () => {
    const machine = compileDefinition(EVERYTHING);
    const deepFreeze = <T>(v: T): T => {
      if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
        Object.freeze(v);
        for (const x of Object.values(v)) deepFreeze(x);
      }
      return v;
    };
    let now = T0;
    const hooks = (): HostHooks => ({ now, random: () => 0.5, uuid: () => 'u' });
    const history: [Snapshot, string][] = [];
    const keep = (s: Snapshot) => {
      history.push([s, JSON.stringify(s)]);
      return deepFreeze(s);
    };
    let s = keep(startExecution(machine, deepFreeze({ start: true }), { executionId: 'e', executionName: 'e', stateMachineId: 'm', stateMachineName: 'm', now }).snapshot);
    const run = tasks();
    for (let guard = 0; guard < 10_000 && s.status === 'RUNNING'; guard++) {
      const r = step(machine, s, hooks());
      if (r !== null) {
        s = keep(r.snapshot);
        continue;
      }
      const effects = pendingEffects(s);
      const task = effects.find((e) => e.kind === 'task');
      if (task !== undefined && task.kind === 'task') {
        const o = run(task.resource, task.input, task);
        s = keep(deliver(machine, s, 'output' in o ? { kind: 'task-succeeded', id: task.id, output: deepFreeze(o.output) } : { kind: 'task-failed', id: task.id, error: o.error }, hooks()).snapshot);
      } else {
        const timer = effects.filter((e) => e.kind === 'timer' && e.id !== 'execution-timeout').sort((x, y) => (x as { until: number }).until - (y as { until: number }).until)[0]!;
        now = Math.max(now, (timer as { until: number }).until);
        s = keep(deliver(machine, s, { kind: 'timer-fired', id: timer.id }, hooks()).snapshot);
      }
    }
    expect(s.status).toBe('SUCCEEDED');
    for (const [snapshot, text] of history) expect(JSON.stringify(snapshot)).toBe(text);
  });

  it('resumes from a stored snapshot in another "process" (a new machine compiled from the same definition)', () => {
    const first = compileDefinition(EVERYTHING);
    const hooks: HostHooks = { now: T0, random: () => 0.5, uuid: () => 'u' };
    let s = startExecution(first, {}, { executionId: 'e', executionName: 'e', stateMachineId: 'm', stateMachineName: 'm', now: T0 }).snapshot;
    for (let r = step(first, s, hooks); r !== null; r = step(first, s, hooks)) s = r.snapshot;
    const stored = JSON.stringify(s);
    const second = compileDefinition(JSON.parse(JSON.stringify(EVERYTHING)));
    const resumed = JSON.parse(stored) as Snapshot;
    expect(pendingEffects(resumed)).toEqual(pendingEffects(s));
    const task = pendingEffects(resumed).find((e) => e.kind === 'task')!;
    const a = deliver(first, s, { kind: 'task-succeeded', id: task.id, output: { ok: 1 } }, hooks);
    const b = deliver(second, resumed, { kind: 'task-succeeded', id: task.id, output: { ok: 1 } }, hooks);
    expect(b.transitions).toEqual(a.transitions);
    expect(JSON.parse(JSON.stringify(b.snapshot))).toEqual(JSON.parse(JSON.stringify(a.snapshot)));
  });

  it('emits one StateEntered and one StateExited per Pass state, with times from the host', () => {
    const r = runExecution({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', End: true } } }, { x: 1 });
    const shape = (t: Transition) => [t.type, t.state ?? null, t.at];
    expect(r.transitions.map(shape)).toEqual([
      ['ExecutionStarted', null, T0],
      ['StateEntered', 'A', T0],
      ['StateExited', 'A', T0],
      ['StateEntered', 'B', T0],
      ['StateExited', 'B', T0],
      ['ExecutionSucceeded', null, T0],
    ]);
    expect(r.snapshot.transitions).toBe(6);
  });

  it('labels transitions of branches and iterations with their run', () => {
    const r = runExecution({ StartAt: 'M', States: { M: { Type: 'Map', ItemProcessor: { StartAt: 'I', States: { I: { Type: 'Pass', End: true } } }, End: true } } }, ['a', 'b']);
    expect(r.transitions.filter((t) => t.state === 'I' && t.type === 'StateEntered').map((t) => t.detail?.run)).toEqual(['M[0]', 'M[1]']);
  });
});
