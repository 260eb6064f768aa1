import { randomInt } from 'node:crypto';
import { BatchWriteCommand, type BatchWriteCommandInput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MeshError } from '../../errors.js';
import type { AuditEntry, AuditQuery, AuditStore } from '../../ports/audit-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { queryItems } from './query-pages.js';
import { KIND, pad, tenantPk, tenantPkOf, ttlSeconds } from './table-keys.js';

/*
 * One item per call, in the caller's tenant partition: sk "AUD#<at:15>#<seq:16>", so a Query reads a
 * tenant's log newest first and `before` / time ranges are key ranges.
 *
 * `seq` orders entries of one millisecond and keeps keys of concurrent processes apart (BatchWriteItem
 * takes no conditions, so a duplicate key would overwrite): counter × 2^21 + a random tag of this process.
 * The counter grows with each entry this process writes, so one process's entries of a millisecond keep
 * their order; two processes collide only if they draw the same tag (1 in 2^21) and write for the same
 * tenant, in the same millisecond, at the same count. The counter wraps after 2^32 entries.
 */
const TAG_BITS = 2 ** 21;
const COUNTER_WRAP = 2 ** 32;
const SEQ_WIDTH = 16;
const BATCH = 25;
const MAX_BATCH_ROUNDS = 8;
const FILTERED_PAGE = 200;
/** Sorts after every digit, so "<prefix>~" closes a key range. */
const AFTER_DIGITS = '~';

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

interface AuditItem extends AuditEntry {
  sk: string;
  seq: number;
}

export interface DynamoAuditStoreOptions {
  /** Entries get a `ttl` this long after their time, and reads hide older ones. None: kept forever. */
  retentionMs?: number;
  now?: () => number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The audit log on the single DynamoDB table. Retention is DynamoDB's TTL: each entry carries `ttl`
 * (its time + retentionMs), and queries hide entries past retention until TTL deletes them (up to days
 * late). `prune` therefore deletes nothing and returns 0: finding old entries of every tenant would need
 * a Scan or a cross-tenant index written on every call.
 */
export class DynamoAuditStore implements AuditStore {
  private readonly retentionMs: number | undefined;
  private readonly now: () => number;
  private readonly tag = randomInt(TAG_BITS);
  private counter = 0;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoAuditStoreOptions = {},
  ) {
    this.retentionMs = options.retentionMs;
    this.now = options.now ?? Date.now;
  }

  async append(entries: readonly AuditEntry[]): Promise<void> {
    const items = entries.map((entry) => {
      const seq = this.nextSeq();
      return {
        pk: tenantPkOf(entry.tenantId),
        sk: `${KIND.audit}${pad(entry.at)}#${pad(seq, SEQ_WIDTH)}`,
        seq,
        tenantId: entry.tenantId,
        userId: entry.userId,
        contextType: entry.contextType,
        tool: entry.tool,
        outcome: entry.outcome,
        at: entry.at,
        durationMs: entry.durationMs,
        ...(this.retentionMs !== undefined && { ttl: ttlSeconds(entry.at + this.retentionMs) }),
      };
    });
    const batches: WriteRequests[] = [];
    for (let i = 0; i < items.length; i += BATCH) batches.push(items.slice(i, i + BATCH).map((Item) => ({ PutRequest: { Item } })));
    await Promise.all(batches.map((batch) => this.write(batch)));
  }

  async query(session: TenantSession, query: AuditQuery): Promise<(AuditEntry & { seq: number })[]> {
    const pk = tenantPk(session);
    const rows: (AuditEntry & { seq: number })[] = [];
    if (query.limit <= 0) return rows;
    // Integer times: at >= startMs is at >= ceil(startMs), at < endMs is at < ceil(endMs).
    let from = query.startMs === undefined ? 0 : Math.ceil(query.startMs);
    if (this.retentionMs !== undefined) from = Math.max(from, this.now() - this.retentionMs);
    const lower = `${KIND.audit}${pad(from)}`;
    // No key equals "AUD#<at>" (a seq follows), so BETWEEN up to it excludes that millisecond; the `before`
    // key itself is inclusive and dropped below.
    const uppers = [KIND.audit + AFTER_DIGITS];
    if (query.endMs !== undefined) uppers.push(`${KIND.audit}${pad(Math.ceil(query.endMs))}`);
    const beforeKey = query.before && `${KIND.audit}${pad(query.before.at)}#${pad(query.before.seq, SEQ_WIDTH)}`;
    if (beforeKey) uppers.push(beforeKey);
    const upper = uppers.reduce((a, b) => (b < a ? b : a));
    if (upper < lower) return rows;

    const names: Record<string, string> = { '#pk': 'pk', '#sk': 'sk' };
    const values: Record<string, string> = {};
    const filters: string[] = [];
    for (const field of ['userId', 'tool', 'outcome'] as const) {
      const wanted = query[field];
      if (wanted === undefined) continue;
      filters.push(`#${field} = :${field}`);
      names[`#${field}`] = field;
      values[`:${field}`] = wanted;
    }
    const filter = filters.length > 0 ? filters.join(' AND ') : undefined;

    const items = queryItems<AuditItem>(this.client, () => ({
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lower AND :upper',
      FilterExpression: filter,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':pk': pk, ':lower': lower, ':upper': upper, ...values },
      ScanIndexForward: false,
      // Limit counts items before the filter (and the dropped `before` item), hence the loop.
      Limit: filter ? FILTERED_PAGE : query.limit + 1 - rows.length,
      ConsistentRead: true,
    }));
    for await (const item of items) {
      if (item.sk === beforeKey) continue;
      rows.push({
        seq: item.seq,
        tenantId: item.tenantId,
        userId: item.userId,
        contextType: item.contextType,
        tool: item.tool,
        outcome: item.outcome,
        at: item.at,
        durationMs: item.durationMs,
      });
      if (rows.length >= query.limit) return rows;
    }
    return rows;
  }

  /** Retention is TTL's job (see the class comment): nothing to delete here. */
  async prune(_beforeMs: number): Promise<number> {
    return 0;
  }

  private nextSeq(): number {
    this.counter = (this.counter + 1) % COUNTER_WRAP;
    return this.counter * TAG_BITS + this.tag;
  }

  private async write(requests: WriteRequests): Promise<void> {
    let pending = requests;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt >= MAX_BATCH_ROUNDS) throw new MeshError('unavailable', 'DynamoDB is throttling the table; audit entries were not all written', {}, { retryable: true });
        await sleep(Math.min(1_000, 25 * 2 ** attempt));
      }
      const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
      pending = result.UnprocessedItems?.[this.table] ?? [];
    }
  }
}
