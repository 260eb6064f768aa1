import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExecutionRecord } from '../../ports/workflow-store.js';
import { AFTER_DIGITS, keys, namesIn, toRecord, type ExecutionItem } from './dynamo-workflow-items.js';
import { isConditionFailure, queryItems } from './query-pages.js';
import { GSI1, GSI1_PK, pad } from './table-keys.js';

const HOMES_KEPT = 10_000;

type RunnableItem = Pick<ExecutionItem, 'pk' | 'id' | 'leaseOwner'>;

/**
 * The leases runners hold on RUNNING executions, found through GSI1 "RUN" (see dynamo-workflow-items.ts).
 * A lease is won, renewed and released by conditional updates of the execution item alone.
 */
export class DynamoExecutionLeases {
  private readonly lastDeadOwnerScan = new Map<string, number>();
  /** Execution id → tenant partition, for renewLease/releaseLease, which name no tenant. A pk never changes. */
  private readonly homes = new Map<string, string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly deadOwnerScanMs: number,
  ) {}

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

  remember(id: string, pk: string): void {
    this.homes.delete(id);
    this.homes.set(id, pk);
    if (this.homes.size > HOMES_KEPT) this.homes.delete(this.homes.keys().next().value!);
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

  private runnable(range: string | undefined, values: Record<string, string>, filter?: string): AsyncGenerator<RunnableItem> {
    const condition = range === undefined ? '#gsi1pk = :run' : `#gsi1pk = :run AND ${range}`;
    const projection = '#pk, #id, #leaseOwner';
    return queryItems<RunnableItem>(this.client, {
      TableName: this.table,
      IndexName: GSI1,
      KeyConditionExpression: condition,
      FilterExpression: filter,
      ProjectionExpression: projection,
      ExpressionAttributeNames: namesIn(condition, projection, filter),
      ExpressionAttributeValues: { ':run': GSI1_PK.runnableExecutions, ...values },
    });
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
}
