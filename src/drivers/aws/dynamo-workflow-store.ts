import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { invalidArgument, MeshError, quotaExceeded } from '../../errors.js';
import type { ExecutionQuery, ExecutionRecord, ExecutionStatus, HistoryEvent, WorkflowStore, WorkflowVersion } from '../../ports/workflow-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { GSI1, GSI1_PK, KIND, pad, tenantPk, tenantPkOf } from './table-keys.js';

/*
 * Items, all in the tenant's partition (pk "T#<tenant>"):
 *   WF#<name>#<version:10>            one per workflow version
 *   EXN#<workflow>#<name>             → execution id: makes (workflow, name) unique, written before the execution
 *   EX#<id>                           the execution: record, checkpoint (snapshot, historySeq) and lease
 *   EXS#<startedAt:15>#<id>           → id and workflow: lists executions newest first
 *   EXH#<id>#<seq:10>                 one history event
 *   EXRUN                             how many of the tenant's executions are RUNNING (the concurrency quota)
 * A RUNNING execution item also carries gsi1pk "RUN", gsi1sk "<leaseUntil:15>#<id>" (leaseUntil 0 = free), so
 * runners of every process find claimable executions with one Query on GSI1; a finished one drops them.
 */
const EXECUTION_NAME_KIND = 'EXN#';
const RUNNING_COUNTER_SK = 'EXRUN';
const VERSION_WIDTH = 10;
const SEQ_WIDTH = 10;
/** Sorts after every digit, so "<prefix>~" closes a key range. */
const AFTER_DIGITS = '~';

/** Texts above this are gzipped (a Binary attribute): an item holds 400 KB, a definition may be 1 MB. */
const COMPRESS_OVER_BYTES = 32 * 1024;
/** Rounds of read-then-conditional-put before putWorkflow gives up to concurrent writers. */
const MAX_ATTEMPTS = 20;
/** A name claim whose execution has not appeared after this long belongs to a creator that died. */
const ABANDONED_CLAIM_MS = 30_000;
const LIST_PAGE = 100;
const WORKFLOW_PAGE = 10;
const HOMES_KEPT = 10_000;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

type StoredText = string | Uint8Array;

async function packText(text: string): Promise<StoredText> {
  return Buffer.byteLength(text) > COMPRESS_OVER_BYTES ? new Uint8Array(await gzipAsync(text)) : text;
}
const packNullable = async (text: string | null): Promise<StoredText | null> => (text === null ? null : packText(text));
async function unpackText(value: StoredText): Promise<string> {
  return typeof value === 'string' ? value : (await gunzipAsync(value)).toString('utf8');
}
const unpackNullable = async (value: StoredText | null | undefined): Promise<string | null> => (value == null ? null : unpackText(value));

interface WorkflowItem {
  name: string;
  version: number;
  definition: StoredText;
  description: string;
  createdAt: number;
}

interface ExecutionItem {
  pk: string;
  id: string;
  tenantId: string;
  name: string;
  workflow: string;
  version: number;
  status: ExecutionStatus;
  snapshot: StoredText;
  currentState: string | null;
  output: StoredText | null;
  error: string | null;
  cause: string | null;
  startedAt: number;
  stoppedAt: number | null;
  abortRequested: boolean;
  leaseOwner?: string;
  leaseUntil: number;
  historySeq: number;
}

interface HistoryItem {
  seq: number;
  at: number;
  type: string;
  state: string | null;
  detail: StoredText | null;
}

const keys = {
  workflowsOf: (name: string) => `${KIND.workflow}${name}#`,
  workflow: (name: string, version: number) => `${KIND.workflow}${name}#${pad(version, VERSION_WIDTH)}`,
  executionName: (workflow: string, name: string) => `${EXECUTION_NAME_KIND}${workflow}#${name}`,
  execution: (id: string) => `${KIND.execution}${id}`,
  executionByStart: (startedAt: number, id: string) => `${KIND.executionByStart}${pad(startedAt)}#${id}`,
  historyOf: (id: string) => `${KIND.history}${id}#`,
  history: (id: string, seq: number) => `${KIND.history}${id}#${pad(seq, SEQ_WIDTH)}`,
  runnable: (leaseUntil: number, id: string) => `${pad(leaseUntil)}#${id}`,
};

