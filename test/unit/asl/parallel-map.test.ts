import { describe, expect, it } from 'vitest';
import { failure, runExecution, type TaskHandler } from './driver.js';

const pass = (extra: Record<string, unknown> = {}) => ({ Type: 'Pass', End: true, ...extra });
const task = (resource: string, extra: Record<string, unknown> = {}) => ({ Type: 'Task', Resource: resource, End: true, ...extra });

describe('Parallel', () => {
  const definition = (branches: unknown[], extra: Record<string, unknown> = {}) => ({
    StartAt: 'P',
    States: { P: { Type: 'Parallel', Branches: branches, End: true, ...extra } },
  });

  it('gives every branch the input and returns their outputs in branch order', () => {
    const tasks: TaskHandler = (resource, input) => ({ output: `${resource}:${JSON.stringify(input)}` });
    const r = runExecution(
      definition([
        { StartAt: 'A', States: { A: task('agent-mesh:slow') } },
        { StartAt: 'B', States: { B: pass({ Result: 'b' }) } },
        { StartAt: 'C', States: { C: task('agent-mesh:fast', { InputPath: '$.n' }) } },
      ]),
      { n: 1 },
      { tasks, roundTrip: true },
    );
    expect(r.snapshot.output).toEqual(['agent-mesh:slow:{"n":1}', 'b', 'agent-mesh:fast:1']);
    expect(r.maxPendingTasks).toBe(2);
  });

  it('applies Parameters, ResultSelector, ResultPath and OutputPath', () => {
    const r = runExecution(
      definition([{ StartAt: 'A', States: { A: pass() } }, { StartAt: 'B', States: { B: pass({ Result: 2 }) } }], {
        Parameters: { 'v.$': '$.v' },
        ResultSelector: { 'first.$': '$[0].v', 'second.$': '$[1]' },
        ResultPath: '$.res',
        OutputPath: '$.res',
      }),
      { v: 'x' },
    );
    expect(r.snapshot.output).toEqual({ first: 'x', second: 2 });
  });

  it('a failing branch fails the state with the branch error; other branches stop', () => {
    const r = runExecution(
      definition([
        { StartAt: 'A', States: { A: task('agent-mesh:never') } },
        { StartAt: 'B', States: { B: { Type: 'Fail', Error: 'CustomError', Cause: 'branch B broke' } } },
      ]),
      {},
      { tasks: () => ({ output: 'late' }) },
    );
    expect(failure(r)).toEqual({ status: 'FAILED', error: 'CustomError', cause: 'branch B broke' });
  });

  it('Catch on the Parallel state catches a branch error by its name or as States.BranchFailed / States.ALL', () => {
    for (const name of ['CustomError', 'States.BranchFailed', 'States.ALL', 'States.TaskFailed']) {
      const r = runExecution(
        {
          StartAt: 'P',
          States: {
            P: {
              Type: 'Parallel',
              Branches: [{ StartAt: 'B', States: { B: { Type: 'Fail', Error: 'CustomError', Cause: 'why' } } }],
              Catch: [{ ErrorEquals: [name], ResultPath: '$.error', Next: 'Recover' }],
              End: true,
            },
            Recover: { Type: 'Pass', End: true },
          },
        },
        { keep: 1 },
      );
      expect(r.snapshot.output).toEqual({ keep: 1, error: { Error: 'CustomError', Cause: 'why' } });
    }
  });

  it('Retry on the Parallel state runs every branch again', () => {
    let calls = 0;
    const r = runExecution(
      definition([{ StartAt: 'A', States: { A: task('agent-mesh:flaky') } }, { StartAt: 'B', States: { B: task('agent-mesh:ok') } }], {
        Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 2 }],
      }),
      {},
      { tasks: (resource) => (resource === 'agent-mesh:flaky' && ++calls < 3 ? { error: 'Flaky' } : { output: resource }) },
    );
    expect(r.snapshot.output).toEqual(['agent-mesh:flaky', 'agent-mesh:ok']);
    expect(r.effects.filter((e) => e.kind === 'task' && e.resource === 'agent-mesh:ok')).toHaveLength(3);
  });

  it('nested Parallel states work', () => {
    const inner = { StartAt: 'I', States: { I: { Type: 'Parallel', Branches: [{ StartAt: 'X', States: { X: pass({ Result: 'x' }) } }, { StartAt: 'Y', States: { Y: pass({ Result: 'y' }) } }], End: true } } };
    const r = runExecution(definition([inner, { StartAt: 'Z', States: { Z: pass({ Result: 'z' }) } }]), {});
    expect(r.snapshot.output).toEqual([['x', 'y'], 'z']);
  });
});

