import { randomBytes, randomUUID } from 'node:crypto';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditStore } from '../../src/drivers/aws/dynamo-audit-store.js';
import { DynamoWorkflowStore } from '../../src/drivers/aws/dynamo-workflow-store.js';
import type { ExecutionRecord } from '../../src/ports/workflow-store.js';
import type { TenantSession } from '../../src/tenancy/session.js';
import { useDynalite } from '../helpers/aws-emulators.js';
import { testSession } from '../helpers/sessions.js';
import { describeAuditStoreContract } from './audit-store.contract.js';
import { describeWorkflowStoreContract } from './workflow-store.contract.js';
import { T0, runningExecution } from '../helpers/execution-records.js';

const RETENTION_MS = 60 * 60 * 1000;

const dynalite = useDynalite();
let client: DynamoDBDocumentClient;
beforeAll(() => void (client = dynalite.client));

const freshTable = (): Promise<string> => dynalite.table();

function clock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
}

describeWorkflowStoreContract('dynamodb', async () => {
  const table = await freshTable();
  return { store: new DynamoWorkflowStore(client, table), other: () => new DynamoWorkflowStore(client, table), close: async () => {} };
});

describeAuditStoreContract('dynamodb', async () => {
  const table = await freshTable();
  const { now } = clock();
  return { store: new DynamoAuditStore(client, table, { retentionMs: RETENTION_MS, now }), now, retentionMs: RETENTION_MS, close: async () => {} };
});

const partition = async (table: string, pk: string) =>
  (await client.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true }))).Items ?? [];

const execution = (session: TenantSession, overrides: Partial<ExecutionRecord> = {}): ExecutionRecord =>
  runningExecution(session, { snapshot: '{}', ...overrides });

