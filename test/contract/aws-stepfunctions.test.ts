import { GetExecutionHistoryCommand, ListStateMachinesCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SfnActivityWorker, type ActivityTaskRunner } from '../../src/drivers/aws/sfn-activity-worker.js';
import { StepFunctionsWorkflows } from '../../src/drivers/aws/sfn-workflows.js';
import { MeshError } from '../../src/errors.js';
import { startFakeStepFunctions, type FakeStepFunctions } from '../helpers/fake-stepfunctions.js';

/**
 * StepFunctionsWorkflows and SfnActivityWorker against the FAKE Step Functions (test/helpers/fake-stepfunctions.ts;
 * no Step Functions emulator exists here), which runs executions on agent-mesh's own ASL engine.
 */

const ROLE = 'arn:aws:iam::000000000000:role/agent-mesh-workflows';

/** Pass → Task(agent-mesh:kv_set, Retry on agent-mesh.conflict) → Choice → Task(mcp:x/y, Catch) → Succeed. */
const ORDER_FLOW = {
  Comment: 'contract test workflow',
  StartAt: 'Prepare',
  States: {
    Prepare: { Type: 'Pass', Parameters: { 'key.$': "States.Format('order-{}', $.id)", 'value.$': '$.total' }, ResultPath: '$.args', Next: 'Save' },
    Save: {
      Type: 'Task',
      Resource: 'agent-mesh:kv_set',
      Parameters: { 'key.$': '$.args.key', 'value.$': '$.args.value', 'execution.$': '$$.Execution.Name' },
      Retry: [{ ErrorEquals: ['agent-mesh.conflict'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 }],
      ResultPath: '$.saved',
      TimeoutSeconds: 60,
      Next: 'Route',
    },
    Route: { Type: 'Choice', Choices: [{ Variable: '$.saved.version', NumericGreaterThan: 0, Next: 'Notify' }], Default: 'NotSaved' },
    Notify: {
      Type: 'Task',
      Resource: 'mcp:x/y',
      Catch: [{ ErrorEquals: ['agent-mesh.rate_limited'], ResultPath: '$.notifyError', Next: 'Recovered' }],
      ResultSelector: { 'sent.$': '$.sent' },
      ResultPath: '$.notified',
      Next: 'Done',
    },
    Recovered: { Type: 'Pass', Result: 'recovered', ResultPath: '$.recovery', Next: 'Done' },
    NotSaved: { Type: 'Fail', Error: 'NotSaved' },
    Done: { Type: 'Succeed' },
  },
};

interface RecordedCall {
  tenantId: string;
  resource: string;
  input: unknown;
  execution?: { workflow: string; name: string };
}

/** A TEST DOUBLE for the tool invoker the workflow service will wire in: records calls, answers from a script. */
function recordingRunnerDouble(answer: (call: RecordedCall, attempt: number, signal: AbortSignal) => Promise<unknown>) {
  const calls: RecordedCall[] = [];
  const run: ActivityTaskRunner = async (tenantId, resource, input, signal, execution) => {
    const call = { tenantId, resource, input, ...(execution && { execution }) };
    calls.push(call);
    return answer(call, calls.filter((c) => c.resource === resource).length, signal);
  };
  return { calls, run };
}

let fake: FakeStepFunctions;
const workers: SfnActivityWorker[] = [];

beforeAll(async () => {
  fake = await startFakeStepFunctions({ pollWaitMs: 300, timeScale: 0.01 });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});
afterAll(async () => {
  await fake.close();
});

function workflows(): StepFunctionsWorkflows {
  return new StepFunctionsWorkflows({ client: fake.client(), region: fake.region, accountId: fake.account, roleArn: ROLE, activityName: 'agent-mesh-tasks' });
}

function startWorker(wf: StepFunctionsWorkflows, run: ActivityTaskRunner, options: { heartbeatIntervalMs?: number; concurrency?: number } = {}): SfnActivityWorker {
  const worker = new SfnActivityWorker({ client: fake.client(), activityArn: wf.activityArn, run, backoffMs: { initial: 10, max: 50 }, drainMs: 2000, ...options });
  workers.push(worker);
  worker.start();
  return worker;
}

async function ended(wf: StepFunctionsWorkflows, tenantId: string, executionArn: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await wf.describe(tenantId, executionArn);
    if (execution.status !== 'RUNNING' || Date.now() > deadline) return execution;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const meshError = async (promise: Promise<unknown>): Promise<MeshError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MeshError);
    return error as MeshError;
  }
  throw new Error('expected a MeshError');
};

