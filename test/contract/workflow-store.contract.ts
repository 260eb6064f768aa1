import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import type { ExecutionRecord, HistoryEvent, WorkflowStore } from '../../src/ports/workflow-store.js';
import type { TenantSession } from '../../src/tenancy/session.js';
import { testSession } from '../helpers/sessions.js';
import { contractCases } from '../helpers/contract-cases.js';
import { T0, runningExecution } from '../helpers/execution-records.js';

export interface WorkflowStoreFixture {
  store: WorkflowStore;
  /** Another driver instance on the same storage: a second server process. */
  other(): WorkflowStore;
  close(): Promise<void>;
}

const LEASE = 10_000;
const alive = () => true;

const execution = runningExecution;

const events = (...types: string[]): Omit<HistoryEvent, 'seq'>[] => types.map((type, i) => ({ at: T0 + i, type, state: i % 2 ? null : 'Start', detail: i % 2 ? null : { n: i } }));

const finished = (record: ExecutionRecord, status: ExecutionRecord['status'] = 'SUCCEEDED'): ExecutionRecord => ({
  ...record,
  status,
  snapshot: JSON.stringify({ step: 'end' }),
  currentState: null,
  output: status === 'SUCCEEDED' ? '"done"' : null,
  error: status === 'SUCCEEDED' ? null : 'States.Failed',
  cause: status === 'SUCCEEDED' ? null : 'it broke',
  stoppedAt: T0 + 5_000,
});

