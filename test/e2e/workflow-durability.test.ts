import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, structured, tempDataDir, writeConfig, type ServerHandle } from '../helpers/server-process.js';
import { executionEnd } from '../helpers/workflows.js';

const UNLIMITED = { capacity: 1_000_000, refillPerSecond: 1_000_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


describe('durable workflows across kill -9 and several processes', () => {
  const data = tempDataDir();
  const config = writeConfig(data.dir, { defaults: { rateLimits: { dynamodb: UNLIMITED, stepfunctions: UNLIMITED, eventbridge: UNLIMITED } } });
  const env = { AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config };
  afterAll(() => data.cleanup());

  it('resumes after kill -9 mid-Wait, keeping the Wait\'s deadline, and finishes once', async () => {
    let server = await startServer(env);
    await server.call('workflow_create', {
      name: 'waiter',
      definition: {
        StartAt: 'Wait',
        States: {
          Wait: { Type: 'Wait', Seconds: 3, Next: 'Mark' },
          Mark: { Type: 'Task', Resource: 'agent-mesh:kv_set', Parameters: { key: 'waiter/done', 'value.$': '$$.Execution.Name' }, End: true },
        },
      },
    });
    const started = Date.now();
    const run = structured(await server.call('workflow_start', { name: 'waiter', execution_name: 'w1' }));
    await sleep(800);
    process.kill(server.pid, 'SIGKILL');
    await server.close().catch(() => {});
    server = await startServer(env);
    try {
      const done = await executionEnd(server, run.execution_id as string);
      expect(done.status).toBe('SUCCEEDED');
      const endedAfter = Date.parse(done.stopped_at!) - started;
      expect(endedAfter).toBeGreaterThanOrEqual(3000); // the deadline held…
      expect(endedAfter).toBeLessThan(6000); // …and did not restart at the restart
      const history = structured(await server.call('workflow_status', { execution_id: run.execution_id })).history as { type: string }[];
      expect(history.filter((e) => e.type === 'WaitStarted')).toHaveLength(1);
      expect(history.filter((e) => e.type === 'ExecutionSucceeded')).toHaveLength(1);
      expect(structured(await server.call('kv_get', { key: 'waiter/done' })).value).toBe('w1');
    } finally {
      await server.close();
    }
  });

  it('runs a Task that was in flight at kill -9 again (at-least-once) and finishes once', async () => {
    let server = await startServer(env);
    await server.call('workflow_create', { name: 'child', definition: { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 2, Next: 'P' }, P: { Type: 'Pass', Result: 'child done', End: true } } } });
    await server.call('workflow_create', {
      name: 'parent',
      definition: {
        StartAt: 'RunChild',
        States: {
          // The task starts (or, run again, re-attaches to) the named child and waits for it.
          RunChild: { Type: 'Task', Resource: 'agent-mesh:workflow_start', Parameters: { name: 'child', execution_name: 'the-child', wait_seconds: 30 }, ResultSelector: { 'out.$': '$.output' }, End: true },
        },
      },
    });
    const run = structured(await server.call('workflow_start', { name: 'parent' }));
    await sleep(700); // the task is now waiting on the child
    process.kill(server.pid, 'SIGKILL');
    await server.close().catch(() => {});
    server = await startServer(env);
    try {
      const done = await executionEnd(server, run.execution_id as string);
      expect(done).toMatchObject({ status: 'SUCCEEDED', output: { out: 'child done' } });
      const history = structured(await server.call('workflow_status', { execution_id: run.execution_id })).history as { type: string }[];
      expect(history.filter((e) => e.type === 'TaskScheduled').length).toBeGreaterThanOrEqual(1);
      expect(history.filter((e) => e.type === 'ExecutionSucceeded')).toHaveLength(1);
      const children = structured(await server.call('workflow_list', { name: 'child' })).executions as unknown[];
      expect(children).toHaveLength(1); // the re-run task found the same child
    } finally {
      await server.close();
    }
  });

  it('ends an execution left RUNNING over a finished snapshot (as an oversize input once left one)', async () => {
    let server = await startServer(env);
    await server.call('workflow_create', { name: 'stuck', definition: { StartAt: 'Wait', States: { Wait: { Type: 'Wait', Seconds: 600, End: true } } } });
    const run = structured(await server.call('workflow_start', { name: 'stuck', execution_name: 's1' }));
    await server.close();
    // What an older agent-mesh stored: the snapshot failed at start, the execution row still RUNNING.
    const db = new Database(join(data.dir, 'agent-mesh.db'));
    const row = db.prepare('SELECT snapshot FROM execution_checkpoints WHERE id = ?').get(run.execution_id) as { snapshot: string };
    const failed = { ...JSON.parse(row.snapshot), status: 'FAILED', error: 'States.DataLimitExceeded', cause: 'the execution input was too large' };
    db.prepare('UPDATE execution_checkpoints SET snapshot = ? WHERE id = ?').run(JSON.stringify(failed), run.execution_id);
    db.close();
    server = await startServer(env);
    try {
      const done = await executionEnd(server, run.execution_id as string);
      expect(done).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded', cause: 'the execution input was too large' });
    } finally {
      await server.close();
    }
  });

  it('never runs an execution in two processes at once', async () => {
    const servers = await Promise.all([startServer(env), startServer(env)]);
    try {
      const [a, b] = servers as [ServerHandle, ServerHandle];
      await a.call('kv_set', { key: 'counter', value: 0 });
      await a.call('workflow_create', {
        name: 'increment',
        definition: {
          StartAt: 'Read',
          States: {
            Read: { Type: 'Task', Resource: 'agent-mesh:kv_get', Parameters: { key: 'counter' }, ResultSelector: { 'value.$': '$.value', 'version.$': '$.version' }, ResultPath: '$.current', Next: 'Write' },
            Write: {
              Type: 'Task',
              Resource: 'agent-mesh:kv_set',
              Parameters: { key: 'counter', 'value.$': 'States.MathAdd($.current.value, 1)', 'if_version.$': '$.current.version' },
              Catch: [{ ErrorEquals: ['agent-mesh.conflict'], ResultPath: null, Next: 'Read' }],
              End: true,
            },
          },
        },
      });
      const runs = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).call('workflow_start', { name: 'increment' })));
      const ids = runs.map((run) => structured(run).execution_id as string);
      const results = await Promise.all(ids.map((id) => executionEnd(a, id)));
      expect(results.every((r) => r.status === 'SUCCEEDED')).toBe(true);
      expect(structured(await b.call('kv_get', { key: 'counter' })).value).toBe(12);
      for (const id of ids) {
        const history = structured(await a.call('workflow_status', { execution_id: id })).history as { type: string }[];
        expect(history.filter((e) => e.type === 'ExecutionSucceeded')).toHaveLength(1);
      }
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });
});