describe('Step Functions workflows (fake Step Functions)', () => {
  it('runs agent-mesh and mcp tasks through the activity worker: arguments, Retry, Choice, Catch, output and history', async () => {
    const wf = workflows();
    expect(await wf.ensureActivity()).toBe(wf.activityArn);
    expect(await wf.ensureActivity()).toBe(wf.activityArn); // idempotent
    const deployed = await wf.deploy('acme', 'orders', ORDER_FLOW);
    expect(deployed).toEqual({ stateMachineArn: `arn:aws:states:${fake.region}:${fake.account}:stateMachine:agent-mesh-acme-orders`, created: true });

    const double = recordingRunnerDouble(async (call, attempt) => {
      if (call.resource === 'agent-mesh:kv_set') {
        if (attempt === 1) throw new MeshError('conflict', 'the key changed meanwhile');
        return { version: 3 };
      }
      throw new MeshError('rate_limited', 'slow down', { retry_after_ms: 1000 });
    });
    startWorker(wf, double.run);

    const started = await wf.start('acme', 'orders', 'order-7', { id: 7, total: 42.5 });
    expect(started.created).toBe(true);
    const execution = await ended(wf, 'acme', started.executionArn);

    expect(double.calls).toEqual([
      { tenantId: 'acme', resource: 'agent-mesh:kv_set', input: { key: 'order-7', value: 42.5, execution: 'order-7' }, execution: { workflow: 'orders', name: 'order-7' } },
      { tenantId: 'acme', resource: 'agent-mesh:kv_set', input: { key: 'order-7', value: 42.5, execution: 'order-7' }, execution: { workflow: 'orders', name: 'order-7' } },
      {
        tenantId: 'acme',
        resource: 'mcp:x/y',
        input: { id: 7, total: 42.5, args: { key: 'order-7', value: 42.5 }, saved: { version: 3 } },
        execution: { workflow: 'orders', name: 'order-7' },
      },
    ]);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.output).toEqual({
      id: 7,
      total: 42.5,
      args: { key: 'order-7', value: 42.5 },
      saved: { version: 3 },
      notifyError: { Error: 'agent-mesh.rate_limited', Cause: 'slow down' },
      recovery: 'recovered',
    });

    const history = await wf.history('acme', started.executionArn);
    const types = history.map((e) => e.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
    expect(types.filter((t) => t === 'ActivityScheduled')).toHaveLength(3);
    expect(types.filter((t) => t === 'ActivityStarted')).toHaveLength(3);
    expect(types.filter((t) => t === 'ActivitySucceeded')).toHaveLength(1);
    const failures = history.filter((e) => e.type === 'ActivityFailed').map((e) => e.activityFailedEventDetails);
    expect(failures).toEqual([
      { error: 'agent-mesh.conflict', cause: 'the key changed meanwhile' },
      { error: 'agent-mesh.rate_limited', cause: 'slow down' },
    ]);
    const scheduled = history.find((e) => e.type === 'ActivityScheduled')!.activityScheduledEventDetails!;
    expect(scheduled.resource).toBe(wf.activityArn);
    // The task names its workflow and execution, so the worker runs it as the execution's starter.
    expect(JSON.parse(scheduled.input!)).toEqual({ resource: 'agent-mesh:kv_set', tenant: 'acme', workflow: 'orders', execution: 'order-7', input: { key: 'order-7', value: 42.5, execution: 'order-7' } });
    expect(scheduled.timeoutInSeconds).toBe(60);
    const entered = history.filter((e) => e.type?.endsWith('StateEntered')).map((e) => `${e.type}:${e.stateEnteredEventDetails?.name}`);
    expect(entered).toEqual(['PassStateEntered:Prepare', 'TaskStateEntered:Save', 'ChoiceStateEntered:Route', 'TaskStateEntered:Notify', 'PassStateEntered:Recovered', 'SucceedStateEntered:Done']);

    // Pages of three events put together give the same history; afterEventId gives the tail.
    const paged: HistoryEvent[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await fake.client().send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 3, ...(nextToken && { nextToken }) }));
      paged.push(...(page.events ?? []));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    expect(pages).toBe(Math.ceil(history.length / 3));
    expect(paged).toEqual(history);
    expect((await wf.history('acme', started.executionArn, 10)).map((e) => e.id)).toEqual(history.slice(10).map((e) => e.id));
  });

  it('takes the Choice default and the Task result when nothing fails', async () => {
    const wf = workflows();
    await wf.ensureActivity();
    await wf.deploy('acme', 'orders-ok', ORDER_FLOW);
    const double = recordingRunnerDouble(async (call) => (call.resource === 'agent-mesh:kv_set' ? { version: 1 } : { sent: true, extra: 'dropped by ResultSelector' }));
    startWorker(wf, double.run, { concurrency: 2 });
    const started = await wf.start('acme', 'orders-ok', 'ok-1', { id: 1, total: 2 });
    const execution = await ended(wf, 'acme', started.executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.output).toMatchObject({ saved: { version: 1 }, notified: { sent: true } });
    expect(double.calls.map((c) => c.resource)).toEqual(['agent-mesh:kv_set', 'mcp:x/y']);

    await wf.deploy('acme', 'orders-zero', ORDER_FLOW);
    const zero = recordingRunnerDouble(async () => ({ version: 0 }));
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    startWorker(wf, zero.run);
    const failed = await ended(wf, 'acme', (await wf.start('acme', 'orders-zero', 'zero-1', { id: 2, total: 0 })).executionArn);
    expect(failed).toMatchObject({ status: 'FAILED', error: 'NotSaved' });
  });

  it('reports errors that are not MeshErrors as agent-mesh.internal without their message', async () => {
    const wf = workflows();
    await wf.ensureActivity();
    await wf.deploy('acme', 'internal', { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:kv_get', End: true } } });
    startWorker(wf, recordingRunnerDouble(async () => {
      throw new Error('secret detail: connection string');
    }).run);
    const execution = await ended(wf, 'acme', (await wf.start('acme', 'internal', 'i-1', {})).executionArn);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'agent-mesh.internal', cause: 'internal error' });
  });

  it('stop aborts an execution waiting on a task, and the heartbeat aborts the running callback', async () => {
    const wf = workflows();
    await wf.ensureActivity();
    await wf.deploy('acme', 'slow', { StartAt: 'Wait', States: { Wait: { Type: 'Task', Resource: 'agent-mesh:slow_tool', HeartbeatSeconds: 3600, End: true } } });
    let aborted = false;
    const double = recordingRunnerDouble(
      (_call, _attempt, signal) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new MeshError('timeout', 'aborted'));
          }),
        ),
    );
    startWorker(wf, double.run, { heartbeatIntervalMs: 50 });
    const started = await wf.start('acme', 'slow', 'slow-1', { n: 1 });
    await until(() => double.calls.length === 1);
    expect((await wf.describe('acme', started.executionArn)).status).toBe('RUNNING');

    const stopped = await wf.stop('acme', started.executionArn, 'Cancelled', 'stopped by the test');
    expect(stopped.stoppedAt).toBeGreaterThan(0);
    const execution = await wf.describe('acme', started.executionArn);
    expect(execution).toMatchObject({ status: 'ABORTED', error: 'Cancelled', cause: 'stopped by the test' });
    expect(execution.stoppedAt).not.toBeNull();
    await until(() => aborted);
    const history = await wf.history('acme', started.executionArn);
    expect(history.at(-1)).toMatchObject({ type: 'ExecutionAborted', executionAbortedEventDetails: { error: 'Cancelled', cause: 'stopped by the test' } });
    expect(history.some((e) => e.type === 'ActivityFailed' || e.type === 'ActivitySucceeded')).toBe(false);
    expect(await wf.list('acme', 'slow', 'ABORTED')).toEqual([expect.objectContaining({ name: 'slow-1', status: 'ABORTED' })]);
    expect(await wf.list('acme', 'slow', 'RUNNING')).toEqual([]);
  });

  it('gives two tenants state machines that never collide, and keeps each tenant to its own executions', async () => {
    const wf = workflows();
    await wf.ensureActivity();
    const pairs: [string, string][] = [
      ['a-b', 'c'],
      ['a', 'b-c'],
      ['a_b', 'c'],
      ['a.b', 'c'],
      ['t'.repeat(64), 'w'.repeat(64)],
      [`${'t'.repeat(63)}u`, 'w'.repeat(64)],
    ];
    const arns = new Set<string>();
    for (const [tenant, workflow] of pairs) arns.add((await wf.deploy(tenant, workflow, { StartAt: 'P', States: { P: { Type: 'Pass', Result: { tenant }, End: true } } })).stateMachineArn);
    expect(arns.size).toBe(pairs.length);
    const listed = await fake.client().send(new ListStateMachinesCommand({}));
    for (const arn of arns) expect(listed.stateMachines?.map((m) => m.stateMachineArn)).toContain(arn);

    const first = await wf.start('a-b', 'c', 'same-name', {});
    const second = await wf.start('a', 'b-c', 'same-name', {});
    expect(first.executionArn).not.toBe(second.executionArn);
    expect((await ended(wf, 'a-b', first.executionArn)).output).toEqual({ tenant: 'a-b' });
    expect((await ended(wf, 'a', second.executionArn)).output).toEqual({ tenant: 'a' });
    expect((await wf.list('a-b', 'c')).map((e) => e.executionArn)).toEqual([first.executionArn]);

    // Another tenant's execution ARN is not found, before any request reaches Step Functions.
    const before = fake.calls.length;
    for (const call of [wf.describe('a', first.executionArn), wf.history('a', first.executionArn), wf.stop('a', first.executionArn), wf.describe('a-b', 'arn:aws:states:us-east-1:1:execution:x:y')]) {
      expect((await meshError(call)).code).toBe('not_found');
    }
    expect(fake.calls.length).toBe(before);
  });

  it('refuses a definition that names the shared activity (a forged tenant) before creating anything', async () => {
    const wf = workflows();
    await wf.ensureActivity();
    const before = fake.calls.length;
    const forged = { StartAt: 'Forge', States: { Forge: { Type: 'Task', Resource: wf.activityArn, Parameters: { resource: 'agent-mesh:kv_get', tenant: 'victim', input: {} }, End: true } } };
    const error = await meshError(wf.deploy('mallory', 'forge', forged));
    expect(error.code).toBe('invalid_argument');
    expect(error.details.field).toBe('definition');
    const lambda = { StartAt: 'L', States: { L: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true } } };
    expect((await meshError(wf.deploy('mallory', 'lambda', lambda))).code).toBe('invalid_argument');
    expect(fake.calls.slice(before).map((c) => c.operation)).toEqual([]);
  });

  it('updates on redeploy, starts idempotently and maps Step Functions errors to MeshErrors', async () => {
    const wf = workflows();
    await wf.ensureActivity();
    const v1 = { StartAt: 'P', States: { P: { Type: 'Pass', Result: 1, End: true } } };
    expect((await wf.deploy('acme', 'versions', v1)).created).toBe(true);
    expect((await wf.deploy('acme', 'versions', { StartAt: 'P', States: { P: { Type: 'Pass', Result: 2, End: true } } })).created).toBe(false);
    const started = await wf.start('acme', 'versions', 'v-1', { a: 1 });
    expect((await ended(wf, 'acme', started.executionArn)).output).toBe(2);

    // Same name and input: the same execution, even after it ended; other input: conflict.
    const again = await wf.start('acme', 'versions', 'v-1', { a: 1 });
    expect(again).toMatchObject({ executionArn: started.executionArn, created: false });
    expect((await meshError(wf.start('acme', 'versions', 'v-1', { a: 2 }))).code).toBe('conflict');

    expect((await meshError(wf.start('acme', 'missing', 'm-1', {}))).code).toBe('not_found');
    expect((await meshError(wf.list('acme', 'missing'))).code).toBe('not_found');
    expect((await meshError(wf.describe('acme', wf.executionArn('acme', 'versions', 'nope')))).code).toBe('not_found');
    expect((await meshError(wf.start('acme', 'versions', 'bad name!', {}))).details.field).toBe('execution_name');

    const invalid = await meshError(wf.deploy('acme', 'broken', { StartAt: 'Nowhere', States: { P: { Type: 'Pass', End: true } } }));
    expect(invalid.code).toBe('invalid_argument');
    expect(invalid.details.field).toBe('definition');

    fake.failNext(1, { operation: 'DescribeExecution', type: 'ThrottlingException', status: 400 });
    expect((await meshError(wf.describe('acme', started.executionArn))).code).toBe('unavailable');
    fake.failNext(1, { operation: 'DescribeExecution' });
    expect((await meshError(wf.describe('acme', started.executionArn))).code).toBe('unavailable');
    expect((await wf.describe('acme', started.executionArn)).status).toBe('SUCCEEDED');
  });

  it('reads the history after a cursor newest first, across pages, and returns it in order', async () => {
    const wf = workflows();
    await wf.ensureActivity();
    // A Map of 60 Pass iterations: far more events than one page of the fake's history (100).
    const definition = { StartAt: 'Each', States: { Each: { Type: 'Map', ItemsPath: '$.items', Iterator: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }, End: true } } };
    await wf.deploy('acme', 'many', definition);
    const { executionArn } = await wf.start('acme', 'many', 'run-1', { items: Array.from({ length: 60 }, (_, i) => i) });
    expect((await ended(wf, 'acme', executionArn)).status).toBe('SUCCEEDED');
    const all = await wf.history('acme', executionArn);
    expect(all.length).toBeGreaterThan(150);
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    for (const cursor of [1, 37, 100, 101, all.length - 1, all.length]) {
      const after = await wf.history('acme', executionArn, cursor);
      expect(after.map((e) => e.id)).toEqual(all.slice(cursor).map((e) => e.id));
    }
  });

  it('keeps polling through network errors and stops cleanly', async () => {
    const wf = workflows();
    await wf.ensureActivity();
    await wf.deploy('acme', 'resilient', { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'agent-mesh:echo', End: true } } });
    fake.failNext(3, { operation: 'GetActivityTask' });
    const double = recordingRunnerDouble(async (call) => ({ echoed: call.input }));
    const worker = startWorker(wf, double.run, { concurrency: 1 });
    const started = await wf.start('acme', 'resilient', 'r-1', { hello: 'world' });
    const execution = await ended(wf, 'acme', started.executionArn);
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: { echoed: { hello: 'world' } } });

    await worker.stop();
    // A poll aborted as it was sent may still reach the fake a moment later; after that, none follow.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const polls = fake.calls.filter((c) => c.operation === 'GetActivityTask').length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(fake.calls.filter((c) => c.operation === 'GetActivityTask').length).toBe(polls);
  });
});