/** One suite for every WorkflowStore driver. */
export function describeWorkflowStoreContract(driver: string, open: () => Promise<WorkflowStoreFixture>): void {
  const run = contractCases(open, 30_000);

  describe(`WorkflowStore contract: ${driver}`, () => {
    run('numbers the versions of each workflow and reads the latest or a given one', async ({ store }, a, b) => {
      expect(await store.putWorkflow(a, 'wf', '{"v":1}', 'first', T0)).toBe(1);
      expect(await store.putWorkflow(a, 'wf', '{"v":2}', '', T0 + 1)).toBe(2);
      expect(await store.putWorkflow(b, 'wf', '{"b":1}', 'theirs', T0 + 2)).toBe(1);
      expect(await store.getWorkflow(a, 'wf')).toEqual({ name: 'wf', version: 2, definition: '{"v":2}', description: '', createdAt: T0 + 1 });
      expect(await store.getWorkflow(a, 'wf', 1)).toEqual({ name: 'wf', version: 1, definition: '{"v":1}', description: 'first', createdAt: T0 });
      expect(await store.getWorkflow(a, 'wf', 3)).toBeUndefined();
      expect(await store.getWorkflow(a, 'missing')).toBeUndefined();
      expect((await store.getWorkflow(b, 'wf'))?.definition).toBe('{"b":1}');
      expect(await store.getWorkflow(testSession('tenant-c'), 'wf')).toBeUndefined();
    });

    run('lists the latest version of every workflow by name, also with many versions and shared prefixes', async ({ store }, a, b) => {
      for (let v = 1; v <= 23; v++) await store.putWorkflow(a, 'many', `{"v":${v}}`, `v${v}`, T0 + v);
      for (const name of ['w', 'wf-2', 'wf', 'wf-2', 'z', 'a.b', 'wf']) await store.putWorkflow(a, name, `{"name":"${name}"}`, '', T0);
      await store.putWorkflow(b, 'hidden', '{}', '', T0);
      const listed = await store.listWorkflows(a);
      expect(listed.map((w) => [w.name, w.version])).toEqual([
        ['a.b', 1],
        ['many', 23],
        ['w', 1],
        ['wf', 2],
        ['wf-2', 2],
        ['z', 1],
      ]);
      expect(listed[1]).toMatchObject({ definition: '{"v":23}', description: 'v23', createdAt: T0 + 23 });
      expect(await store.listWorkflows(testSession('tenant-c'))).toEqual([]);
    });

    run('gives concurrent writers of one workflow distinct versions, across processes', async (fixture, a) => {
      const other = fixture.other();
      const versions = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : fixture.store).putWorkflow(a, 'wf', `{"i":${i}}`, '', T0)));
      expect([...versions].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
      expect((await fixture.store.getWorkflow(a, 'wf'))?.version).toBe(6);
    });

    run('stores a definition of 1 MB (the service limit)', async ({ store }, a) => {
      const states = Object.fromEntries(Array.from({ length: 12_000 }, (_, i) => [`State${i}`, { Type: 'Pass', Result: { index: i, label: `step number ${i}` }, Next: `State${i + 1}` }]));
      const definition = JSON.stringify({ StartAt: 'State0', States: states }).slice(0, 1024 * 1024);
      expect(Buffer.byteLength(definition)).toBeGreaterThan(900_000);
      await store.putWorkflow(a, 'big', definition, '', T0);
      expect((await store.getWorkflow(a, 'big'))?.definition).toBe(definition);
      expect((await store.listWorkflows(a))[0]?.definition).toBe(definition);
    });

    run('creates an execution once per workflow and name, and keeps tenants apart', async ({ store }, a, b) => {
      const first = execution(a, { name: 'nightly', snapshot: '{"input":1}' });
      expect(await store.createExecution(a, first, events('ExecutionStarted'))).toEqual({ execution: first, created: true });
      const again = await store.createExecution(a, execution(a, { name: 'nightly', snapshot: '{"input":2}' }), events('ExecutionStarted'));
      expect(again.created).toBe(false);
      expect(again.execution).toMatchObject({ id: first.id, snapshot: '{"input":1}' });
      expect((await store.createExecution(a, execution(a, { name: 'nightly', workflow: 'other' }), [])).created).toBe(true);
      expect((await store.createExecution(b, execution(b, { name: 'nightly' }), [])).created).toBe(true);

      expect(await store.getExecution(a, first.id)).toEqual(first);
      expect(await store.getExecution(b, first.id)).toBeUndefined();
      expect(await store.getExecution(a, randomUUID())).toBeUndefined();
    });

    run('lets exactly one of concurrent creators of a name win, across processes', async (fixture, a) => {
      const other = fixture.other();
      const attempts = Array.from({ length: 5 }, () => execution(a, { name: 'same' }));
      const results = await Promise.all(attempts.map((record, i) => (i % 2 ? other : fixture.store).createExecution(a, record, events('ExecutionStarted'))));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.execution.id;
      expect(results.map((r) => r.execution.id)).toEqual(Array(5).fill(winner));
      expect(await fixture.store.listExecutions(a, { limit: 10 })).toHaveLength(1);
      expect((await fixture.store.history(a, winner)).map((e) => e.seq)).toEqual([1]);
    });

    run('refuses a new execution past maxConcurrentExecutions, but still returns an existing one', async ({ store }, _a, b) => {
      const limited = testSession('tenant-a', { limits: { maxConcurrentExecutions: 2 } });
      const first = execution(limited, { name: 'one' });
      await store.createExecution(limited, first, []);
      await store.createExecution(limited, execution(limited, { name: 'two' }), []);
      const refused = execution(limited, { name: 'three' });
      await expect(store.createExecution(limited, refused, [])).rejects.toMatchObject({
        code: 'quota_exceeded',
        details: { limit: 'maxConcurrentExecutions', limit_value: 2 },
        message: expect.stringContaining('2 running executions'),
      });
      expect(await store.getExecution(limited, refused.id)).toBeUndefined();
      expect(await store.createExecution(limited, execution(limited, { name: 'one' }), [])).toMatchObject({ created: false, execution: { id: first.id } });
      expect((await store.createExecution(b, execution(b, { name: 'three' }), [])).created).toBe(true);
      const none = testSession('tenant-c', { limits: { maxConcurrentExecutions: 0 } });
      await expect(store.createExecution(none, execution(none), [])).rejects.toMatchObject({ code: 'quota_exceeded' });
    });

    run('lists executions newest first, filtered by workflow and status, in pages', async ({ store }, a, b) => {
      const base = randomUUID().slice(0, 30);
      const ids = ['0a', '0b', '0c', '0d', '0e'].map((suffix) => `${base}${suffix}`);
      const made = [
        execution(a, { id: ids[0], workflow: 'alpha', startedAt: T0 + 1000 }),
        execution(a, { id: ids[1], workflow: 'beta', startedAt: T0 + 2000 }),
        execution(a, { id: ids[2], workflow: 'alpha', startedAt: T0 + 3000 }),
        execution(a, { id: ids[3], workflow: 'alpha', startedAt: T0 + 3000 }),
        execution(a, { id: ids[4], workflow: 'beta', startedAt: T0 + 4000 }),
      ];
      for (const record of made) await store.createExecution(a, record, []);
      await store.createExecution(b, execution(b, { startedAt: T0 + 5000 }), []);
      const claimed = (await store.claimExecutions('owner', T0, T0 + LEASE, 10, alive)).find((r) => r.id === ids[2]);
      expect(await store.checkpoint('owner', finished(claimed!), events('ExecutionSucceeded'))).toBe(true);
      const done = ids[2];

      const newestFirst = [made[4], made[3], made[2], made[1], made[0]].map((r) => r!.id);
      expect((await store.listExecutions(a, { limit: 10 })).map((r) => r.id)).toEqual(newestFirst);
      expect((await store.listExecutions(a, { workflow: 'alpha', limit: 10 })).map((r) => r.id)).toEqual([ids[3], ids[2], ids[0]]);
      expect((await store.listExecutions(a, { status: 'SUCCEEDED', limit: 10 })).map((r) => r.id)).toEqual([done]);
      expect((await store.listExecutions(a, { status: 'RUNNING', limit: 10 })).map((r) => r.id)).toEqual(newestFirst.filter((id) => id !== done));
      expect((await store.listExecutions(a, { status: 'FAILED', limit: 10 }))).toEqual([]);
      expect(await store.listExecutions(a, { workflow: 'gamma', limit: 10 })).toEqual([]);

      const listed = await store.listExecutions(a, { limit: 10 });
      expect(listed.find((r) => r.id === done)).toMatchObject({ status: 'SUCCEEDED', output: '"done"', stoppedAt: T0 + 5_000 });

      const pages: string[][] = [];
      let before: { startedAt: number; id: string } | undefined;
      for (let round = 0; round < 10; round++) {
        const page = await store.listExecutions(a, { limit: 2, ...(before && { before }) });
        if (page.length === 0) break;
        pages.push(page.map((r) => r.id));
        const last = page[page.length - 1]!;
        before = { startedAt: last.startedAt, id: last.id };
      }
      expect(pages).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)]);
      expect(
        (await store.listExecutions(a, { workflow: 'alpha', limit: 5, before: { startedAt: T0 + 3000, id: ids[3]! } })).map((r) => r.id),
      ).toEqual([ids[2], ids[0]]);
    });

    run('numbers history events and reads them after a given seq', async ({ store }, a, b) => {
      const record = execution(a);
      await store.createExecution(a, record, events('ExecutionStarted', 'PassStateEntered'));
      expect(await store.history(a, record.id)).toEqual([
        { seq: 1, at: T0, type: 'ExecutionStarted', state: 'Start', detail: { n: 0 } },
        { seq: 2, at: T0 + 1, type: 'PassStateEntered', state: null, detail: null },
      ]);
      const [claimed] = await store.claimExecutions('owner', T0, T0 + LEASE, 1, alive);
      expect(await store.checkpoint('owner', { ...claimed!, snapshot: '{"step":1}', currentState: 'Next' }, events('A', 'B', 'C'))).toBe(true);
      expect((await store.history(a, record.id)).map((e) => [e.seq, e.type])).toEqual([
        [1, 'ExecutionStarted'],
        [2, 'PassStateEntered'],
        [3, 'A'],
        [4, 'B'],
        [5, 'C'],
      ]);
      expect((await store.history(a, record.id, 3)).map((e) => e.seq)).toEqual([4, 5]);
      expect(await store.history(a, record.id, 5)).toEqual([]);
      expect(await store.history(b, record.id)).toEqual([]);
      expect(await store.getExecution(a, record.id)).toMatchObject({ snapshot: '{"step":1}', currentState: 'Next', status: 'RUNNING' });
    });

    run('records a cancel request on a running execution of the tenant only', async ({ store }, a, b) => {
      const record = execution(a);
      await store.createExecution(a, record, []);
      expect(await store.requestAbort(b, record.id)).toBe(false);
      expect((await store.getExecution(a, record.id))?.abortRequested).toBe(false);
      expect(await store.requestAbort(a, randomUUID())).toBe(false);
      expect(await store.requestAbort(a, record.id)).toBe(true);
      expect((await store.getExecution(a, record.id))?.abortRequested).toBe(true);

      const [claimed] = await store.claimExecutions('owner', T0, T0 + LEASE, 1, alive);
      expect(claimed?.abortRequested).toBe(true);
      // A checkpoint from a record read before the request does not undo it.
      await store.checkpoint('owner', { ...claimed!, abortRequested: false }, []);
      expect((await store.getExecution(a, record.id))?.abortRequested).toBe(true);
      await store.checkpoint('owner', finished(claimed!, 'ABORTED'), events('ExecutionAborted'));
      expect(await store.requestAbort(a, record.id)).toBe(false);
    });

    run('never lets two owners claim the same execution, also in two processes', async (fixture, a, b) => {
      const other = fixture.other();
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const session = i % 2 ? a : b;
        const record = execution(session);
        ids.push(record.id);
        await fixture.store.createExecution(session, record, []);
      }
      const [first, second] = await Promise.all([
        fixture.store.claimExecutions('owner-1', T0, T0 + LEASE, 20, alive),
        other.claimExecutions('owner-2', T0, T0 + LEASE, 20, alive),
      ]);
      const one = first!.map((r) => r.id);
      const two = second!.map((r) => r.id);
      expect(one.filter((id) => two.includes(id))).toEqual([]);
      expect([...one, ...two].sort()).toEqual([...ids].sort());
      expect(await fixture.store.claimExecutions('owner-3', T0 + LEASE - 1, T0 + 2 * LEASE, 20, alive)).toEqual([]);
      const tenants = new Set([...first!, ...second!].map((r) => r.tenantId));
      expect(tenants).toEqual(new Set(['tenant-a', 'tenant-b']));
    });

    run('claims at most `limit` executions', async ({ store }, a) => {
      for (let i = 0; i < 5; i++) await store.createExecution(a, execution(a), []);
      expect(await store.claimExecutions('owner-1', T0, T0 + LEASE, 2, alive)).toHaveLength(2);
      expect(await store.claimExecutions('owner-2', T0, T0 + LEASE, 10, alive)).toHaveLength(3);
    });

    run('reclaims an expired lease and fences the owner that lost it', async (fixture, a) => {
      const { store } = fixture;
      const record = execution(a);
      await store.createExecution(a, record, events('ExecutionStarted'));
      const [claimed] = await store.claimExecutions('old', T0, T0 + 1000, 5, alive);
      expect(claimed).toMatchObject({ id: record.id, status: 'RUNNING', snapshot: record.snapshot });
      expect(await store.claimExecutions('new', T0 + 999, T0 + 5000, 5, alive)).toEqual([]);
      expect((await store.claimExecutions('new', T0 + 1000, T0 + 5000, 5, alive)).map((r) => r.id)).toEqual([record.id]);

      expect(await store.renewLease('old', record.id, T0 + 9000)).toBe(false);
      expect(await store.checkpoint('old', { ...claimed!, snapshot: '{"stale":true}', currentState: 'Stale' }, events('Stale'))).toBe(false);
      expect(await store.checkpoint('old', finished(claimed!), events('StaleEnd'))).toBe(false);
      await store.releaseLease('old', record.id);
      expect(await store.getExecution(a, record.id)).toEqual(record);
      expect((await store.history(a, record.id)).map((e) => e.type)).toEqual(['ExecutionStarted']);
      // The new holder's lease survived the stale release.
      expect(await store.claimExecutions('third', T0 + 1001, T0 + 9000, 5, alive)).toEqual([]);

      expect(await store.renewLease('new', record.id, T0 + 20_000)).toBe(true);
      expect(await store.claimExecutions('third', T0 + 19_999, T0 + 30_000, 5, alive)).toEqual([]);
      expect(await store.checkpoint('new', { ...claimed!, snapshot: '{"step":1}' }, events('Moved'))).toBe(true);
      expect((await fixture.other().renewLease('new', record.id, T0 + 25_000))).toBe(true);
      expect(await fixture.other().checkpoint('new', { ...claimed!, snapshot: '{"step":2}' }, events('MovedAgain'))).toBe(true);
      expect((await store.getExecution(a, record.id))?.snapshot).toBe('{"step":2}');
      expect((await store.history(a, record.id)).map((e) => [e.seq, e.type])).toEqual([
        [1, 'ExecutionStarted'],
        [2, 'Moved'],
        [3, 'MovedAgain'],
      ]);
    });

    run('writes nothing for an owner that never held the lease', async ({ store }, a) => {
      const record = execution(a);
      await store.createExecution(a, record, []);
      expect(await store.checkpoint('stranger', finished(record), events('ExecutionSucceeded'))).toBe(false);
      expect(await store.renewLease('stranger', record.id, T0 + LEASE)).toBe(false);
      expect(await store.getExecution(a, record.id)).toEqual(record);
      expect(await store.history(a, record.id)).toEqual([]);
      expect(await store.renewLease('stranger', randomUUID(), T0 + LEASE)).toBe(false);
    });

    run('frees at once a lease whose holder is dead, and only then', async (fixture, a) => {
      const record = execution(a);
      await fixture.store.createExecution(a, record, []);
      await fixture.store.claimExecutions('crashed', T0, T0 + LEASE, 5, alive);
      expect(await fixture.store.claimExecutions('survivor', T0 + 1, T0 + LEASE, 5, alive)).toEqual([]);
      const asked: string[] = [];
      const isAlive = (owner: string) => (asked.push(owner), owner !== 'crashed');
      const claimed = await fixture.other().claimExecutions('survivor', T0 + 2, T0 + LEASE, 5, isAlive);
      expect(claimed.map((r) => r.id)).toEqual([record.id]);
      expect(asked).toContain('crashed');
      expect(asked).not.toContain('survivor');
      expect(await fixture.store.checkpoint('crashed', finished(record), [])).toBe(false);
      expect(await fixture.store.renewLease('survivor', record.id, T0 + 2 * LEASE)).toBe(true);
    });

    run('frees a released lease at once', async ({ store }, a) => {
      const record = execution(a);
      await store.createExecution(a, record, []);
      await store.claimExecutions('first', T0, T0 + LEASE, 5, alive);
      await store.releaseLease('first', record.id);
      expect(await store.renewLease('first', record.id, T0 + LEASE)).toBe(false);
      expect((await store.claimExecutions('second', T0 + 1, T0 + LEASE, 5, alive)).map((r) => r.id)).toEqual([record.id]);
    });

    run('ends an execution with a terminal checkpoint: frees its slot and stops claims', async (fixture, _a, b) => {
      const { store } = fixture;
      const limited = testSession('tenant-a', { limits: { maxConcurrentExecutions: 1 } });
      const first = execution(limited, { name: 'first' });
      await store.createExecution(limited, first, events('ExecutionStarted'));
      await expect(store.createExecution(limited, execution(limited, { name: 'second' }), [])).rejects.toMatchObject({ code: 'quota_exceeded' });
      const [claimed] = await store.claimExecutions('owner', T0, T0 + LEASE, 5, alive);
      const failed = finished(claimed!, 'FAILED');
      expect(await store.checkpoint('owner', failed, events('ExecutionFailed'))).toBe(true);
      expect(await store.getExecution(limited, first.id)).toEqual(failed);
      expect((await store.history(limited, first.id)).map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionFailed']);
      expect(await store.renewLease('owner', first.id, T0 + 2 * LEASE)).toBe(false);
      await store.releaseLease('owner', first.id);

      const second = execution(limited, { name: 'second' });
      expect((await store.createExecution(limited, second, [])).created).toBe(true);
      await expect(store.createExecution(limited, execution(limited, { name: 'third' }), [])).rejects.toMatchObject({ code: 'quota_exceeded' });
      const later = await fixture.other().claimExecutions('later', T0 + 100 * LEASE, T0 + 101 * LEASE, 10, () => false);
      expect(later.map((r) => r.id)).toEqual([second.id]);
      expect(await store.getExecution(limited, first.id)).toEqual(failed);
      await store.createExecution(b, execution(b), []);
    });

    run('keeps who started an execution, through reads, listings, claims, checkpoints and other processes', async (fixture, a) => {
      const { store } = fixture;
      const startedBy = { userId: 'wf-user', permissions: ['workflow:*' as const, 'kv:read' as const] };
      const record = execution(a, { name: 'started', startedBy });
      expect((await store.createExecution(a, record, events('ExecutionStarted'))).execution).toEqual(record);
      expect((await store.createExecution(a, execution(a, { name: 'started' }), [])).execution.startedBy).toEqual(startedBy);
      expect((await store.getExecution(a, record.id))?.startedBy).toEqual(startedBy);
      expect((await fixture.other().getExecution(a, record.id))?.startedBy).toEqual(startedBy);
      expect((await store.findExecution(a, 'wf', 'started'))?.startedBy).toEqual(startedBy);
      expect(await store.findExecution(a, 'wf', 'missing')).toBeUndefined();
      expect(await store.findExecution(testSession('tenant-c'), 'wf', 'started')).toBeUndefined();
      expect((await store.listExecutions(a, { limit: 10 })).find((r) => r.id === record.id)?.startedBy).toEqual(startedBy);
      const [claimed] = await store.claimExecutions('owner', T0, T0 + LEASE, 5, alive);
      expect(claimed?.startedBy).toEqual(startedBy);
      expect(await store.checkpoint('owner', finished(claimed!), events('ExecutionSucceeded'))).toBe(true);
      expect((await store.getExecution(a, record.id))?.startedBy).toEqual(startedBy);

      // One without a starter (stored before starters were recorded) reads back without one.
      const legacy = execution(a, { name: 'legacy' });
      await store.createExecution(a, legacy, []);
      const read = await store.getExecution(a, legacy.id);
      expect(read).toEqual(legacy);
      expect(read && 'startedBy' in read).toBe(false);
    });
  });
}