describe('dynamodb workflow store', () => {
  it('keeps every item in the tenant partition and indexes only running executions', async () => {
    const table = await freshTable();
    const store = new DynamoWorkflowStore(client, table);
    const a = testSession('tenant-a');
    await store.putWorkflow(a, 'wf', '{}', '', T0);
    const done = execution(a);
    const running = execution(a);
    await store.createExecution(a, done, [{ at: T0, type: 'ExecutionStarted', state: null, detail: null }]);
    await store.createExecution(a, running, []);
    const claimed = await store.claimExecutions('owner', T0, T0 + 1000, 10, () => true);
    expect(claimed).toHaveLength(2);
    await store.checkpoint('owner', { ...done, status: 'SUCCEEDED', currentState: null, stoppedAt: T0 + 1 }, []);

    const items = await partition(table, 'T#tenant-a');
    expect(items.map((item) => String(item.sk).replace(/#.*/, '#')).sort()).toEqual(['EX#', 'EX#', 'EXH#', 'EXN#', 'EXN#', 'EXRUN', 'EXS#', 'EXS#', 'WF#']);
    expect(items.find((item) => item.sk === `EX#${done.id}`)).not.toHaveProperty('gsi1pk');
    expect(items.find((item) => item.sk === `EX#${running.id}`)).toMatchObject({ gsi1pk: 'RUN', gsi1sk: `${String(T0 + 1000).padStart(15, '0')}#${running.id}`, leaseOwner: 'owner' });
    expect(items.find((item) => item.sk === 'EXRUN')).toMatchObject({ running: 1 });
    expect(await partition(table, 'T#tenant-b')).toEqual([]);
  });

  it('gzips large texts to fit an item, and refuses what still does not fit, leaving the name and slot free', async () => {
    const table = await freshTable();
    const store = new DynamoWorkflowStore(client, table);
    const a = testSession('tenant-a', { limits: { maxConcurrentExecutions: 1 } });
    const snapshot = JSON.stringify({ input: 'repetitive '.repeat(60_000) });
    const big = execution(a, { name: 'big', snapshot });
    await store.createExecution(a, big, []);
    expect((await store.getExecution(a, big.id))?.snapshot).toBe(snapshot);
    const item = (await partition(table, 'T#tenant-a')).find((i) => i.sk === `EX#${big.id}`);
    expect(item?.snapshot).toBeInstanceOf(Uint8Array);
    const [claimed] = await store.claimExecutions('owner', T0, T0 + 1000, 1, () => true);
    await store.checkpoint('owner', { ...claimed!, status: 'SUCCEEDED', output: snapshot, stoppedAt: T0 }, []);
    expect((await store.getExecution(a, big.id))?.output).toBe(snapshot);

    const noise = execution(a, { name: 'noise', snapshot: JSON.stringify({ input: randomBytes(450_000).toString('base64') }) });
    await expect(store.createExecution(a, noise, [])).rejects.toMatchObject({ code: 'invalid_argument', details: { field: 'input' } });
    const retry = execution(a, { name: 'noise' });
    expect(await store.createExecution(a, retry, [])).toEqual({ execution: retry, created: true });
  });

  it('frees a name whose creator died before writing the execution, once the claim is old', async () => {
    const table = await freshTable();
    const time = clock();
    const store = new DynamoWorkflowStore(client, table, { now: time.now });
    const a = testSession('tenant-a');
    await client.send(new PutCommand({ TableName: table, Item: { pk: 'T#tenant-a', sk: 'EXN#wf#orphan', executionId: randomUUID(), claimedAt: time.now() } }));
    await expect(store.createExecution(a, execution(a, { name: 'orphan' }), [])).rejects.toMatchObject({ code: 'unavailable', retryable: true });
    time.advance(30_001);
    const record = execution(a, { name: 'orphan' });
    expect(await store.createExecution(a, record, [])).toEqual({ execution: record, created: true });
  });

  it('looks for dead lease holders at most every deadOwnerScanMs per owner', async () => {
    const table = await freshTable();
    const store = new DynamoWorkflowStore(client, table, { deadOwnerScanMs: 5_000 });
    const a = testSession('tenant-a');
    const record = execution(a);
    await store.createExecution(a, record, []);
    await store.claimExecutions('crashed', T0, T0 + 60_000, 1, () => true);
    let asked = 0;
    const dead = () => (asked++, false);
    expect(await store.claimExecutions('survivor', T0 + 1, T0 + 60_000, 1, () => true)).toEqual([]);
    expect(await store.claimExecutions('survivor', T0 + 4_000, T0 + 60_000, 1, dead)).toEqual([]);
    expect(asked).toBe(0);
    expect((await store.claimExecutions('survivor', T0 + 5_001, T0 + 60_000, 1, dead)).map((r) => r.id)).toEqual([record.id]);
    expect(asked).toBe(1);
  });
});

describe('dynamodb audit store', () => {
  it('leaves retention to TTL: prune deletes nothing, entries carry ttl and reads hide them once past retention', async () => {
    const table = await freshTable();
    let now = Date.now();
    const store = new DynamoAuditStore(client, table, { retentionMs: RETENTION_MS, now: () => now });
    const a = testSession('tenant-a');
    const at = now;
    await store.append([{ tenantId: 'tenant-a', userId: 'u', contextType: 'user', tool: 'kv_get', outcome: 'ok', at, durationMs: 2 }]);
    const [item] = await partition(table, 'T#tenant-a');
    expect(item).toMatchObject({ at, ttl: Math.ceil((at + RETENTION_MS) / 1000) });
    expect(String(item?.sk)).toMatch(/^AUD#\d{15}#\d{16}$/);

    expect(await store.prune(at + 1)).toBe(0);
    expect(await store.query(a, { limit: 10 })).toHaveLength(1);
    now = at + RETENTION_MS;
    expect(await store.query(a, { limit: 10 })).toHaveLength(1);
    now += 1;
    expect(await store.query(a, { limit: 10 })).toEqual([]);
    expect(await partition(table, 'T#tenant-a')).toHaveLength(1);
  });

  it('keeps entries without a ttl when no retention is set', async () => {
    const table = await freshTable();
    const store = new DynamoAuditStore(client, table);
    await store.append([{ tenantId: 'tenant-a', userId: 'u', contextType: 'user', tool: 'kv_get', outcome: 'ok', at: 1_000, durationMs: 2 }]);
    expect((await partition(table, 'T#tenant-a'))[0]).not.toHaveProperty('ttl');
    expect(await store.query(testSession('tenant-a'), { limit: 10 })).toHaveLength(1);
  });

  it('gives entries of two processes in one millisecond distinct keys', async () => {
    const table = await freshTable();
    const stores = Array.from({ length: 4 }, () => new DynamoAuditStore(client, table));
    const at = Date.now();
    await Promise.all(stores.map((store, i) => store.append(Array.from({ length: 30 }, () => ({ tenantId: 'tenant-a', userId: `p${i}`, contextType: 'user', tool: 't', outcome: 'ok', at, durationMs: 1 })))));
    const rows = await stores[0]!.query(testSession('tenant-a'), { limit: 500 });
    expect(rows).toHaveLength(120);
    expect(new Set(rows.map((row) => row.seq)).size).toBe(120);
  });
});
