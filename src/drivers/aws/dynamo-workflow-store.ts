import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MeshError } from '../../errors.js';
import type { ExecutionQuery, ExecutionRecord, HistoryEvent, WorkflowStore, WorkflowVersion } from '../../ports/workflow-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { DynamoExecutionLeases } from './dynamo-execution-leases.js';
import { DynamoRunningSlots } from './dynamo-running-slots.js';
import { putAll, readExecutions } from './dynamo-workflow-batches.js';
import { DynamoWorkflowDefinitions } from './dynamo-workflow-definitions.js';
import {
  AFTER_DIGITS,
  historyItems,
  keys,
  namesIn,
  packNullable,
  packText,
  rethrow,
  toHistoryEvent,
  toRecord,
  type ExecutionItem,
  type HistoryItem,
} from './dynamo-workflow-items.js';
import { isConditionFailure, queryItems, queryPages } from './query-pages.js';
import { GSI1_PK, KIND, tenantPk, tenantPkOf } from './table-keys.js';

/** A name claim whose execution has not appeared after this long belongs to a creator that died. */
const ABANDONED_CLAIM_MS = 30_000;
const LIST_PAGE = 100;

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
  private readonly definitions: DynamoWorkflowDefinitions;
  private readonly leases: DynamoExecutionLeases;
  private readonly slots: DynamoRunningSlots;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoWorkflowStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.definitions = new DynamoWorkflowDefinitions(client, table);
    this.leases = new DynamoExecutionLeases(client, table, options.deadOwnerScanMs ?? 5_000);
    this.slots = new DynamoRunningSlots(client, table);
  }

  // --- workflows (dynamo-workflow-definitions.ts) ---

  putWorkflow(session: TenantSession, name: string, definition: string, description: string, now: number): Promise<number> {
    return this.definitions.putWorkflow(session, name, definition, description, now);
  }

  getWorkflow(session: TenantSession, name: string, version?: number): Promise<WorkflowVersion | undefined> {
    return this.definitions.getWorkflow(session, name, version);
  }

  listWorkflows(session: TenantSession): Promise<WorkflowVersion[]> {
    return this.definitions.listWorkflows(session);
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
      if (running) await this.slots.reserve(pk, session.limits.maxConcurrentExecutions);
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
        if (running) await this.slots.release(pk);
        if (isConditionFailure(error)) continue; // another call took the name: read its execution
        throw error;
      }
      try {
        await this.writeExecution(pk, session.tenantId, execution, history);
      } catch (error) {
        if (running) await this.slots.release(pk).catch(() => {});
        await this.dropNameClaim(pk, execution.workflow, execution.name, execution.id).catch(() => {});
        rethrow(error, 'input');
      }
      return { execution, created: true };
    }
    throw new MeshError('unavailable', `execution "${execution.name}" is being created concurrently; retry`, {}, { retryable: true });
  }

  private async writeExecution(pk: string, tenantId: string, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[]): Promise<void> {
    const { id } = execution;
    await putAll(this.client, this.table, [
      { pk, sk: keys.executionByStart(execution.startedAt, id), id, workflow: execution.workflow },
      ...(await historyItems(pk, id, 0, history)),
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
      ...(execution.startedBy && { startedBy: { userId: execution.startedBy.userId, permissions: [...execution.startedBy.permissions] } }),
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

  async getExecution(session: TenantSession, id: string): Promise<ExecutionRecord | undefined> {
    const item = await this.readExecution(tenantPk(session), id);
    return item && toRecord(item);
  }

  findExecution(session: TenantSession, workflow: string, name: string): Promise<ExecutionRecord | undefined> {
    return this.byName(tenantPk(session), workflow, name);
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
    const pages = queryPages(this.client, () => ({
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
    }));
    for await (const page of pages) {
      const ids = ((page.Items ?? []) as { sk: string; id: string }[]).filter((item) => item.sk !== upper).map((item) => item.id);
      for (const item of await readExecutions(this.client, this.table, pk, ids)) {
        if (query.status !== undefined && item.status !== query.status) continue;
        found.push(await toRecord(item));
        if (found.length >= query.limit) return found;
      }
    }
    return found;
  }

  async history(session: TenantSession, id: string, afterSeq = 0): Promise<HistoryEvent[]> {
    const pk = tenantPk(session);
    const events: HistoryEvent[] = [];
    const items = queryItems<HistoryItem>(this.client, {
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :end',
      ExpressionAttributeNames: namesIn('#pk #sk'),
      ExpressionAttributeValues: { ':pk': pk, ':first': keys.history(id, Math.max(afterSeq, 0) + 1), ':end': keys.historyOf(id) + AFTER_DIGITS },
      ConsistentRead: true,
    });
    for await (const item of items) if (item.seq > afterSeq) events.push(await toHistoryEvent(item));
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

  // --- leases and checkpoints (system-level; leases in dynamo-execution-leases.ts) ---

  claimExecutions(owner: string, now: number, until: number, limit: number, isOwnerAlive: (owner: string) => boolean): Promise<ExecutionRecord[]> {
    return this.leases.claimExecutions(owner, now, until, limit, isOwnerAlive);
  }

  renewLease(owner: string, id: string, until: number): Promise<boolean> {
    return this.leases.renewLease(owner, id, until);
  }

  releaseLease(owner: string, id: string): Promise<void> {
    return this.leases.releaseLease(owner, id);
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
    this.leases.remember(execution.id, pk);
    await putAll(this.client, this.table, await historyItems(pk, execution.id, historySeq - history.length, history));
    // Only the one write that ended the execution gets here (the condition wants it RUNNING): one release.
    if (finished) await this.slots.release(pk);
    return true;
  }

  private async readExecution(pk: string, id: string): Promise<ExecutionItem | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: keys.execution(id) }, ConsistentRead: true }));
    return result.Item as ExecutionItem | undefined;
  }
}
