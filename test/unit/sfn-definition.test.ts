import { describe, expect, it } from 'vitest';
import { MeshError } from '../../src/errors.js';
import { stateMachineName, stateMachinePrefix, toStepFunctionsDefinition } from '../../src/drivers/aws/sfn-definition.js';
import { runExecution, type TaskHandler } from './asl/driver.js';

const ACTIVITY = 'arn:aws:states:us-west-2:000000000000:activity:agent-mesh-tasks';
const options = { tenantId: 'acme', activityArn: ACTIVITY };

const refusal = (fn: () => unknown): MeshError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MeshError);
    return error as MeshError;
  }
  throw new Error('expected a refusal');
};

describe('stateMachineName', () => {
  it('is agent-mesh-<tenant>-<workflow> for plain names', () => {
    expect(stateMachineName('acme', 'orders')).toBe('agent-mesh-acme-orders');
    expect(stateMachineName('acme', 'order-flow')).toBe('agent-mesh-acme-order-flow');
  });

  it('escapes so that distinct (tenant, workflow) pairs never collide', () => {
    const tenants = ['a', 'a-b', 'a_b', 'a.b', 'a_h', 'a_hb', 'a__', 'ab', 'a-', 'a_', 'x'.repeat(64), `${'x'.repeat(63)}y`, `${'x'.repeat(40)}-`, `${'x'.repeat(40)}_`];
    const workflows = ['b', 'b-c', 'b_c', 'b.c', 'h-b', 'hb', '_', '-', '.', 'w'.repeat(64), `${'w'.repeat(63)}v`, `${'_'.repeat(64)}`, `${'.'.repeat(64)}`, `${'_'.repeat(63)}.`];
    const seen = new Map<string, string>();
    for (const tenant of tenants) {
      for (const workflow of workflows) {
        const name = stateMachineName(tenant, workflow);
        expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
        expect(name.startsWith(stateMachinePrefix(tenant))).toBe(true);
        const pair = JSON.stringify([tenant, workflow]);
        expect(seen.get(name), `${pair} collides`).toBeUndefined();
        seen.set(name, pair);
      }
    }
    // "a-b" + "c" vs "a" + "b-c": the tenant's "-" is escaped.
    expect(stateMachineName('a-b', 'c')).not.toBe(stateMachineName('a', 'b-c'));
  });

  it('no tenant prefix is a prefix of another tenant prefix', () => {
    const tenants = ['a', 'ab', 'a-b', 'a_b', 'a.b', 'x'.repeat(64), 'x'.repeat(33), 'x'.repeat(32)];
    for (const t of tenants) {
      for (const u of tenants) if (t !== u) expect(stateMachinePrefix(u).startsWith(stateMachinePrefix(t))).toBe(false);
    }
  });

  it('hashes long parts and stays within 80 characters', () => {
    const name = stateMachineName('t'.repeat(64), 'w'.repeat(64));
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toContain('_x');
    expect(stateMachineName('t'.repeat(64), 'w'.repeat(64))).toBe(name);
  });

  it('refuses names that are not tenant ids or workflow names', () => {
    expect(refusal(() => stateMachineName('-bad', 'w')).code).toBe('invalid_argument');
    expect(refusal(() => stateMachineName('t', 'has space')).details.field).toBe('name');
    expect(refusal(() => stateMachineName('t', '')).code).toBe('invalid_argument');
  });
});

