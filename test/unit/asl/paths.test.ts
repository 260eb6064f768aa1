import { describe, expect, it } from 'vitest';
import { failure, passOutput, runExecution, runState, T0 } from './driver.js';

/** A one-Task machine whose task returns `result`; returns the execution's output. */
function taskOutput(fields: Record<string, unknown>, input: unknown, result: unknown, seen?: unknown[]): unknown {
  const r = runState({ Type: 'Task', Resource: 'agent-mesh:tool', End: true, ...fields }, input, {
    tasks: (_resource, taskInput) => {
      seen?.push(taskInput);
      return { output: result };
    },
  });
  if (r.snapshot.status !== 'SUCCEEDED') throw new Error(`${r.snapshot.error}: ${r.snapshot.cause}`);
  return r.snapshot.output;
}

describe('input and output processing (AWS developer guide examples)', () => {
  it('InputPath selects a portion of the input', () => {
    const input = { comment: 'Example for InputPath.', dataset1: { val1: 1, val2: 2, val3: 3 }, dataset2: { val1: 'a', val2: 'b', val3: 'c' } };
    expect(passOutput({ InputPath: '$.dataset2' }, input)).toEqual({ val1: 'a', val2: 'b', val3: 'c' });
  });

  it('Parameters builds key-value pairs from static values and paths', () => {
    const input = {
      comment: 'Example for Parameters.',
      product: { details: { color: 'blue', size: 'small', material: 'cotton' }, availability: 'in stock', sku: '2317', cost: '$23' },
    };
    const parameters = { comment: 'Selecting what I care about.', MyDetails: { 'size.$': '$.product.details.size', 'exists.$': '$.product.availability', StaticValue: 'foo' } };
    expect(passOutput({ Parameters: parameters }, input)).toEqual({
      comment: 'Selecting what I care about.',
      MyDetails: { size: 'small', exists: 'in stock', StaticValue: 'foo' },
    });
  });

  it('InputPath, ResultPath and OutputPath: the task sees the numbers, the sum is added to the input', () => {
    const input = { title: 'Numbers to add', numbers: { val1: 3, val2: 4 } };
    const seen: unknown[] = [];
    expect(taskOutput({ InputPath: '$.numbers', ResultPath: '$.sum', OutputPath: '$' }, input, 7, seen)).toEqual({
      title: 'Numbers to add',
      numbers: { val1: 3, val2: 4 },
      sum: 7,
    });
    expect(seen).toEqual([{ val1: 3, val2: 4 }]);
    expect(taskOutput({ InputPath: '$.numbers', ResultPath: '$.sum', OutputPath: '$.sum' }, { numbers: { val1: 3, val2: 4 } }, 7)).toBe(7);
  });

  it('the Lambda example: InputPath $.lambda, ResultPath $.data.lambdaresult, OutputPath $.data', () => {
    const input = { comment: 'An input comment.', data: { val1: 23, val2: 17 }, extra: 'foo', lambda: { who: 'AWS Step Functions' } };
    const seen: unknown[] = [];
    const out = taskOutput({ InputPath: '$.lambda', ResultPath: '$.data.lambdaresult', OutputPath: '$.data' }, input, 'Hello, AWS Step Functions!', seen);
    expect(seen).toEqual([{ who: 'AWS Step Functions' }]);
    expect(out).toEqual({ val1: 23, val2: 17, lambdaresult: 'Hello, AWS Step Functions!' });
  });

  describe('ResultPath', () => {
    const input = { comment: 'This is a test of the input and output of a Task state.', details: 'Default example', who: 'AWS Step Functions' };
    const result = 'Hello, AWS Step Functions!';

    it('defaults to $: the result replaces the input', () => {
      expect(taskOutput({}, input, result)).toBe(result);
      expect(taskOutput({ ResultPath: '$' }, input, result)).toBe(result);
    });

    it('includes the result with the input', () => {
      expect(taskOutput({ ResultPath: '$.taskresult' }, input, result)).toEqual({ ...input, taskresult: result });
    });

    it('inserts the result as a child node', () => {
      const nested = { comment: 'An input comment.', strings: { string1: 'foo', string2: 'bar', string3: 'baz' }, who: 'AWS Step Functions' };
      expect(taskOutput({ ResultPath: '$.strings.lambdaresult' }, nested, result)).toEqual({
        comment: 'An input comment.',
        strings: { string1: 'foo', string2: 'bar', string3: 'baz', lambdaresult: result },
        who: 'AWS Step Functions',
      });
    });

    it('updates an existing node, keeping the key order', () => {
      const out = taskOutput({ ResultPath: '$.comment' }, input, result);
      expect(out).toEqual({ ...input, comment: result });
      expect(Object.keys(out as object)).toEqual(['comment', 'details', 'who']);
    });

    it('null discards the result and passes the input through', () => {
      expect(taskOutput({ ResultPath: null }, input, result)).toEqual(input);
    });

    it('creates missing objects along the path', () => {
      expect(passOutput({ Result: 1, ResultPath: '$.a.b.c' }, { x: 0 })).toEqual({ x: 0, a: { b: { c: 1 } } });
    });

    it('applies to the raw input, not the InputPath selection', () => {
      expect(passOutput({ InputPath: '$.a', ResultPath: '$.b' }, { a: { v: 1 } })).toEqual({ a: { v: 1 }, b: { v: 1 } });
    });

    it('cannot be applied through a non-object: States.ResultPathMatchFailure', () => {
      const r = runState({ Type: 'Pass', End: true, Result: 1, ResultPath: '$.a.b' }, { a: 'text' });
      expect(failure(r)).toMatchObject({ status: 'FAILED', error: 'States.ResultPathMatchFailure' });
      expect(failure(runState({ Type: 'Pass', End: true, Result: 1, ResultPath: '$.x' }, 'a string input'))).toMatchObject({ error: 'States.ResultPathMatchFailure' });
    });

    it('never modifies the input it was given', () => {
      const original = { a: { b: 1 }, c: [1, 2] };
      const copy = structuredClone(original);
      passOutput({ Result: 9, ResultPath: '$.a.b' }, original);
      expect(original).toEqual(copy);
    });
  });

  it('the Pass state example: Result placed at $.coords', () => {
    const out = passOutput({ Result: { 'x-datum': 0.381018, 'y-datum': 622.2269926397355 }, ResultPath: '$.coords' }, { georefOf: 'Home' });
    expect(out).toEqual({ georefOf: 'Home', coords: { 'x-datum': 0.381018, 'y-datum': 622.2269926397355 } });
  });

  it('ResultSelector shapes the raw result before ResultPath (the EMR example)', () => {
    const raw = {
      resourceType: 'elasticmapreduce',
      resource: 'createCluster.sync',
      output: { SdkHttpMetadata: { HttpStatusCode: 200 }, SdkResponseMetadata: { RequestId: '1234-5678-9012' }, ClusterId: 'AKIAIOSFODNN7EXAMPLE' },
    };
    const out = taskOutput({ ResultSelector: { 'ClusterId.$': '$.output.ClusterId', 'ResourceType.$': '$.resourceType' }, ResultPath: '$.EMROutput' }, { input: 1 }, raw);
    expect(out).toEqual({ input: 1, EMROutput: { ClusterId: 'AKIAIOSFODNN7EXAMPLE', ResourceType: 'elasticmapreduce' } });
  });

  it('the spec example: Parameters with paths, a slice and an intrinsic', () => {
    const parameters = { flagged: true, parts: { 'first.$': '$.vals[0]', 'last3.$': '$.vals[-3:]' }, 'formattedOutput.$': "States.Format('Today is {}', $.day)" };
    expect(passOutput({ Parameters: parameters }, { flagged: 7, vals: [0, 10, 20, 30, 40, 50], day: 'TUESDAY' })).toEqual({
      flagged: true,
      parts: { first: 0, last3: [30, 40, 50] },
      formattedOutput: 'Today is TUESDAY',
    });
  });

  it('a path that can select several nodes yields an array (InputPath $.a[0:2])', () => {
    expect(passOutput({ InputPath: '$.a[0:2]' }, { a: [1, 2, 3, 4] })).toEqual([1, 2]);
    expect(passOutput({ Parameters: { 'names.$': '$.people[*].name', 'none.$': '$.people[?(@.age > 100)].name' } }, { people: [{ name: 'a', age: 1 }, { name: 'b', age: 2 }] })).toEqual({
      names: ['a', 'b'],
      none: [],
    });
  });

  it('reference paths accept bracket notation', () => {
    expect(passOutput({ InputPath: "$['a b'].c[1]" }, { 'a b': { c: [0, 'x'] } })).toBe('x');
    expect(passOutput({ Result: 'r', ResultPath: "$['a.b']" }, {})).toEqual({ 'a.b': 'r' });
  });

  it('InputPath null gives {}, OutputPath null sends {}', () => {
    expect(passOutput({ InputPath: null }, { a: 1 })).toEqual({});
    expect(passOutput({ OutputPath: null }, { a: 1 })).toEqual({});
  });

  it('an InputPath or OutputPath that selects nothing fails with States.Runtime', () => {
    const r = runState({ Type: 'Pass', End: true, InputPath: '$.missing' }, { a: 1 });
    expect(failure(r)).toEqual({ status: 'FAILED', error: 'States.Runtime', cause: "Invalid path '$.missing' : No results for path: $['missing']" });
    expect(failure(runState({ Type: 'Pass', End: true, OutputPath: '$.missing' }, { a: 1 }))).toMatchObject({ error: 'States.Runtime' });
  });

  it('a Parameters path that selects nothing fails with States.ParameterPathFailure (catchable in a Task)', () => {
    const r = runState({ Type: 'Pass', End: true, Parameters: { 'x.$': '$.missing' } }, { a: 1 });
    expect(failure(r)).toMatchObject({ status: 'FAILED', error: 'States.ParameterPathFailure' });
    expect(failure(r).cause).toContain('$.missing');
    const caught = runExecution(
      {
        StartAt: 'T',
        States: {
          T: { Type: 'Task', Resource: 'agent-mesh:t', Parameters: { 'x.$': '$.missing' }, Catch: [{ ErrorEquals: ['States.ParameterPathFailure'], Next: 'Done' }], End: true },
          Done: { Type: 'Pass', End: true },
        },
      },
      { a: 1 },
    );
    expect(caught.snapshot.output).toMatchObject({ Error: 'States.ParameterPathFailure' });
  });

  it('payload templates reach into arrays and nested objects', () => {
    expect(passOutput({ Parameters: { list: [{ 'v.$': '$.a' }, 'plain', [{ 'w.$': '$.b' }]] } }, { a: 1, b: 2 })).toEqual({ list: [{ v: 1 }, 'plain', [{ w: 2 }]] });
  });

  it('Result overrides Parameters in a Pass state', () => {
    expect(passOutput({ Parameters: { a: 1 }, Result: { b: 2 } }, {})).toEqual({ b: 2 });
  });
});

