import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MeshError } from '../../errors.js';
import {
  deliveryKind,
  type AttemptRecord,
  type DeliveryKind,
  type DeliveryRecord,
  type DeliveryStatus,
  type DeliveryTarget,
  type EventEnvelope,
  type NewDelivery,
} from '../../ports/event-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { isConditionFailure, queryItems } from './query-pages.js';
import { GSI1, GSI1_PK, KIND, pad, tenantIdOfPk, tenantPk, ttlSeconds } from './table-keys.js';

type Item = Record<string, unknown>;

export interface DynamoAlertDeliveriesOptions {
  /** How long attempts and finished deliveries are kept; DynamoDB TTL deletes them after. */
  retentionMs: number;
  now: () => number;
}

const BATCH_WRITE_MAX = 25;
const BATCH_WRITE_RETRIES = 8;
const CLAIMED_REMEMBERED = 10_000;

/** Newest first by (at, attempt), as the SQLite driver orders them. */
const attemptSk = (a: AttemptRecord) => `${KIND.attempt}${pad(a.at)}#${pad(a.attempt, 6)}#${a.deliveryId}`;
const dueSk = (nextAttemptAt: number, id: string) => `${pad(nextAttemptAt)}#${id}`;
/** Delivery id → tenant partition, for recordAttempt (whose port gives only the id). One partition per delivery: no hot key. */
const pointerKey = (deliveryId: string) => ({ pk: `SYS#DLV#${deliveryId}`, sk: KIND.delivery });

function toDelivery(item: Item): DeliveryRecord {
  return {
    id: item.id as string,
    tenantId: tenantIdOfPk(item.pk as string),
    alertName: item.alertName as string,
    eventId: item.eventId as string,
    channel: JSON.parse(item.channel as string) as DeliveryTarget,
    event: JSON.parse(item.event as string) as EventEnvelope,
    status: item.status as DeliveryStatus,
    attempts: item.attempts as number,
    nextAttemptAt: item.nextAttemptAt as number,
    lastStatus: (item.lastStatus as number | null | undefined) ?? null,
    lastError: (item.lastError as string | null | undefined) ?? null,
  };
}

function toAttempt(item: Item): AttemptRecord {
  return {
    deliveryId: item.deliveryId as string,
    alertName: item.alertName as string,
    ...(typeof item.workflow === 'string' && { workflow: item.workflow }),
    attempt: item.attempt as number,
    at: item.at as number,
    ok: item.ok as boolean,
    status: (item.status as number | null | undefined) ?? null,
    error: (item.error as string | null | undefined) ?? null,
    durationMs: item.durationMs as number,
  };
}

/**
 * The alert delivery queue: DLV#<id> deliveries and ATT#<at>#<attempt>#<delivery> attempts in the tenant
 * partition, plus a SYS#DLV#<id> pointer to that partition per delivery. Pending deliveries also carry GSI1
 * (DUE, <nextAttemptAt>#<id>), the only cross-tenant read.
 */