describe('toStepFunctionsDefinition', () => {
  it('rewrites agent-mesh and mcp tasks at every depth and keeps everything else', () => {
    const definition = {
      StartAt: 'P',
      TimeoutSeconds: 600,
      States: {
        P: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Set', States: { Set: { Type: 'Task', Resource: 'agent-mesh:kv_set', Parameters: { 'key.$': '$.k', value: 1 }, Retry: [{ ErrorEquals: ['agent-mesh.conflict'], MaxAttempts: 2 }], ResultPath: '$.set', TimeoutSeconds: 30, HeartbeatSeconds: 10, End: true } } },
            {
              StartAt: 'M',
              States: {
                M: {
                  Type: 'Map',
                  ItemsPath: '$.items',
                  ItemProcessor: { StartAt: 'Call', States: { Call: { Type: 'Task', Resource: 'mcp:github/search', ResultSelector: { 'n.$': '$.count' }, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Oops' }], End: true }, Oops: { Type: 'Pass', End: true } } },
                  End: true,
                },
              },
            },
          ],
          End: true,
        },
      },
    };
    const out = toStepFunctionsDefinition(definition, options) as any;
    const set = out.States.P.Branches[0].States.Set;
    expect(set).toEqual({
      Type: 'Task',
      Resource: ACTIVITY,
      Parameters: { resource: 'agent-mesh:kv_set', tenant: 'acme', input: { 'key.$': '$.k', value: 1 } },
      Retry: [{ ErrorEquals: ['agent-mesh.conflict'], MaxAttempts: 2 }],
      ResultPath: '$.set',
      TimeoutSeconds: 30,
      HeartbeatSeconds: 10,
      End: true,
    });
    const call = out.States.P.Branches[1].States.M.ItemProcessor.States.Call;
    expect(call).toEqual({
      Type: 'Task',
      Resource: ACTIVITY,
      Parameters: { resource: 'mcp:github/search', tenant: 'acme', 'input.$': '$' },
      ResultSelector: { 'n.$': '$.count' },
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Oops' }],
      End: true,
    });
    expect(out.TimeoutSeconds).toBe(600);
    // The caller's definition is not changed.
    expect(definition.States.P.Branches[0]!.States.Set!.Resource).toBe('agent-mesh:kv_set');
  });

  it('names the workflow and the execution in every task when told the workflow, so the worker acts as its starter', () => {
    const definition = { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:kv_set', Parameters: { key: 'k', value: 1 }, End: true } } };
    const out = toStepFunctionsDefinition(definition, { ...options, workflow: 'nightly' }) as { States: { T: { Parameters: unknown } } };
    expect(out.States.T.Parameters).toEqual({ resource: 'agent-mesh:kv_set', tenant: 'acme', workflow: 'nightly', 'execution.$': '$$.Execution.Name', input: { key: 'k', value: 1 } });
  });

  it('accepts the definition as JSON text and rewrites the legacy Map Iterator', () => {
    const text = JSON.stringify({ StartAt: 'M', States: { M: { Type: 'Map', Iterator: { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:kv_get', End: true } } }, End: true } } });
    const out = toStepFunctionsDefinition(text, options) as { States: { M: { Iterator: { States: { T: { Resource: string } } } } } };
    expect(out.States.M.Iterator.States.T.Resource).toBe(ACTIVITY);
  });

  it('refuses a definition that names the shared activity (a forged tenant) or any other resource', () => {
    const forged = {
      StartAt: 'Forge',
      States: { Forge: { Type: 'Task', Resource: ACTIVITY, Parameters: { resource: 'agent-mesh:kv_get', tenant: 'victim', input: {} }, End: true } },
    };
    const error = refusal(() => toStepFunctionsDefinition(forged, options));
    expect(error.code).toBe('invalid_argument');
    expect(error.details.field).toBe('definition');
    expect(error.message).toContain('States.Forge.Resource');
    for (const resource of ['arn:aws:states:::lambda:invoke', 'arn:aws:lambda:us-west-2:000000000000:function:f', 'mcp:no-tool', 'agent-mesh:']) {
      const nested = { StartAt: 'P', States: { P: { Type: 'Parallel', Branches: [{ StartAt: 'T', States: { T: { Type: 'Task', Resource: resource, End: true } } }], End: true } } };
      expect(refusal(() => toStepFunctionsDefinition(nested, options)).message).toContain('States.P.Branches[0].States.T.Resource');
    }
  });

  it('refuses Credentials, Map readers and writers, JSONata and malformed definitions', () => {
    const task = (extra: Record<string, unknown>) => ({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:kv_get', End: true, ...extra } } });
    expect(refusal(() => toStepFunctionsDefinition(task({ Credentials: { RoleArn: 'arn:aws:iam::1:role/x' } }), options)).message).toContain('Credentials');
    expect(refusal(() => toStepFunctionsDefinition(task({ QueryLanguage: 'JSONata' }), options)).message).toContain('QueryLanguage');
    const reader = { StartAt: 'M', States: { M: { Type: 'Map', ItemReader: { Resource: 'arn:aws:states:::s3:getObject' }, ItemProcessor: { StartAt: 'X', States: { X: { Type: 'Pass', End: true } } }, End: true } } };
    expect(refusal(() => toStepFunctionsDefinition(reader, options)).message).toContain('ItemReader');
    expect(refusal(() => toStepFunctionsDefinition('{not json', options)).details.field).toBe('definition');
    expect(refusal(() => toStepFunctionsDefinition([], options)).details.field).toBe('definition');
    expect(refusal(() => toStepFunctionsDefinition({ StartAt: 'A' }, options)).message).toContain('States');
    expect(refusal(() => toStepFunctionsDefinition(task({}), { ...options, tenantId: '../x' })).details.field).toBe('tenant_id');
  });

  it('gives the worker the same arguments the embedded engine gives the tool, paths, context and intrinsics included', () => {
    const definition = {
      StartAt: 'Prepare',
      States: {
        Prepare: { Type: 'Pass', Parameters: { 'order.$': '$.order', items: [1, 2, 3] }, Next: 'Save' },
        Save: {
          Type: 'Task',
          Resource: 'agent-mesh:kv_set',
          InputPath: '$',
          Parameters: {
            'key.$': "States.Format('order-{}', $.order.id)",
            value: { 'total.$': '$.order.total', 'first.$': '$.items[0]', 'count.$': 'States.ArrayLength($.items)', literal: '$.not-a-path' },
            'execution.$': '$$.Execution.Name',
            'state.$': '$$.State.Name',
          },
          ResultPath: '$.saved',
          Next: 'Each',
        },
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemSelector: { 'n.$': '$$.Map.Item.Value', 'id.$': '$.order.id' },
          ItemProcessor: { StartAt: 'Call', States: { Call: { Type: 'Task', Resource: 'mcp:calc/square', End: true } } },
          ResultPath: '$.squares',
          End: true,
        },
      },
    };
    const answer = (resource: string, args: unknown): unknown => (resource === 'agent-mesh:kv_set' ? { ok: true } : { square: ((args as { n: number }).n) ** 2 });
    const original: { resource: string; input: unknown }[] = [];
    const direct: TaskHandler = (resource, input) => {
      original.push({ resource, input });
      return { output: answer(resource, input) };
    };
    const viaActivity: { resource: string; input: unknown }[] = [];
    const activity: TaskHandler = (resource, input) => {
      expect(resource).toBe(ACTIVITY);
      const task = input as { resource: string; tenant: string; input: unknown };
      expect(task.tenant).toBe('acme');
      viaActivity.push({ resource: task.resource, input: task.input });
      return { output: answer(task.resource, task.input) };
    };
    const input = { order: { id: 7, total: 42.5 } };
    const a = runExecution(definition, input, { tasks: direct });
    const b = runExecution(toStepFunctionsDefinition(definition, options), input, { tasks: activity });
    expect(a.snapshot.status).toBe('SUCCEEDED');
    expect(original).toHaveLength(4);
    expect(original[0]).toEqual({
      resource: 'agent-mesh:kv_set',
      input: { key: 'order-7', value: { total: 42.5, first: 1, count: 3, literal: '$.not-a-path' }, execution: 'exec-1', state: 'Save' },
    });
    expect(viaActivity).toEqual(original);
    expect(b.snapshot.status).toBe('SUCCEEDED');
    expect(b.snapshot.output).toEqual(a.snapshot.output);
  });
});