describe('the context object ($$)', () => {
  it('exposes Execution, State and StateMachine', () => {
    const r = runExecution(
      {
        StartAt: 'First',
        States: {
          First: { Type: 'Pass', Next: 'Ctx' },
          Ctx: {
            Type: 'Pass',
            Parameters: {
              'id.$': '$$.Execution.Id',
              'name.$': '$$.Execution.Name',
              'input.$': '$$.Execution.Input',
              'start.$': '$$.Execution.StartTime',
              'state.$': '$$.State.Name',
              'entered.$': '$$.State.EnteredTime',
              'retries.$': '$$.State.RetryCount',
              'machine.$': '$$.StateMachine.Id',
              'machineName.$': '$$.StateMachine.Name',
            },
            End: true,
          },
        },
      },
      { k: 'v' },
    );
    expect(r.snapshot.output).toEqual({
      id: 'arn:aws:states:us-east-1:123456789012:execution:Machine:exec-1',
      name: 'exec-1',
      input: { k: 'v' },
      start: '2024-01-01T00:00:00.000Z',
      state: 'Ctx',
      entered: new Date(T0).toISOString(),
      retries: 0,
      machine: 'arn:aws:states:us-east-1:123456789012:stateMachine:Machine',
      machineName: 'Machine',
    });
  });

  it('gives a task its token and counts retries in State.RetryCount', () => {
    const seen: unknown[] = [];
    let calls = 0;
    runState(
      {
        Type: 'Task',
        Resource: 'agent-mesh:t',
        Parameters: { 'token.$': '$$.Task.Token', 'retry.$': '$$.State.RetryCount' },
        Retry: [{ ErrorEquals: ['E'], IntervalSeconds: 1, MaxAttempts: 2 }],
        End: true,
      },
      {},
      {
        tasks: (_r, input, effect) => {
          seen.push({ input, id: effect.id });
          return ++calls < 3 ? { error: 'E' } : { output: 'ok' };
        },
      },
    );
    expect(seen.map((s) => (s as { input: { retry: number } }).input.retry)).toEqual([0, 1, 2]);
    for (const s of seen as { input: { token: string }; id: string }[]) expect(s.input.token).toBe(s.id);
  });

  it('the Map example: $$.Map.Item.Index and Value in Parameters', () => {
    const r = runExecution(
      {
        StartAt: 'ExampleMapState',
        States: {
          ExampleMapState: {
            Type: 'Map',
            Parameters: { 'ContextIndex.$': '$$.Map.Item.Index', 'ContextValue.$': '$$.Map.Item.Value' },
            Iterator: { StartAt: 'TestPass', States: { TestPass: { Type: 'Pass', End: true } } },
            End: true,
          },
        },
      },
      [{ who: 'bob' }, { who: 'meg' }, { who: 'joe' }],
    );
    expect(r.snapshot.output).toEqual([
      { ContextValue: { who: 'bob' }, ContextIndex: 0 },
      { ContextValue: { who: 'meg' }, ContextIndex: 1 },
      { ContextValue: { who: 'joe' }, ContextIndex: 2 },
    ]);
  });
});
