import { CallToolResultSchema, CreateTaskResultSchema, GetTaskResultSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startServer, structured, tempDataDir, writeConfig, type ServerHandle } from '../helpers/server-process.js';
import { executionEnd, type Execution } from '../helpers/workflows.js';

const UNLIMITED = { capacity: 1_000_000, refillPerSecond: 1_000_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));



describe('workflows over stdio', () => {
  const data = tempDataDir();
  let server: ServerHandle;
  let readonlyKv: ServerHandle;
  beforeAll(async () => {
    const config = writeConfig(data.dir, {
      defaults: { rateLimits: { dynamodb: UNLIMITED, stepfunctions: UNLIMITED, eventbridge: UNLIMITED } },
      tenants: {
        small: { limits: { maxTransitionsPerExecution: 50, maxConcurrentExecutions: 2 } },
        reader: { permissions: ['kv:read', 'workflow:*', 'events:*'] },
      },
    });
    server = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config });
    readonlyKv = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config, AGENT_MESH_TENANT_ID: 'reader' });
  });
  afterAll(async () => {
    await Promise.all([server?.close(), readonlyKv?.close()]);
    data.cleanup();
  });

  it('refuses invalid definitions, listing each problem with its path', async () => {
    const result = await server.call('workflow_create', {
      name: 'broken',
      definition: { StartAt: 'Nope', States: { A: { Type: 'Pass', Next: 'Missing' }, B: { Type: 'Task', Resource: 'agent-mesh:kv_get' } } },
    });
    expect(structured(result).error).toMatchObject({ code: 'invalid_argument', field: 'definition' });
    const message = structured(result).error!.message;
    expect(message).toMatch(/Nope/);
    expect(message).toMatch(/Missing/);
    expect(errorCode(await server.call('workflow_create', { name: 'bad json', definition: '{' }))).toBe('invalid_argument');
  });

  it('refuses a Task resource it could never run at create time, at any depth, not as a failed execution later', async () => {
    const definition = {
      StartAt: 'Fan',
      States: {
        Fan: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Typo', States: { Typo: { Type: 'Task', Resource: 'agent-mesh:kv_gett', End: true } } },
            { StartAt: 'Lambda', States: { Lambda: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f', End: true } } },
            { StartAt: 'Later', States: { Later: { Type: 'Task', Resource: 'mcp:not-yet-registered/tool', End: true } } },
          ],
          End: true,
        },
      },
    };
    const refused = structured(await server.call('workflow_create', { name: 'typos', definition }));
    expect(refused.error).toEqual({
      code: 'invalid_argument',
      field: 'definition',
      message:
        'definition: 2 problems: States.Fan.Branches[0].States.Typo.Resource: no agent-mesh tool "kv_gett"; ' +
        'States.Fan.Branches[1].States.Lambda.Resource: "arn:aws:lambda:us-east-1:123456789012:function:f" is not a supported resource (agent-mesh:<tool> or mcp:<integration>/<tool>)',
    });
    expect(errorCode(await server.call('workflow_start', { name: 'typos' }))).toBe('not_found'); // nothing was stored
  });

  it('lists Task resource problems together with structural ones, and survives malformed states', async () => {
    const definition = {
      StartAt: 'Nope',
      States: {
        A: { Type: 'Task', Resource: 'agent-mesh:kv_gett', Next: 'Missing' },
        B: 'not a state',
        C: { Type: 'Parallel', Branches: [null, { StartAt: 'X', States: 7 }, { StartAt: 'Y', States: { Y: { Type: 'Task', Resource: 'lambda', End: true } } }], End: true },
        D: { Type: 'Map', ItemProcessor: [], Iterator: { States: null }, End: true },
      },
    };
    const refused = structured(await server.call('workflow_create', { name: 'mixed', definition }));
    expect(refused.error).toMatchObject({ code: 'invalid_argument', field: 'definition' });
    const message = refused.error!.message as string;
    expect(message).toMatch(/Nope/);
    expect(message).toMatch(/Missing/);
    expect(message).toContain('States.A.Resource: no agent-mesh tool "kv_gett"');
    expect(message).toContain('States.C.Branches[2].States.Y.Resource: "lambda" is not a supported resource');
    expect(errorCode(await server.call('workflow_start', { name: 'mixed' }))).toBe('not_found'); // nothing was stored
  });

  it('refuses an input over the 256 KB payload quota at start, as Step Functions does, and starts nothing', async () => {
    await server.call('workflow_create', { name: 'takes-input', definition: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } });
    const input = { items: Array.from({ length: 200 }, (_, i) => ({ i, blob: 'x'.repeat(2000) })) };
    const refused = structured(await server.call('workflow_start', { name: 'takes-input', input, execution_name: 'too-big', wait_seconds: 5 }));
    expect(refused.error).toMatchObject({ code: 'invalid_argument', field: 'input', message: expect.stringMatching(/more than the 262144-byte payload size quota/) });
    const listed = structured(await server.call('workflow_list', { name: 'takes-input' }));
    expect(listed.executions).toEqual([]);
    // Just under the quota it runs.
    const fits = structured(await server.call('workflow_start', { name: 'takes-input', input: { blob: 'x'.repeat(200_000) }, wait_seconds: 10 }));
    expect(fits.status).toBe('SUCCEEDED');
  });

  it('runs Pass, Task, Wait and Choice to the end, with output and a timestamped history', async () => {
    const definition = {
      StartAt: 'Prep',
      States: {
        Prep: { Type: 'Pass', Parameters: { 'key.$': "States.Format('orders/{}', $.id)", 'value.$': '$' }, Next: 'Save' },
        Save: { Type: 'Task', Resource: 'agent-mesh:kv_set', ResultPath: '$.saved', Next: 'Pause' },
        Pause: { Type: 'Wait', Seconds: 1, Next: 'Check' },
        Check: { Type: 'Choice', Choices: [{ Variable: '$.saved.version', NumericEquals: 1, Next: 'Done' }], Default: 'Oops' },
        Done: { Type: 'Succeed', OutputPath: '$.saved' },
        Oops: { Type: 'Fail', Error: 'Unexpected' },
      },
    };
    expect(structured(await server.call('workflow_create', { name: 'orders', definition }))).toEqual({ name: 'orders', version: 1, created: true });
    const started = Date.now();
    const run = structured(await server.call('workflow_start', { name: 'orders', input: { id: 'o-1' }, wait_seconds: 15 })) as unknown as Execution;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { key: 'orders/o-1', version: 1 } });
    expect(structured(await server.call('kv_get', { key: 'orders/o-1' })).value).toEqual({ id: 'o-1' });
    const status = structured(await server.call('workflow_status', { execution_id: run.execution_id })) as unknown as Execution;
    const types = status.history!.map((e) => `${e.type}${e.state ? `:${e.state}` : ''}`);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types).toContain('StateEntered:Save');
    expect(types).toContain('WaitStarted:Pause');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(status.history!.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
  });

  it('sends a progress notification per transition while waiting', async () => {
    await server.call('workflow_create', { name: 'quick', definition: { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', End: true } } } });
    await server.call('workflow_create', {
      name: 'paced',
      definition: { StartAt: 'A', States: { A: { Type: 'Wait', Seconds: 1, Next: 'B' }, B: { Type: 'Wait', Seconds: 1, End: true } } },
    });
    const progress: string[] = [];
    const result = await server.client.callTool({ name: 'workflow_start', arguments: { name: 'paced', wait_seconds: 10 } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
      timeout: 20_000,
    });
    expect(structured(result as never).status).toBe('SUCCEEDED');
    expect(progress).toEqual(expect.arrayContaining(['StateEntered A', 'WaitStarted A', 'StateEntered B', 'WaitStarted B']));
  });

  it('serves executions as subscribable resources with an update per transition', async () => {
    const run = structured(await server.call('workflow_start', { name: 'paced' }));
    const uri = `workflow://executions/${run.execution_id}`;
    const updates: string[] = [];
    server.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await server.client.subscribeResource({ uri });
    for (let i = 0; i < 60 && JSON.parse(((await server.client.readResource({ uri })).contents[0] as { text: string }).text).status === 'RUNNING'; i++) await sleep(100);
    const read = JSON.parse(((await server.client.readResource({ uri })).contents[0] as { text: string }).text);
    expect(read).toMatchObject({ execution_id: run.execution_id, status: 'SUCCEEDED' });
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(new Set(updates)).toEqual(new Set([uri]));
    await server.client.unsubscribeResource({ uri });
    await expect(readonlyKv.client.readResource({ uri })).rejects.toThrow(/not_found/);
  });

  it('offers workflow_start as a task that task-aware clients can poll', async () => {
    const listed = (await server.client.listTools()).tools.find((t) => t.name === 'workflow_start');
    expect(listed?.execution).toEqual({ taskSupport: 'optional' });
    expect(server.client.getServerCapabilities()?.tasks?.requests?.tools?.call).toBeDefined();
    const created = await server.client.request(
      { method: 'tools/call', params: { name: 'workflow_start', arguments: { name: 'paced' }, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    expect(created.task.status).toBe('working');
    let task = created.task;
    for (let i = 0; i < 100 && task.status === 'working'; i++) {
      await sleep(100);
      task = await server.client.request({ method: 'tasks/get', params: { taskId: created.task.taskId } }, GetTaskResultSchema);
    }
    expect(task.status).toBe('completed');
    const result = await server.client.request({ method: 'tasks/result', params: { taskId: created.task.taskId } }, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ workflow: 'paced', status: 'SUCCEEDED' });
  });

  it('starts idempotently by execution name and refuses the same name with other input', async () => {
    const first = structured(await server.call('workflow_start', { name: 'quick', execution_name: 'once', input: { a: 1 } }));
    const again = structured(await server.call('workflow_start', { name: 'quick', execution_name: 'once', input: { a: 1 } }));
    expect(again.execution_id).toBe(first.execution_id);
    expect(errorCode(await server.call('workflow_start', { name: 'quick', execution_name: 'once', input: { a: 2 } }))).toBe('conflict');
  });

  it('retries with backoff and catches task errors by their agent-mesh error name', async () => {
    const definition = {
      StartAt: 'Get',
      States: {
        Get: {
          Type: 'Task',
          Resource: 'agent-mesh:kv_get',
          Parameters: { key: 'does-not-exist' },
          Retry: [{ ErrorEquals: ['agent-mesh.not_found'], IntervalSeconds: 1, MaxAttempts: 1 }],
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Handled' }],
          End: true,
        },
        Handled: { Type: 'Pass', End: true },
      },
    };
    await server.call('workflow_create', { name: 'missing', definition });
    const started = Date.now();
    const run = structured(await server.call('workflow_start', { name: 'missing', input: {}, wait_seconds: 15 })) as unknown as Execution;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ failure: { Error: 'agent-mesh.not_found', Cause: expect.stringMatching(/does-not-exist/) } });
    const status = structured(await server.call('workflow_status', { execution_id: run.execution_id })) as unknown as Execution;
    expect(status.history!.filter((e) => e.type === 'TaskFailed')).toHaveLength(2);
  });

  it('runs tasks under the tenant\'s own permissions', async () => {
    await readonlyKv.call('workflow_create', { name: 'writer', definition: { StartAt: 'W', States: { W: { Type: 'Task', Resource: 'agent-mesh:kv_set', Parameters: { key: 'k', value: 1 }, End: true } } } });
    const run = structured(await readonlyKv.call('workflow_start', { name: 'writer', wait_seconds: 10 })) as unknown as Execution;
    expect(run).toMatchObject({ status: 'FAILED', error: 'agent-mesh.permission_denied' });
    // Another tenant's workflows and executions are invisible.
    expect(errorCode(await readonlyKv.call('workflow_status', { execution_id: (structured(await server.call('workflow_list', {})).executions as Execution[])[0]!.execution_id }))).toBe('not_found');
    expect((structured(await readonlyKv.call('workflow_list', {})).workflows as { name: string }[]).map((w) => w.name)).toEqual(['writer']);
  });

  it('keeps an execution on the version it started with', async () => {
    await server.call('workflow_create', { name: 'versioned', definition: { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 1, Next: 'P' }, P: { Type: 'Pass', Result: 'v1', End: true } } } });
    const run = structured(await server.call('workflow_start', { name: 'versioned' }));
    expect(structured(await server.call('workflow_create', { name: 'versioned', definition: { StartAt: 'P', States: { P: { Type: 'Pass', Result: 'v2', End: true } } } })).version).toBe(2);
    expect((await executionEnd(server, run.execution_id as string)).output).toBe('v1');
    const second = structured(await server.call('workflow_start', { name: 'versioned', wait_seconds: 10 }));
    expect(second).toMatchObject({ version: 2, output: 'v2' });
  });

  it('cancels a running execution', async () => {
    await server.call('workflow_create', { name: 'long', definition: { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 600, End: true } } } });
    const run = structured(await server.call('workflow_start', { name: 'long' }));
    await sleep(300);
    const cancelled = structured(await server.call('workflow_cancel', { execution_id: run.execution_id }));
    expect(cancelled).toMatchObject({ status: 'ABORTED', cancel_requested: true });
    expect(errorCode(await server.call('workflow_cancel', { execution_id: run.execution_id }))).toBe('conflict');
  });

  it('fails a runaway loop at the transition limit, and caps concurrent executions', async () => {
    const small = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: writeConfig(data.dir, { tenants: { small: { limits: { maxTransitionsPerExecution: 50, maxConcurrentExecutions: 2 } } } }, 'small.json'), AGENT_MESH_TENANT_ID: 'small' });
    try {
      const loop = {
        StartAt: 'A',
        States: {
          A: { Type: 'Pass', Next: 'B' },
          B: { Type: 'Choice', Choices: [{ Variable: '$.stop', IsPresent: true, Next: 'End' }], Default: 'A' },
          End: { Type: 'Succeed' },
        },
      };
      expect((await small.call('workflow_create', { name: 'loop', definition: loop })).isError).toBeFalsy();
      const run = structured(await small.call('workflow_start', { name: 'loop', wait_seconds: 10 })) as unknown as Execution;
      expect(run).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
      expect(run.cause).toMatch(/transition/i);
      await small.call('workflow_create', { name: 'sleepy', definition: { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 600, End: true } } } });
      await small.call('workflow_start', { name: 'sleepy' });
      await small.call('workflow_start', { name: 'sleepy' });
      const third = await small.call('workflow_start', { name: 'sleepy' });
      expect(structured(third).error).toMatchObject({ code: 'quota_exceeded', limit: 'maxConcurrentExecutions' });
    } finally {
      await small.close();
    }
  });

  it('announces lifecycle events on the bus and starts workflows from rule targets', async () => {
    await server.call('workflow_create', { name: 'on-order', definition: { StartAt: 'P', States: { P: { Type: 'Pass', InputPath: '$.detail', End: true } } } });
    const rule = await server.call('events_create_rule', { name: 'orders-to-flow', event_pattern: { source: ['shop'] }, targets: [{ workflow: 'on-order' }] });
    expect(rule.isError).toBeFalsy();
    expect(errorCode(await server.call('events_create_rule', { name: 'nope', event_pattern: { source: ['x'] }, targets: [{ workflow: 'absent' }] }))).toBe('invalid_argument');
    await server.call('events_send', { source: 'shop', detail_type: 'OrderPlaced', detail: { order: 'o-77' } });
    let done: Execution[] = [];
    for (let i = 0; i < 50 && done.length === 0; i++) {
      await sleep(100);
      done = (structured(await server.call('workflow_list', { name: 'on-order', status: 'SUCCEEDED' })).executions as Execution[]);
    }
    expect(done).toHaveLength(1);
    expect(done[0]!.output).toMatchObject({ order: 'o-77' });
    const events = structured(await server.call('events_query', { source: 'agent-mesh.workflows', limit: 500 })).events as { 'detail-type': string; detail: { workflow: string } }[];
    const onOrder = events.filter((e) => e.detail.workflow === 'on-order').map((e) => e['detail-type']).sort();
    expect(onOrder).toEqual(['ExecutionStarted', 'ExecutionSucceeded']);
  });
});