/** Placeholders for every "#name" in the expressions: DynamoDB refuses unused ones, and many names are reserved words. */
function namesIn(...expressions: (string | undefined)[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const expression of expressions) for (const [, name] of (expression ?? '').matchAll(/#(\w+)/g)) names[`#${name}`] = name!;
  return names;
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

/** DynamoDB's item limit is the client's doing (a huge definition or state), not an internal error. */
function rethrow(error: unknown, field: string): never {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  if (name === 'ValidationException' && /maximum allowed size/i.test(message ?? '')) {
    throw invalidArgument(field, 'is too large for one DynamoDB item (400 KB after compression)');
  }
  throw error;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

async function toRecord(item: ExecutionItem): Promise<ExecutionRecord> {
  return {
    id: item.id,
    tenantId: item.tenantId,
    name: item.name,
    workflow: item.workflow,
    version: item.version,
    status: item.status,
    snapshot: await unpackText(item.snapshot),
    currentState: item.currentState ?? null,
    output: await unpackNullable(item.output),
    error: item.error ?? null,
    cause: item.cause ?? null,
    startedAt: item.startedAt,
    stoppedAt: item.stoppedAt ?? null,
    abortRequested: item.abortRequested === true,
  };
}

const toWorkflow = async (item: WorkflowItem): Promise<WorkflowVersion> => ({
  name: item.name,
  version: item.version,
  definition: await unpackText(item.definition),
  description: item.description,
  createdAt: item.createdAt,
});

export interface DynamoWorkflowStoreOptions {
  now?: () => number;
  /**
   * How often one runner (owner) looks through every leased execution for holders `isOwnerAlive` calls
   * dead. Each look reads the whole "RUN" partition of GSI1 (every running execution, snapshot included,
   * as the index projects ALL), so it is not done at every poll; leases of dead holders on other machines
   * run out on their own anyway.
   */
  deadOwnerScanMs?: number;
}

/**
 * Workflows, executions and their history on the single DynamoDB table. Without transactions, every
 * guarantee rests on one conditional write: the name claim makes creation idempotent, the running counter
 * enforces the concurrency quota (it may drift up by one when a process dies between reserving a slot and
 * writing the execution, never let a tenant past its limit), and the lease owner on the execution item
 * fences checkpoints.
 */
export class DynamoWorkflowStore implements WorkflowStore {
  private readonly now: () => number;
  private readonly deadOwnerScanMs: number;
  private readonly lastDeadOwnerScan = new Map<string, number>();
  /** Execution id → tenant partition, for renewLease/releaseLease, which name no tenant. A pk never changes. */
  private readonly homes = new Map<string, string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoWorkflowStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.deadOwnerScanMs = options.deadOwnerScanMs ?? 5_000;
  }

  // --- workflows ---

  async putWorkflow(session: TenantSession, name: string, definition: string, description: string, now: number): Promise<number> {
    const pk = tenantPk(session);
    const stored = await packText(definition);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const version = ((await this.latestWorkflow(pk, name))?.version ?? 0) + 1;
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.table,
            Item: { pk, sk: keys.workflow(name, version), name, version, definition: stored, description, createdAt: now },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: namesIn('#pk'),
          }),
        );
        return version;
      } catch (error) {
        if (!isConditionFailure(error)) rethrow(error, 'definition');
      }
    }
    throw new MeshError('unavailable', `workflow "${name}" is being changed concurrently; retry`, {}, { retryable: true });
  }

  async getWorkflow(session: TenantSession, name: string, version?: number): Promise<WorkflowVersion | undefined> {
    const pk = tenantPk(session);
    if (version === undefined) {
      const latest = await this.latestWorkflow(pk, name);
      return latest && toWorkflow(latest);
    }
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: keys.workflow(name, version) }, ConsistentRead: true }));
    return result.Item && toWorkflow(result.Item as WorkflowItem);
  }

  /**
   * The latest version of each workflow, by name. Reads newest first, and after each page restarts below
   * the last name seen, so the older versions of a name are mostly skipped rather than all read.
   */
  async listWorkflows(session: TenantSession): Promise<WorkflowVersion[]> {
    const pk = tenantPk(session);
    const latest: WorkflowItem[] = [];
    let below: string | undefined;
    for (;;) {
      const condition = below === undefined ? '#pk = :pk AND begins_with(#sk, :kind)' : '#pk = :pk AND #sk BETWEEN :kind AND :below';
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: condition,
          ExpressionAttributeNames: namesIn(condition),
          ExpressionAttributeValues: { ':pk': pk, ':kind': KIND.workflow, ...(below !== undefined && { ':below': below }) },
          ScanIndexForward: false,
          Limit: WORKFLOW_PAGE,
          ConsistentRead: true,
        }),
      );
      const items = (page.Items ?? []) as WorkflowItem[];
      for (const item of items) if (latest[latest.length - 1]?.name !== item.name) latest.push(item);
      if (!page.LastEvaluatedKey || items.length === 0) break;
      // No key equals "WF#<name>#" itself (versions follow it), so BETWEEN up to it excludes that name.
      below = keys.workflowsOf(items[items.length - 1]!.name);
    }
    return Promise.all(latest.reverse().map(toWorkflow));
  }

  private async latestWorkflow(pk: string, name: string): Promise<WorkflowItem | undefined> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: namesIn('#pk #sk'),
        ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.workflowsOf(name) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return page.Items?.[0] as WorkflowItem | undefined;
  }

  // --- executions (tenant-level) ---

  /**
   * Reserve a running slot, claim the name (conditional put), write the listing and history items, then the
   * execution item last: once it exists (and runners can see it) everything it refers to exists too.
   */
  async createExecution(session: TenantSession, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[]) {
    const pk = tenantPk(session);
    const running = execution.status === 'RUNNING';
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.byName(pk, execution.workflow, execution.name);
      if (existing) return { execution: existing, created: false };
      if (running) await this.reserveSlot(pk, session.limits.maxConcurrentExecutions);
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.table,
            Item: { pk, sk: keys.executionName(execution.workflow, execution.name), executionId: execution.id, claimedAt: this.now() },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: namesIn('#pk'),
          }),
        );
      } catch (error) {
        if (running) await this.releaseSlot(pk);
        if (isConditionFailure(error)) continue; // another call took the name: read its execution
        throw error;
      }
      try {
        await this.writeExecution(pk, session.tenantId, execution, history);
      } catch (error) {
        if (running) await this.releaseSlot(pk).catch(() => {});
        await this.dropNameClaim(pk, execution.workflow, execution.name, execution.id).catch(() => {});
        rethrow(error, 'input');
      }
      return { execution, created: true };
    }
    throw new MeshError('unavailable', `execution "${execution.name}" is being created concurrently; retry`, {}, { retryable: true });
  }

  private async writeExecution(pk: string, tenantId: string, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[]): Promise<void> {
    const { id } = execution;
    await this.putAll([
      { pk, sk: keys.executionByStart(execution.startedAt, id), id, workflow: execution.workflow },
      ...(await this.historyItems(pk, id, 0, history)),
    ]);
    // Like the embedded driver, a new execution starts without output, stop time or cancel request.
    const item: ExecutionItem & { sk: string; gsi1pk?: string; gsi1sk?: string } = {
      pk,
      sk: keys.execution(id),
      id,
      tenantId,
      name: execution.name,
      workflow: execution.workflow,
      version: execution.version,
      status: execution.status,
      snapshot: await packText(execution.snapshot),
      currentState: execution.currentState,
      output: null,
      error: null,
      cause: null,
      startedAt: execution.startedAt,
      stoppedAt: null,
      abortRequested: false,
      leaseUntil: 0,
      historySeq: history.length,
      ...(execution.status === 'RUNNING' && { gsi1pk: GSI1_PK.runnableExecutions, gsi1sk: keys.runnable(0, id) }),
    };
    await this.client.send(
      new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: namesIn('#pk') }),
    );
  }

  /**
   * The execution that holds the name, if any. A claim whose execution is missing is either being created
   * right now (wait for it briefly) or was left by a creator that died (drop it, so the name is free again).
   */
  private async byName(pk: string, workflow: string, name: string): Promise<ExecutionRecord | undefined> {
    const claim = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: keys.executionName(workflow, name) }, ConsistentRead: true }));
    if (!claim.Item) return undefined;
    const { executionId, claimedAt } = claim.Item as { executionId: string; claimedAt: number };
    for (let wait = 0; wait < 10; wait++) {
      const item = await this.readExecution(pk, executionId);
      if (item) return toRecord(item);
      await sleep(50);
    }
    if (this.now() - claimedAt < ABANDONED_CLAIM_MS) {
      throw new MeshError('unavailable', `execution "${name}" of workflow "${workflow}" is being created; retry shortly`, {}, { retryable: true });
    }
    await this.dropNameClaim(pk, workflow, name, executionId);
    return undefined;
  }

  private async dropNameClaim(pk: string, workflow: string, name: string, executionId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk, sk: keys.executionName(workflow, name) },
          ConditionExpression: '#executionId = :id',
          ExpressionAttributeNames: namesIn('#executionId'),
          ExpressionAttributeValues: { ':id': executionId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  private async reserveSlot(pk: string, max: number): Promise<void> {
    if (max >= 1) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk, sk: RUNNING_COUNTER_SK },
            UpdateExpression: 'ADD #running :one',
            ConditionExpression: 'attribute_not_exists(#running) OR #running < :max',
            ExpressionAttributeNames: namesIn('#running'),
            ExpressionAttributeValues: { ':one': 1, ':max': max },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    const counter = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: RUNNING_COUNTER_SK }, ConsistentRead: true }));
    const running = Number(counter.Item?.running ?? 0);
    throw quotaExceeded('maxConcurrentExecutions', max, `tenant has ${running} running executions, the limit maxConcurrentExecutions is ${max}`);
  }

  private async releaseSlot(pk: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk, sk: RUNNING_COUNTER_SK },
        UpdateExpression: 'ADD #running :minusOne',
        ExpressionAttributeNames: namesIn('#running'),
        ExpressionAttributeValues: { ':minusOne': -1 },
      }),
    );
  }

  async getExecution(session: TenantSession, id: string): Promise<ExecutionRecord | undefined> {
    const item = await this.readExecution(tenantPk(session), id);
    return item && toRecord(item);
  }

  /**
   * Newest first from the listing items (workflow filtered there), then the execution items themselves,
   * whose status is the truth: the listing item never changes, so it cannot go stale.
   */
  async listExecutions(session: TenantSession, query: ExecutionQuery): Promise<ExecutionRecord[]> {
    const pk = tenantPk(session);
    const found: ExecutionRecord[] = [];
    if (query.limit <= 0) return found;
    // BETWEEN is inclusive: the `before` position itself is dropped below.
    const upper = query.before ? keys.executionByStart(query.before.startedAt, query.before.id) : KIND.executionByStart + AFTER_DIGITS;
    const filtered = query.workflow !== undefined || query.status !== undefined;
    const condition = '#pk = :pk AND #sk BETWEEN :kind AND :upper';
    const filter = query.workflow !== undefined ? '#workflow = :workflow' : undefined;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: condition,
          FilterExpression: filter,
          ExpressionAttributeNames: namesIn(condition, filter),
          ExpressionAttributeValues: {
            ':pk': pk,
            ':kind': KIND.executionByStart,
            ':upper': upper,
            ...(query.workflow !== undefined && { ':workflow': query.workflow }),
          },
          ScanIndexForward: false,
          // Limit counts items before the filters (and the dropped `before` item), hence the loop.
          Limit: filtered ? LIST_PAGE : Math.min(LIST_PAGE, query.limit + 1 - found.length),
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      const ids = ((page.Items ?? []) as { sk: string; id: string }[]).filter((item) => item.sk !== upper).map((item) => item.id);
      for (const item of await this.readExecutions(pk, ids)) {
        if (query.status !== undefined && item.status !== query.status) continue;
        found.push(await toRecord(item));
        if (found.length >= query.limit) return found;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  async history(session: TenantSession, id: string, afterSeq = 0): Promise<HistoryEvent[]> {
    const pk = tenantPk(session);
    const events: HistoryEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :end',
          ExpressionAttributeNames: namesIn('#pk #sk'),
          ExpressionAttributeValues: { ':pk': pk, ':first': keys.history(id, Math.max(afterSeq, 0) + 1), ':end': keys.historyOf(id) + AFTER_DIGITS },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of (page.Items ?? []) as HistoryItem[]) {
        if (item.seq <= afterSeq) continue;
        const detail = await unpackNullable(item.detail);
        events.push({ seq: item.seq, at: item.at, type: item.type, state: item.state ?? null, detail: detail === null ? null : (JSON.parse(detail) as Record<string, unknown>) });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return events;
  }

  async requestAbort(session: TenantSession, id: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: tenantPk(session), sk: keys.execution(id) },
          UpdateExpression: 'SET #abortRequested = :yes',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: namesIn('#abortRequested #status'),
          ExpressionAttributeValues: { ':yes': true, ':running': 'RUNNING' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  // --- leases (system-level) ---

  async claimExecutions(owner: string, now: number, until: number, limit: number, isOwnerAlive: (owner: string) => boolean): Promise<ExecutionRecord[]> {
    const claimed: ExecutionRecord[] = [];
    if (limit <= 0) return claimed;
    // Free (leaseUntil 0) and expired leases: gsi1sk <= "<now>~". An idle poll is one empty Query, no write.
    for await (const candidate of this.runnable('#gsi1sk <= :edge', { ':edge': pad(now) + AFTER_DIGITS })) {
      const record = await this.claim(candidate, owner, now, until);
      if (record) claimed.push(record);
      if (claimed.length >= limit) return claimed;
    }
    // Unexpired leases whose holder is known to be dead (a killed process on this machine) are free at once.
    const lastScan = this.lastDeadOwnerScan.get(owner);
    if (lastScan !== undefined && now >= lastScan && now - lastScan < this.deadOwnerScanMs) return claimed;
    this.lastDeadOwnerScan.set(owner, now);
    const verdicts = new Map<string, boolean>();
    for await (const candidate of this.runnable('#gsi1sk > :edge', { ':edge': pad(now) + AFTER_DIGITS })) {
      const holder = candidate.leaseOwner;
      if (holder === undefined || holder === owner) continue;
      let alive = verdicts.get(holder);
      if (alive === undefined) verdicts.set(holder, (alive = isOwnerAlive(holder)));
      if (alive) continue;
      const record = await this.claim(candidate, owner, now, until, holder);
      if (record) claimed.push(record);
      if (claimed.length >= limit) break;
    }
    return claimed;
  }

  /** The index only finds candidates (and lags the table): the conditional update on the item decides. */
  private async claim(candidate: Pick<ExecutionItem, 'pk' | 'id'>, owner: string, now: number, until: number, deadOwner?: string): Promise<ExecutionRecord | undefined> {
    const condition = `#status = :running AND (#leaseUntil <= :now${deadOwner === undefined ? '' : ' OR #leaseOwner = :dead'})`;
    const update = 'SET #leaseOwner = :owner, #leaseUntil = :until, #gsi1sk = :gsi1sk';
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: candidate.pk, sk: keys.execution(candidate.id) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesIn(update, condition),
          ExpressionAttributeValues: {
            ':running': 'RUNNING',
            ':now': now,
            ':owner': owner,
            ':until': until,
            ':gsi1sk': keys.runnable(until, candidate.id),
            ...(deadOwner !== undefined && { ':dead': deadOwner }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      this.remember(candidate.id, candidate.pk);
      return toRecord(result.Attributes as ExecutionItem);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  private async *runnable(range: string | undefined, values: Record<string, string>, filter?: string): AsyncGenerator<Pick<ExecutionItem, 'pk' | 'id' | 'leaseOwner'>> {
    const condition = range === undefined ? '#gsi1pk = :run' : `#gsi1pk = :run AND ${range}`;
    const projection = '#pk, #id, #leaseOwner';
    let startKey: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.table,
        IndexName: GSI1,
        KeyConditionExpression: condition,
        FilterExpression: filter,
        ProjectionExpression: projection,
        ExpressionAttributeNames: namesIn(condition, projection, filter),
        ExpressionAttributeValues: { ':run': GSI1_PK.runnableExecutions, ...values },
        ExclusiveStartKey: startKey,
      };
      const page = await this.client.send(new QueryCommand(input));
      yield* (page.Items ?? []) as Pick<ExecutionItem, 'pk' | 'id' | 'leaseOwner'>[];
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async renewLease(owner: string, id: string, until: number): Promise<boolean> {
    const pk = await this.homeOf(id);
    if (pk === undefined) return false;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: keys.execution(id) },
          UpdateExpression: 'SET #leaseUntil = :until, #gsi1sk = :gsi1sk',
          ConditionExpression: '#leaseOwner = :owner AND #status = :running',
          ExpressionAttributeNames: namesIn('#leaseUntil #gsi1sk #leaseOwner #status'),
          ExpressionAttributeValues: { ':until': until, ':gsi1sk': keys.runnable(until, id), ':owner': owner, ':running': 'RUNNING' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Fencing without transactions: the execution item is written first, conditionally on `owner` holding
   * the lease (and the execution still running), and the same write allocates the history numbers. A
   * runner that lost its lease fails that condition and writes nothing at all. The history items come
   * second: their numbers belong to this checkpoint alone, so no other runner can write them, even if
   * this one loses its lease in between. A crash between the two writes leaves a gap in the history,
   * never a wrong snapshot.
   */
  async checkpoint(owner: string, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[]): Promise<boolean> {
    const pk = tenantPkOf(execution.tenantId);
    const finished = execution.status !== 'RUNNING';
    const update =
      'SET #snapshot = :snapshot, #currentState = :currentState, #historySeq = #historySeq + :events' +
      (finished ? ', #status = :status, #output = :output, #error = :error, #cause = :cause, #stoppedAt = :stoppedAt REMOVE #gsi1pk, #gsi1sk' : '');
    const condition = '#leaseOwner = :owner AND #status = :running';
    let historySeq: number;
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: keys.execution(execution.id) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesIn(update, condition),
          ExpressionAttributeValues: {
            ':snapshot': await packText(execution.snapshot),
            ':currentState': execution.currentState,
            ':events': history.length,
            ':owner': owner,
            ':running': 'RUNNING',
            ...(finished && {
              ':status': execution.status,
              ':output': await packNullable(execution.output),
              ':error': execution.error,
              ':cause': execution.cause,
              ':stoppedAt': execution.stoppedAt,
            }),
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      historySeq = Number(result.Attributes?.historySeq);
    } catch (error) {
      if (isConditionFailure(error)) return false;
      rethrow(error, 'execution');
    }
    this.remember(execution.id, pk);
    await this.putAll(await this.historyItems(pk, execution.id, historySeq - history.length, history));
    // Only the one write that ended the execution gets here (the condition wants it RUNNING): one release.
    if (finished) await this.releaseSlot(pk);
    return true;
  }

  /** Frees the lease at once (leaseUntil 0); on a finished execution the stray gsi1sk indexes nothing without gsi1pk. */
  async releaseLease(owner: string, id: string): Promise<void> {
    const pk = await this.homeOf(id);
    if (pk === undefined) return;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: keys.execution(id) },
          UpdateExpression: 'SET #leaseUntil = :zero, #gsi1sk = :gsi1sk REMOVE #leaseOwner',
          ConditionExpression: '#leaseOwner = :owner',
          ExpressionAttributeNames: namesIn('#leaseUntil #gsi1sk #leaseOwner'),
          ExpressionAttributeValues: { ':zero': 0, ':gsi1sk': keys.runnable(0, id), ':owner': owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    this.homes.delete(id);
  }

  private remember(id: string, pk: string): void {
    this.homes.delete(id);
    this.homes.set(id, pk);
    if (this.homes.size > HOMES_KEPT) this.homes.delete(this.homes.keys().next().value!);
  }

  /**
   * The tenant partition of an execution this instance claimed (the runner's case). Otherwise it is looked
   * for among the running executions, one pass over GSI1 "RUN": only a lease holder matters here, and a
   * finished execution holds none worth renewing.
   */
  private async homeOf(id: string): Promise<string | undefined> {
    const known = this.homes.get(id);
    if (known !== undefined) return known;
    for await (const item of this.runnable(undefined, { ':id': id }, '#id = :id')) {
      this.remember(id, item.pk);
      return item.pk;
    }
    return undefined;
  }

  // --- items ---

  private async readExecution(pk: string, id: string): Promise<ExecutionItem | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: keys.execution(id) }, ConsistentRead: true }));
    return result.Item as ExecutionItem | undefined;
  }

  /** Execution items in the order of `ids`, skipping any that do not exist. */
  private async readExecutions(pk: string, ids: string[]): Promise<ExecutionItem[]> {
    const byId = new Map<string, ExecutionItem>();
    let pending = ids.map((id) => ({ pk, sk: keys.execution(id) }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await backOff(attempt);
      const result = await this.client.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of (result.Responses?.[this.table] ?? []) as ExecutionItem[]) byId.set(item.id, item);
      pending = (result.UnprocessedKeys?.[this.table]?.Keys ?? []) as typeof pending;
    }
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  private async historyItems(pk: string, id: string, lastSeq: number, history: Omit<HistoryEvent, 'seq'>[]): Promise<Record<string, unknown>[]> {
    return Promise.all(
      history.map(async (event, i) => {
        const seq = lastSeq + i + 1;
        const detail = event.detail ? await packText(JSON.stringify(event.detail)) : null;
        return { pk, sk: keys.history(id, seq), seq, at: event.at, type: event.type, state: event.state, detail };
      }),
    );
  }

  /** Unconditional puts, 25 a request; fine for items whose keys no other writer can hold (see checkpoint). */
  private async putAll(items: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      let pending: WriteRequests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await backOff(attempt);
        const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = result.UnprocessedItems?.[this.table] ?? [];
      }
    }
  }
}

const MAX_BATCH_ROUNDS = 8;

async function backOff(attempt: number): Promise<void> {
  if (attempt >= MAX_BATCH_ROUNDS) throw new MeshError('unavailable', 'DynamoDB is throttling the table; retry shortly', {}, { retryable: true });
  await sleep(Math.min(1_000, 25 * 2 ** attempt));
}