export class DynamoAlertDeliveries {
  private readonly now: () => number;
  private readonly retentionMs: number;
  /** Deliveries this instance claimed → tenant pk, so recordAttempt needs no read; the pointer item covers the rest. */
  private readonly claimed = new Map<string, string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoAlertDeliveriesOptions,
  ) {
    this.now = options.now;
    this.retentionMs = options.retentionMs;
  }

  /** Writes the pending deliveries of one event, due at once, and their pointers. */
  async queue(pk: string, deliveries: NewDelivery[], eventId: string, eventJson: string, now: number): Promise<void> {
    const ttl = ttlSeconds(now + this.retentionMs);
    const queued: Item[] = [];
    for (const delivery of deliveries) {
      queued.push({
        pk,
        sk: KIND.delivery + delivery.id,
        id: delivery.id,
        alertName: delivery.alertName,
        eventId,
        channel: JSON.stringify(delivery.channel),
        // Absent on alert deliveries (and on every delivery queued before workflow starts were).
        ...(deliveryKind(delivery.channel) === 'workflow' && { deliveryKind: 'workflow' }),
        event: eventJson,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        leaseUntil: 0,
        lastStatus: null,
        lastError: null,
        createdAt: now,
        updatedAt: now,
        gsi1pk: GSI1_PK.dueDeliveries,
        gsi1sk: dueSk(now, delivery.id),
      });
      queued.push({ ...pointerKey(delivery.id), tenantPk: pk, ttl });
    }
    await this.putAll(queued);
  }

  /** Reads the tenant's retained deliveries: O(deliveries within retention), like the SQLite GROUP BY. */
  async deliveryStats(session: TenantSession, kind: DeliveryKind = 'alert'): Promise<{ pending: number; delivered: number; failed: number }> {
    const stats = { pending: 0, delivered: 0, failed: 0 };
    const items = queryItems(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)',
      FilterExpression: `(attribute_not_exists(#ttl) OR #ttl > :nowSec) AND ${kind === 'workflow' ? 'deliveryKind = :workflow' : 'attribute_not_exists(deliveryKind)'}`,
      ProjectionExpression: '#status',
      ExpressionAttributeNames: { '#ttl': 'ttl', '#status': 'status' },
      ExpressionAttributeValues: {
        ':pk': tenantPk(session),
        ':kind': KIND.delivery,
        ':nowSec': this.nowSeconds(),
        ...(kind === 'workflow' && { ':workflow': 'workflow' }),
      },
      ConsistentRead: true,
    });
    for await (const item of items) stats[item.status as DeliveryStatus]++;
    return stats;
  }

  async recentAttempts(session: TenantSession, limit: number, onlyFailures: boolean, kind: DeliveryKind = 'alert'): Promise<AttemptRecord[]> {
    if (limit <= 0) return [];
    const values: Record<string, unknown> = { ':pk': tenantPk(session), ':kind': KIND.attempt, ':nowSec': this.nowSeconds() };
    if (onlyFailures) values[':false'] = false;
    const found: AttemptRecord[] = [];
    // Workflow start attempts carry their workflow; alert attempts none.
    const ofKind = kind === 'workflow' ? 'attribute_exists(workflow)' : 'attribute_not_exists(workflow)';
    const items = queryItems(this.client, () => ({
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)',
      FilterExpression: `#ttl > :nowSec AND ${ofKind}${onlyFailures ? ' AND ok = :false' : ''}`,
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      Limit: Math.max(50, limit - found.length),
      ConsistentRead: true,
    }));
    for await (const item of items) {
      found.push(toAttempt(item));
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * GSI1 lists due candidates (eventually consistent, so possibly stale); each is then won or lost by a
   * conditional update of the base item, which re-checks status, due time and lease: two processes never
   * both win one delivery, and a stale index entry is simply lost.
   */
  async claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    if (limit <= 0) return [];
    const candidates: Item[] = [];
    const due = queryItems(this.client, {
      TableName: this.table,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :due AND gsi1sk <= :upTo',
      FilterExpression: 'leaseUntil <= :now',
      ProjectionExpression: 'pk, sk',
      ExpressionAttributeValues: { ':due': GSI1_PK.dueDeliveries, ':upTo': `${pad(now)}~`, ':now': now },
      Limit: Math.max(limit, 50),
    });
    for await (const item of due) {
      candidates.push(item);
      if (candidates.length >= limit) break;
    }
    const won = await Promise.all(candidates.map((item) => this.claim(item.pk as string, item.sk as string, now, leaseMs)));
    const claimed = won.filter((delivery): delivery is Item => delivery !== undefined);
    for (const item of claimed) this.remember(item.id as string, item.pk as string);
    return claimed.map(toDelivery);
  }

  /**
   * Updates the delivery first, then logs the attempt: a crash in between loses one log line, never the
   * delivery's progress. An unknown delivery is ignored, as in the SQLite driver.
   */
  async recordAttempt(attempt: AttemptRecord, next: { status: DeliveryStatus; nextAttemptAt: number }): Promise<void> {
    const pk = await this.tenantOfDelivery(attempt.deliveryId);
    this.claimed.delete(attempt.deliveryId);
    if (pk === undefined) return;
    const now = this.now();
    const finished = next.status !== 'pending';
    const values: Record<string, unknown> = {
      ':status': next.status,
      ':attempts': attempt.attempt,
      ':next': next.nextAttemptAt,
      ':zero': 0,
      ':lastStatus': attempt.status,
      ':lastError': attempt.error,
      ':now': now,
    };
    let update = 'SET #status = :status, attempts = :attempts, nextAttemptAt = :next, leaseUntil = :zero, lastStatus = :lastStatus, lastError = :lastError, updatedAt = :now';
    const names: Record<string, string> = { '#status': 'status' };
    if (finished) {
      update += ', #ttl = :ttl REMOVE gsi1pk, gsi1sk';
      names['#ttl'] = 'ttl';
      values[':ttl'] = ttlSeconds(now + this.retentionMs);
    } else {
      update += ', gsi1pk = :due, gsi1sk = :dueSk';
      values[':due'] = GSI1_PK.dueDeliveries;
      values[':dueSk'] = dueSk(next.nextAttemptAt, attempt.deliveryId);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: KIND.delivery + attempt.deliveryId },
          UpdateExpression: update,
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return;
      throw error;
    }
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk,
          sk: attemptSk(attempt),
          deliveryId: attempt.deliveryId,
          alertName: attempt.alertName,
          ...(attempt.workflow !== undefined && { workflow: attempt.workflow }),
          attempt: attempt.attempt,
          at: attempt.at,
          ok: attempt.ok,
          status: attempt.status,
          error: attempt.error,
          durationMs: attempt.durationMs,
          ttl: ttlSeconds(attempt.at + this.retentionMs),
        },
      }),
    );
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  private async claim(pk: string, sk: string, now: number, leaseMs: number): Promise<Item | undefined> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk },
          UpdateExpression: 'SET leaseUntil = :until',
          ConditionExpression: '#status = :pending AND nextAttemptAt <= :now AND leaseUntil <= :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':until': now + leaseMs, ':pending': 'pending', ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  private remember(deliveryId: string, pk: string): void {
    if (this.claimed.size >= CLAIMED_REMEMBERED) this.claimed.delete(this.claimed.keys().next().value!);
    this.claimed.set(deliveryId, pk);
  }

  /** From this instance's claims, else from the pointer written with the delivery (claimed by another instance). */
  private async tenantOfDelivery(deliveryId: string): Promise<string | undefined> {
    const known = this.claimed.get(deliveryId);
    if (known !== undefined) return known;
    const pointer = await this.client.send(new GetCommand({ TableName: this.table, Key: pointerKey(deliveryId), ConsistentRead: true }));
    return pointer.Item?.tenantPk as string | undefined;
  }

  /** BatchWriteItem in chunks of 25, retrying what DynamoDB leaves unprocessed (throttling) with backoff. */
  private async putAll(items: Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
      let requests = items.slice(i, i + BATCH_WRITE_MAX).map((item) => ({ PutRequest: { Item: item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) {
          // Not retryable: deliveries already written may be sent, and a retry would queue them again.
          if (attempt > BATCH_WRITE_RETRIES) throw new MeshError('unavailable', 'the event table is throttling writes; retry shortly');
          await sleep(Math.min(1_000, 25 * 2 ** attempt) * (0.5 + Math.random()));
        }
        const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (result.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      }
    }
  }
}
