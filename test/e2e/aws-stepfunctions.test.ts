/**
 * Workflows on Step Functions, end to end: `agent-mesh serve` processes with AGENT_MESH_BACKEND=aws and
 * AGENT_MESH_SFN_ROLE_ARN, on dynalite + fauxqs and the loopback FAKE Step Functions (no emulator of it
 * exists here; the fake runs ASL with agent-mesh's own engine and hands Task states out as activity tasks).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEnvironment, type AwsEnvironment } from '../helpers/aws-environment.js';
import { adminAsync, httpClient, runCli, startHttpServerProcess, type HttpServerProcess } from '../helpers/http-server-process.js';
import { lazyTempDir } from '../helpers/server-process.js';

type Structured = Record<string, unknown> & { error?: { code: string; field?: string } };
const call = async (client: Client, name: string, args: Record<string, unknown> = {}) =>
  (await client.callTool({ name, arguments: args })) as CallToolResult & { structuredContent: Structured };

const DEFINITION = {
  StartAt: 'Save',
  States: {
    Save: {
      Type: 'Task',
      Resource: 'agent-mesh:kv_set',
      Parameters: { key: 'orders/last', 'value.$': '$.order' },
      ResultPath: '$.saved',
      Next: 'Again',
    },
    Again: {
      Type: 'Task',
      Resource: 'agent-mesh:kv_set',
      Parameters: { key: 'orders/last', value: 'never', if_version: 99 },
      Retry: [{ ErrorEquals: ['agent-mesh.rate_limited'], MaxAttempts: 2 }],
      Catch: [{ ErrorEquals: ['agent-mesh.conflict'], ResultPath: '$.conflict', Next: 'Read' }],
      Next: 'Read',
    },
    Read: { Type: 'Task', Resource: 'agent-mesh:kv_get', Parameters: { key: 'orders/last' }, ResultSelector: { 'value.$': '$.value', 'version.$': '$.version' }, End: true },
  },
};

describe('workflows on Step Functions (AGENT_MESH_SFN_ROLE_ARN)', () => {
  let aws: AwsEnvironment;
  const data = lazyTempDir('agent-mesh-aws-sfn');
  const servers: HttpServerProcess[] = [];
  const clients: Client[] = [];
  let wfOnly: Client;

  beforeAll(async () => {
    aws = await startAwsEnvironment({ stepFunctions: true });
    const env = { ...aws.env, AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_SECRET_KEY: 'b'.repeat(64) };
    await adminAsync(env, 'tenants', 'create', 'acme');
    const token = await adminAsync(env, 'keys', 'create', '--tenant', 'acme', '--user', 'ops');
    servers.push(...(await Promise.all([startHttpServerProcess(env), startHttpServerProcess(env)])));
    clients.push(...(await Promise.all(servers.map((server) => httpClient(server.url, token)))));
    wfOnly = await httpClient(servers[1]!.url, await adminAsync(env, 'keys', 'create', '--tenant', 'acme', '--user', 'wfonly', '--permissions', 'workflow:*'));
    clients.push(wfOnly);
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled(servers.map((server) => server.stop()));
    await aws?.close();
    data.cleanup();
  });

  it('deploys a tenant-prefixed state machine whose agent-mesh tasks run here as the tenant, with Retry and Catch', async () => {
    const [a, b] = clients as [Client, Client];
    const created = await call(a, 'workflow_create', { name: 'orders', definition: DEFINITION });
    expect(created.structuredContent).toMatchObject({ name: 'orders', version: 1 });
    const deployed = aws.stepFunctions!.calls.find((c) => c.operation === 'CreateStateMachine');
    expect(deployed?.body.name).toMatch(/^agent-mesh-acme-orders$/);
    const definition = JSON.parse(String(deployed?.body.definition)) as { States: { Save: { Resource: string; Parameters: Record<string, unknown> } } };
    expect(definition.States.Save.Resource).toMatch(/:activity:agent-mesh-tasks$/);
    expect(definition.States.Save.Parameters).toMatchObject({ resource: 'agent-mesh:kv_set', tenant: 'acme' });

    // Started on one instance; either instance's worker may run its tasks.
    const run = await call(b, 'workflow_start', { name: 'orders', input: { order: { id: 7, total: 42 } }, wait_seconds: 30 });
    expect(run.structuredContent).toMatchObject({ status: 'SUCCEEDED', output: { value: { id: 7, total: 42 }, version: 1 } });
    expect((await call(a, 'kv_get', { key: 'orders/last' })).structuredContent).toMatchObject({ value: { id: 7, total: 42 }, version: 1 });

    const status = await call(a, 'workflow_status', { execution_id: run.structuredContent.execution_id });
    const history = status.structuredContent.history as { type: string; state?: string; detail?: { error?: string } }[];
    expect(history[0]!.type).toBe('ExecutionStarted');
    expect(history.filter((e) => e.type === 'StateEntered').map((e) => e.state)).toEqual(['Save', 'Again', 'Read']);
    expect(history.find((e) => e.type === 'TaskFailed')?.detail?.error).toBe('agent-mesh.conflict');
    expect(history.at(-1)!.type).toBe('ExecutionSucceeded');
    expect(aws.stepFunctions!.calls.some((c) => c.operation === 'SendTaskFailure' && c.body.error === 'agent-mesh.conflict')).toBe(true);
  });

  it('runs the activity tasks as the execution\'s starter: a workflow:*-only key cannot write keys through one', async () => {
    const [a] = clients as [Client];
    const writer = { StartAt: 'W', States: { W: { Type: 'Task', Resource: 'agent-mesh:kv_set', Parameters: { key: 'sfn/by-wfonly', value: 1 }, End: true } } };
    expect((await call(wfOnly, 'workflow_create', { name: 'guarded', definition: writer })).structuredContent.error).toBeUndefined();
    const deployed = aws.stepFunctions!.calls.filter((c) => c.operation === 'CreateStateMachine' && String(c.body.name).endsWith('-guarded')).pop();
    expect((JSON.parse(String(deployed?.body.definition)) as { States: { W: { Parameters: unknown } } }).States.W.Parameters).toMatchObject({
      workflow: 'guarded',
      'execution.$': '$$.Execution.Name',
    });
    const denied = await call(wfOnly, 'workflow_start', { name: 'guarded', wait_seconds: 30 });
    expect(denied.structuredContent).toMatchObject({ status: 'FAILED', error: 'agent-mesh.permission_denied' });
    expect((await call(a, 'kv_get', { key: 'sfn/by-wfonly' })).structuredContent.error?.code).toBe('not_found');
    // The same workflow started by a key that may write keys succeeds.
    expect((await call(a, 'workflow_start', { name: 'guarded', wait_seconds: 30 })).structuredContent).toMatchObject({ status: 'SUCCEEDED' });
    expect((await call(a, 'kv_get', { key: 'sfn/by-wfonly' })).structuredContent).toMatchObject({ value: 1 });
  });

  it('cancels a running execution on Step Functions', async () => {
    const [a] = clients as [Client];
    await call(a, 'workflow_create', { name: 'slow', definition: { StartAt: 'Wait', States: { Wait: { Type: 'Wait', Seconds: 600, End: true } } } });
    const started = await call(a, 'workflow_start', { name: 'slow', input: {} });
    expect(started.structuredContent.status).toBe('RUNNING');
    const cancelled = await call(a, 'workflow_cancel', { execution_id: started.structuredContent.execution_id });
    expect(cancelled.structuredContent).toMatchObject({ status: 'ABORTED', cancel_requested: true });
    expect(aws.stepFunctions!.calls.some((c) => c.operation === 'StopExecution')).toBe(true);
  });

  it('refuses a definition that names the shared activity itself, storing nothing', async () => {
    const [a] = clients as [Client];
    const forged = await call(a, 'workflow_create', {
      name: 'forged',
      definition: { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:states:us-west-2:000000000000:activity:agent-mesh-tasks', Parameters: { tenant: 'victim' }, End: true } } },
    });
    expect(forged.structuredContent.error?.code).toBe('invalid_argument');
    const listed = await call(a, 'workflow_list', { name: 'forged' });
    expect(listed.structuredContent.workflows).toEqual([]);
  });

  it('agent-mesh doctor reports the Step Functions activity ready', async () => {
    const run = await runCli({ ...aws.env, AGENT_MESH_DATA_DIR: data.dir }, 'doctor');
    expect(run.stdout).toMatch(/ok {4}step functions activity arn:aws:states:us-west-2:000000000000:activity:agent-mesh-tasks: ready/);
    expect(run.status).toBe(0);
  });
});
