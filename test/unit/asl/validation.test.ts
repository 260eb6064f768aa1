import { describe, expect, it } from 'vitest';
import { compileDefinition, DefinitionError, validateDefinition, type DefinitionProblem } from '../../../src/engine/asl/index.js';

const pass = { Type: 'Pass', End: true };

function problems(definition: unknown): DefinitionProblem[] {
  return validateDefinition(definition);
}

/** Expects a problem at `path` whose message matches `fragment`. */
function expectProblem(definition: unknown, path: string, fragment: string | RegExp): void {
  const found = problems(definition);
  const at = found.filter((p) => p.path === path);
  expect(at, `problems: ${JSON.stringify(found)}`).not.toHaveLength(0);
  expect(at.some((p) => (typeof fragment === 'string' ? p.message.includes(fragment) : fragment.test(p.message))), JSON.stringify(at)).toBe(true);
}

describe('validateDefinition', () => {
  it('accepts valid definitions', () => {
    expect(problems({ Comment: 'hello', StartAt: 'A', States: { A: pass } })).toEqual([]);
    expect(
      problems({
        StartAt: 'T',
        TimeoutSeconds: 60,
        Version: '1.0',
        States: {
          T: {
            Type: 'Task',
            Resource: 'agent-mesh:kv_get',
            Parameters: { 'key.$': '$.key', 'when.$': '$$.State.EnteredTime', 'n.$': 'States.MathAdd($.n, 1)' },
            ResultSelector: { 'value.$': '$.value' },
            ResultPath: '$.got',
            TimeoutSeconds: 10,
            HeartbeatSeconds: 5,
            Retry: [{ ErrorEquals: ['States.Timeout'], MaxAttempts: 0 }, { ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxDelaySeconds: 10, JitterStrategy: 'FULL' }],
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'F' }],
            Next: 'M',
          },
          M: { Type: 'Map', ItemsPath: '$.items', ItemSelector: { 'v.$': '$$.Map.Item.Value' }, MaxConcurrency: 2, ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'I', States: { I: { Type: 'Task', Resource: 'mcp:github/create_issue', End: true } } }, Next: 'P' },
          P: { Type: 'Parallel', Branches: [{ StartAt: 'B1', States: { B1: { Type: 'Wait', Seconds: 1, End: true } } }, { StartAt: 'B2', States: { B2: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true } } }], Next: 'C' },
          C: { Type: 'Choice', Choices: [{ Variable: '$.x', NumericGreaterThan: 1, Next: 'S' }], Default: 'F' },
          S: { Type: 'Succeed' },
          F: { Type: 'Fail', Error: 'Failed', Cause: 'because' },
        },
      }),
    ).toEqual([]);
  });

  it('reports a missing transition target with its path', () => {
    expect(problems({ StartAt: 'Check', States: { Check: { Type: 'Pass', Next: 'Nope' }, Done: { Type: 'Succeed' } } })).toContainEqual({ path: 'States.Check.Next', message: 'state "Nope" does not exist' });
    expectProblem({ StartAt: 'X', States: { A: pass } }, 'StartAt', 'state "X" does not exist');
    expectProblem({ StartAt: 'C', States: { C: { Type: 'Choice', Choices: [{ Variable: '$.a', IsNull: true, Next: 'Gone' }], Default: 'Away' } } }, 'States.C.Choices[0].Next', 'state "Gone" does not exist');
    expectProblem({ StartAt: 'C', States: { C: { Type: 'Choice', Choices: [{ Variable: '$.a', IsNull: true, Next: 'Gone' }], Default: 'Away' } } }, 'States.C.Default', 'state "Away" does not exist');
    expectProblem({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:x', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Nowhere' }], End: true } } }, 'States.T.Catch[0].Next', 'state "Nowhere" does not exist');
  });

  it('lists every problem, each with its path', () => {
    const found = problems({
      StartAt: 'A',
      States: {
        A: { Type: 'Task', Resource: 'ftp://nope', Next: 'B', Bogus: 1 },
        B: { Type: 'Pass', ResultPath: '$.a[*]', InputPath: 'nope', End: true },
        Orphan: { Type: 'Succeed' },
      },
    });
    expect(found.map((p) => p.path).sort()).toEqual(['States.A.Bogus', 'States.A.Resource', 'States.B.InputPath', 'States.B.ResultPath', 'States.Orphan']);
  });

  it('compileDefinition throws a DefinitionError listing the problems', () => {
    let caught: unknown;
    try {
      compileDefinition({ StartAt: 'Check', States: { Check: { Type: 'Pass', Next: 'Nope' }, End: { Type: 'Succeed' } } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DefinitionError);
    expect((caught as DefinitionError).problems).toContainEqual({ path: 'States.Check.Next', message: 'state "Nope" does not exist' });
    expect((caught as DefinitionError).message).toContain('States.Check.Next: state "Nope" does not exist');
  });

  it('checks the structure of states', () => {
    expectProblem('text', '', 'JSON object');
    expectProblem({ StartAt: 'A', States: {} }, 'States', 'at least one state');
    expectProblem({ StartAt: 'A', States: { A: { Type: 'Pass' } } }, 'States.A', 'either "Next" or "End": true');
    expectProblem({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'A', End: true } } }, 'States.A', 'both');
    expectProblem({ StartAt: 'A', States: { A: { Type: 'Magic', End: true } } }, 'States.A.Type', 'must be one of');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, Unknown: 1 } } }, 'States.A.Unknown', 'unexpected field');
    expectProblem({ StartAt: 'A', States: { A: { Type: 'Succeed', Next: 'A' } } }, 'States.A.Next', 'unexpected field');
    expectProblem({ StartAt: 'A', States: { A: pass, B: pass } }, 'States.B', 'not reachable');
    expectProblem({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', Next: 'A' } } }, 'States', 'no state ends the execution');
    expectProblem({ StartAt: 'x'.repeat(81), States: { ['x'.repeat(81)]: pass } }, `States.${'x'.repeat(81)}`, 'at most 80');
    expectProblem({ StartAt: 'TimeoutSeconds', TimeoutSeconds: 0, States: { TimeoutSeconds: pass } }, 'TimeoutSeconds', 'positive integer');
  });

  it('state names are unique in the whole machine', () => {
    expectProblem({ StartAt: 'P', States: { P: { Type: 'Parallel', Branches: [{ StartAt: 'P', States: { P: pass } }], End: true } } }, 'States.P.Branches[0].States.P', 'already used');
  });

  it('branches and iterations may not transition outside themselves', () => {
    expectProblem(
      { StartAt: 'P', States: { P: { Type: 'Parallel', Branches: [{ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Out' } } }], Next: 'Out' }, Out: pass } },
      'States.P.Branches[0].States.A.Next',
      'state "Out" does not exist',
    );
  });

  it('checks paths', () => {
    expectProblem({ StartAt: 'A', States: { A: { ...pass, ResultPath: '$.a[*]' } } }, 'States.A.ResultPath', 'not a reference path');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, ResultPath: '$$.Execution' } } }, 'States.A.ResultPath', 'context object');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, OutputPath: 'a.b' } } }, 'States.A.OutputPath', 'not a path');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, Parameters: { 'x.$': 'plain text' } } } }, 'States.A.Parameters.x.$', 'not a path');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, Parameters: { 'x.$': 'States.Nope()' } } } }, 'States.A.Parameters.x.$', 'unknown intrinsic function States.Nope');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, Parameters: { 'x.$': 'States.ArrayLength(1, 2)' } } } }, 'States.A.Parameters.x.$', 'takes 1 argument');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, Parameters: { 'x.$': "States.JsonToString('a')" } } } }, 'States.A.Parameters.x.$', 'must be a path');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, Parameters: { x: 1, 'x.$': '$.x' } } } }, 'States.A.Parameters.x.$', 'appears twice');
    expectProblem({ StartAt: 'W', States: { W: { Type: 'Wait', SecondsPath: '$.a[0:1]', End: true } } }, 'States.W.SecondsPath', 'not a reference path');
  });

  it('checks Retry and Catch', () => {
    const task = (extra: Record<string, unknown>) => ({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:t', End: true, ...extra }, R: pass } });
    expectProblem(task({ Retry: [{ ErrorEquals: ['States.ALL', 'E'] }] }), 'States.T.Retry[0].ErrorEquals', 'alone');
    expectProblem(task({ Retry: [{ ErrorEquals: ['States.ALL'] }, { ErrorEquals: ['E'] }] }), 'States.T.Retry[0].ErrorEquals', 'last');
    expectProblem(task({ Retry: [{ ErrorEquals: [] }] }), 'States.T.Retry[0].ErrorEquals', 'non-empty');
    expectProblem(task({ Retry: [{ ErrorEquals: ['E'], BackoffRate: 0.5 }] }), 'States.T.Retry[0].BackoffRate', 'greater than or equal to 1.0');
    expectProblem(task({ Retry: [{ ErrorEquals: ['E'], IntervalSeconds: 0 }] }), 'States.T.Retry[0].IntervalSeconds', 'integer');
    expectProblem(task({ Retry: [{ ErrorEquals: ['E'], MaxAttempts: -1 }] }), 'States.T.Retry[0].MaxAttempts', 'integer');
    expectProblem(task({ Retry: [{ ErrorEquals: ['E'], MaxDelaySeconds: 31622401 }] }), 'States.T.Retry[0].MaxDelaySeconds', 'integer');
    expectProblem(task({ Retry: [{ ErrorEquals: ['E'], JitterStrategy: 'HALF' }] }), 'States.T.Retry[0].JitterStrategy', 'FULL');
    expectProblem(task({ Retry: [{ ErrorEquals: ['States.Made.Up'] }] }), 'States.T.Retry[0].ErrorEquals[0]', 'not a predefined error name');
    expectProblem(task({ Catch: [{ ErrorEquals: ['E'] }] }), 'States.T.Catch[0].Next', 'required');
  });

  it('checks Task resources and timeouts', () => {
    const task = (extra: Record<string, unknown>) => ({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:t', End: true, ...extra } } });
    for (const resource of ['agent-mesh:kv_get', 'mcp:github/create_issue', 'arn:aws:lambda:us-east-1:123456789012:function:HelloWorld', 'arn:aws:states:::sqs:sendMessage']) {
      expect(problems(task({ Resource: resource }))).toEqual([]);
    }
    for (const resource of ['kv_get', 'mcp:github', 'agent-mesh:', 'https://example.com']) expectProblem(task({ Resource: resource }), 'States.T.Resource', 'not a supported resource');
    expectProblem(task({ TimeoutSeconds: 0 }), 'States.T.TimeoutSeconds', 'integer');
    expectProblem(task({ TimeoutSeconds: 5, HeartbeatSeconds: 5 }), 'States.T.HeartbeatSeconds', 'smaller than TimeoutSeconds');
    expectProblem(task({ TimeoutSeconds: 5, TimeoutSecondsPath: '$.t' }), 'States.T', 'only one of');
  });

  it('checks Choice rules', () => {
    const choice = (rule: Record<string, unknown>) => ({ StartAt: 'C', States: { C: { Type: 'Choice', Choices: [{ ...rule, Next: 'D' }] }, D: pass } });
    expectProblem(choice({ Variable: '$.a', StringEquals: 3 }), 'States.C.Choices[0].StringEquals', 'must be a string');
    expectProblem(choice({ Variable: '$.a', NumericEquals: '3' }), 'States.C.Choices[0].NumericEquals', 'must be a number');
    expectProblem(choice({ Variable: '$.a', TimestampEquals: 'yesterday' }), 'States.C.Choices[0].TimestampEquals', 'timestamp');
    expectProblem(choice({ Variable: '$.a', IsNull: 'yes' }), 'States.C.Choices[0].IsNull', 'boolean');
    expectProblem(choice({ Variable: '$.a' }), 'States.C.Choices[0]', 'comparison operator');
    expectProblem(choice({ Variable: '$.a', StringEquals: 'x', NumericEquals: 1 }), 'States.C.Choices[0]', 'exactly one comparison operator');
    expectProblem(choice({ StringEquals: 'x' }), 'States.C.Choices[0].Variable', 'required');
    expectProblem(choice({ And: [] }), 'States.C.Choices[0].And', 'non-empty');
    expectProblem(choice({ Not: { Variable: '$.a', IsNull: true, Next: 'D' } }), 'States.C.Choices[0].Not.Next', 'only top-level');
    expectProblem({ StartAt: 'C', States: { C: { Type: 'Choice', Choices: [] } } }, 'States.C.Choices', 'non-empty');
  });

  it('checks Wait, Fail, Parallel and Map fields', () => {
    expectProblem({ StartAt: 'W', States: { W: { Type: 'Wait', End: true } } }, 'States.W', 'exactly one of Seconds');
    expectProblem({ StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 1, SecondsPath: '$.s', End: true } } }, 'States.W', 'exactly one of Seconds');
    expectProblem({ StartAt: 'W', States: { W: { Type: 'Wait', Seconds: -1, End: true } } }, 'States.W.Seconds', 'integer');
    expectProblem({ StartAt: 'W', States: { W: { Type: 'Wait', Timestamp: '2024-01-01 00:00:00', End: true } } }, 'States.W.Timestamp', 'timestamp');
    expectProblem({ StartAt: 'F', States: { F: { Type: 'Fail', Cause: 'a', CausePath: '$.c' } } }, 'States.F', 'only one of');
    expectProblem({ StartAt: 'P', States: { P: { Type: 'Parallel', Branches: [], End: true } } }, 'States.P.Branches', 'non-empty');
    expectProblem({ StartAt: 'M', States: { M: { Type: 'Map', End: true } } }, 'States.M', 'exactly one of ItemProcessor and Iterator');
    const map = (extra: Record<string, unknown>) => ({ StartAt: 'M', States: { M: { Type: 'Map', ItemProcessor: { StartAt: 'I', States: { I: pass } }, End: true, ...extra } } });
    expectProblem(map({ MaxConcurrency: -1 }), 'States.M.MaxConcurrency', 'non-negative integer');
    expectProblem(map({ ItemSelector: {}, Parameters: {} }), 'States.M', 'only one of');
    expectProblem(map({ ToleratedFailurePercentage: 101 }), 'States.M.ToleratedFailurePercentage', '0 to 100');
  });

  it('refuses what this interpreter does not run', () => {
    expectProblem({ QueryLanguage: 'JSONata', StartAt: 'A', States: { A: pass } }, 'QueryLanguage', 'JSONata is not supported');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, Assign: { x: 1 } } } }, 'States.A.Assign', 'not supported');
    expectProblem({ StartAt: 'A', States: { A: { ...pass, Output: '{% 1 %}' } } }, 'States.A.Output', 'JSONata');
    const reader = { StartAt: 'M', States: { M: { Type: 'Map', ItemReader: { Resource: 'arn:aws:states:::s3:getObject' }, ItemProcessor: { StartAt: 'I', States: { I: pass } }, End: true } } };
    expectProblem(reader, 'States.M.ItemReader', 'not supported');
  });

  it('asl-validator findings our checks do not cover are reported too', () => {
    const found = problems({ StartAt: 'A', States: { A: { ...pass, InputPath: '$.a[?(@.x' } } });
    expect(found.some((p) => p.path === 'States.A.InputPath')).toBe(true);
  });
});