describe('Map', () => {
  const map = (fields: Record<string, unknown>, processor: Record<string, unknown> = { StartAt: 'Work', States: { Work: task('agent-mesh:work') } }) => ({
    StartAt: 'M',
    States: { M: { Type: 'Map', ItemProcessor: processor, End: true, ...fields } },
  });
  const double: TaskHandler = (_r, input) => ({ output: (input as number) * 2 });

  it('runs the item processor on every item of ItemsPath and returns results in order', () => {
    const r = runExecution(map({ ItemsPath: '$.items' }), { items: [1, 2, 3, 4] }, { tasks: double, roundTrip: true });
    expect(r.snapshot.output).toEqual([2, 4, 6, 8]);
    expect(r.transitions.filter((t) => t.type === 'MapIterationStarted').map((t) => t.detail?.index)).toEqual([0, 1, 2, 3]);
  });

  it('MaxConcurrency limits how many iterations (tasks) are pending at once', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    expect(runExecution(map({ MaxConcurrency: 3 }), items, { tasks: double }).maxPendingTasks).toBe(3);
    expect(runExecution(map({ MaxConcurrency: 1 }), items, { tasks: double }).maxPendingTasks).toBe(1);
    const unlimited = runExecution(map({ MaxConcurrency: 0 }), items, { tasks: double });
    expect(unlimited.maxPendingTasks).toBe(10);
    expect(unlimited.snapshot.output).toEqual(items.map((i) => i * 2));
    expect(runExecution(map({ MaxConcurrencyPath: '$.limit', ItemsPath: '$.items' }), { limit: 2, items }, { tasks: double }).maxPendingTasks).toBe(2);
  });

  it('keeps results in item order when tasks finish out of order', () => {
    const items = [5, 4, 3, 2, 1];
    // The driver answers pending tasks in order; a Wait of item seconds makes later items finish first.
    const r = runExecution(
      map({}, { StartAt: 'Sleep', States: { Sleep: { Type: 'Wait', SecondsPath: '$', Next: 'Work' }, Work: task('agent-mesh:work') } }),
      items,
      { tasks: double, roundTrip: true },
    );
    expect(r.snapshot.output).toEqual([10, 8, 6, 4, 2]);
    const order = r.effects.filter((e) => e.kind === 'task').map((e) => (e as { input: number }).input);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });

  it('the shipping example: InputPath, ItemsPath, ItemSelector with $$.Map.Item.Value, ResultPath', () => {
    const input = {
      'ship-date': '2016-03-14T01:59:00Z',
      detail: {
        'delivery-partner': 'UQS',
        shipped: [
          { prod: 'R31', 'dest-code': 9511, quantity: 1344 },
          { prod: 'S39', 'dest-code': 9511, quantity: 40 },
        ],
      },
    };
    const seen: unknown[] = [];
    const r = runExecution(
      map({ InputPath: '$.detail', ItemsPath: '$.shipped', MaxConcurrency: 0, ItemSelector: { 'parcel.$': '$$.Map.Item.Value', 'courier.$': '$.delivery-partner' }, ResultPath: '$.detail.shipped' }, {
        StartAt: 'Ship-Val',
        States: { 'Ship-Val': task('agent-mesh:ship-val') },
      }),
      input,
      {
        tasks: (_r, i) => {
          seen.push(i);
          return { output: 'ok' };
        },
      },
    );
    expect(seen).toEqual([
      { parcel: { prod: 'R31', 'dest-code': 9511, quantity: 1344 }, courier: 'UQS' },
      { parcel: { prod: 'S39', 'dest-code': 9511, quantity: 40 }, courier: 'UQS' },
    ]);
    expect(r.snapshot.output).toEqual({ 'ship-date': '2016-03-14T01:59:00Z', detail: { 'delivery-partner': 'UQS', shipped: ['ok', 'ok'] } });
  });

  it('the legacy Iterator and Parameters fields work like ItemProcessor and ItemSelector', () => {
    const r = runExecution(
      { StartAt: 'M', States: { M: { Type: 'Map', Parameters: { 'i.$': '$$.Map.Item.Index', 'v.$': '$$.Map.Item.Value' }, Iterator: { StartAt: 'P', States: { P: pass() } }, End: true } } },
      ['a', 'b'],
    );
    expect(r.snapshot.output).toEqual([{ i: 0, v: 'a' }, { i: 1, v: 'b' }]);
  });

  it('an empty array gives []', () => {
    expect(runExecution(map({}), []).snapshot.output).toEqual([]);
  });

  it('ItemsPath that is not an array is a States.Runtime error', () => {
    expect(failure(runExecution(map({ ItemsPath: '$.items' }), { items: { a: 1 } }))).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(failure(runExecution(map({ ItemsPath: '$.items' }), {}))).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });

  it('a failing iteration fails the Map state with its error, which Catch can handle', () => {
    const failing: TaskHandler = (_r, input) => (input === 3 ? { error: 'Bad', cause: 'item 3' } : { output: input });
    expect(failure(runExecution(map({}), [1, 2, 3, 4], { tasks: failing }))).toEqual({ status: 'FAILED', error: 'Bad', cause: 'item 3' });
    const caught = runExecution(
      {
        StartAt: 'M',
        States: {
          M: { Type: 'Map', ItemProcessor: { StartAt: 'Work', States: { Work: task('agent-mesh:work') } }, Catch: [{ ErrorEquals: ['Bad'], Next: 'R' }], Next: 'Done' },
          R: pass({ Result: 'recovered' }),
          Done: pass(),
        },
      },
      [1, 2, 3, 4],
      { tasks: failing },
    );
    expect(caught.snapshot.output).toBe('recovered');
  });

  it('ToleratedFailureCount / ToleratedFailurePercentage let some iterations fail', () => {
    const failing: TaskHandler = (_r, input) => ((input as number) % 2 === 0 ? { error: 'Even' } : { output: input });
    const items = [1, 2, 3, 4, 5];
    expect(runExecution(map({ ToleratedFailureCount: 2 }), items, { tasks: failing }).snapshot.output).toEqual([1, { Error: 'Even' }, 3, { Error: 'Even' }, 5]);
    expect(failure(runExecution(map({ ToleratedFailureCount: 1 }), items, { tasks: failing }))).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    expect(runExecution(map({ ToleratedFailurePercentage: 40 }), items, { tasks: failing }).snapshot.status).toBe('SUCCEEDED');
    expect(failure(runExecution(map({ ToleratedFailurePercentage: 39 }), items, { tasks: failing }))).toMatchObject({ error: 'States.ExceedToleratedFailureThreshold' });
  });

  it('Map inside Map, with ResultSelector', () => {
    const r = runExecution(
      {
        StartAt: 'Outer',
        States: {
          Outer: {
            Type: 'Map',
            ItemProcessor: { StartAt: 'Inner', States: { Inner: { Type: 'Map', ItemProcessor: { StartAt: 'W', States: { W: task('agent-mesh:w') } }, End: true } } },
            ResultSelector: { 'all.$': '$' },
            End: true,
          },
        },
      },
      [[1, 2], [3], []],
      { tasks: double, roundTrip: true },
    );
    expect(r.snapshot.output).toEqual({ all: [[2, 4], [6], []] });
  });
});
