import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { MeshError, conflict, quotaExceeded } from '../../errors.js';
import type { AlertChannel } from '../../ports/alert-sink.js';
import type {
  AlertRecord,
  AnalyticsQuery,
  AnalyticsRow,
  AttemptRecord,
  DeliveryRecord,
  DeliveryStatus,
  EventEnvelope,
  EventQuery,
  EventStore,
  NewDelivery,
  RuleRecord,
  StoredEvent,
} from '../../ports/event-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { GSI1, GSI1_PK, KIND, pad, tenantIdOfPk, tenantPk, ttlSeconds } from './table-keys.js';

type Item = Record<string, unknown>;

export interface DynamoEventStoreOptions {
  /** How long events, attempts and finished deliveries are kept (events.retentionDays); DynamoDB TTL deletes them after. */
  retentionMs: number;
  now?: () => number;
}

const BATCH_WRITE_MAX = 25;
const BATCH_WRITE_RETRIES = 8;
/** How long one call may hold a tenant's rules lock; a crashed holder blocks others at most this long. */
const RULES_LOCK_MS = 5_000;
const CLAIMED_REMEMBERED = 10_000;

const eventSk = (timeMs: number, id: string) => `${KIND.event}${pad(timeMs)}#${id}`;
/** Newest first by (at, attempt), as the SQLite driver orders them. */
const attemptSk = (a: AttemptRecord) => `${KIND.attempt}${pad(a.at)}#${pad(a.attempt, 6)}#${a.deliveryId}`;
const dueSk = (nextAttemptAt: number, id: string) => `${pad(nextAttemptAt)}#${id}`;
/** Delivery id → tenant partition, for recordAttempt (whose port gives only the id). One partition per delivery: no hot key. */
const pointerKey = (deliveryId: string) => ({ pk: `SYS#DLV#${deliveryId}`, sk: KIND.delivery });
const PING_KEY = { pk: 'SYS#PING', sk: 'PING' };

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

function toRule(item: Item): RuleRecord {
  return {
    name: item.name as string,
    pattern: item.pattern as string,
    targets: JSON.parse(item.targets as string) as RuleRecord['targets'],
    description: item.description as string,
    enabled: item.enabled as boolean,
    createdAt: item.createdAt as number,
    updatedAt: item.updatedAt as number,
  };
}

function toDelivery(item: Item): DeliveryRecord {
  return {
    id: item.id as string,
    tenantId: tenantIdOfPk(item.pk as string),
    alertName: item.alertName as string,
    eventId: item.eventId as string,
    channel: JSON.parse(item.channel as string) as AlertChannel,
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
    attempt: item.attempt as number,
    at: item.at as number,
    ok: item.ok as boolean,
    status: (item.status as number | null | undefined) ?? null,
    error: (item.error as string | null | undefined) ?? null,
    durationMs: item.durationMs as number,
  };
}

/**
 * Events, rules, alerts and the alert delivery queue in the single table (see table-keys.ts).
 *
 * Per tenant partition: EV#<time>#<id> events, RULE#/ALERT#<name>, RULESREV (revision + the rules lock),
 * DLV#<id> deliveries, ATT#<at>#<attempt>#<delivery> attempts. Pending deliveries also carry GSI1
 * (DUE, <nextAttemptAt>#<id>), the only cross-tenant read. Events, attempts and finished deliveries get a
 * `ttl` of retentionMs: DynamoDB deletes them, reads skip them until it does, and prune() has nothing to do.
 */
export class DynamoEventStore implements EventStore {
  private readonly now: () => number;
  private readonly retentionMs: number;
  /** Deliveries this instance claimed → tenant pk, so recordAttempt needs no read; the pointer item covers the rest. */
  private readonly claimed = new Map<string, string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoEventStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.retentionMs = options.retentionMs;
  }

  /**
   * There are no transactions: the deliveries (and their pointers) are written first, the event last, so a
   * crash in between leaves at worst a delivery for an event that was never stored. The alert is still
   * sent (at-least-once holds); the reverse order could store a matched event whose alert is never sent.
   */
  async append(session: TenantSession, event: StoredEvent, deliveries: NewDelivery[]): Promise<void> {
    const pk = tenantPk(session);
    const now = this.now();
    const ttl = ttlSeconds(now + this.retentionMs);
    const { envelope } = event;
    const eventJson = JSON.stringify(envelope);
    const queued: Item[] = [];
    for (const delivery of deliveries) {
      queued.push({
        pk,
        sk: KIND.delivery + delivery.id,
        id: delivery.id,
        alertName: delivery.alertName,
        eventId: envelope.id,
        channel: JSON.stringify(delivery.channel),
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
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk,
          sk: eventSk(event.timeMs, envelope.id),
          timeMs: event.timeMs,
          source: envelope.source,
          detailType: envelope['detail-type'],
          envelope: eventJson,
          receivedAt: now,
          ttl,
        },
      }),
    );
  }

  async query(session: TenantSession, query: EventQuery): Promise<StoredEvent[]> {
    const pk = tenantPk(session);
    // Sort keys are EV#<15-digit time>#<id>: a bare time bound sorts before every event at that time.
    const low = KIND.event + (query.startMs === undefined ? '' : pad(query.startMs));
    let high = KIND.event + (query.endMs === undefined ? '~' : pad(query.endMs));
    const beforeSk = query.before && eventSk(query.before.timeMs, query.before.id);
    if (beforeSk !== undefined && beforeSk < high) high = beforeSk; // inclusive: the item itself is skipped below
    if (low > high || query.limit <= 0) return [];

    const names: Record<string, string> = { '#ttl': 'ttl' };
    const values: Record<string, unknown> = { ':pk': pk, ':low': low, ':high': high, ':nowSec': this.nowSeconds() };
    const filters = ['#ttl > :nowSec'];
    if (query.source !== undefined) (filters.push('#source = :source'), (names['#source'] = 'source'), (values[':source'] = query.source));
    if (query.detailType !== undefined) (filters.push('detailType = :detailType'), (values[':detailType'] = query.detailType));
    const selective = filters.length > 1;

    const found: StoredEvent[] = [];
    await this.forEachPage(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
        FilterExpression: filters.join(' AND '),
        ProjectionExpression: 'sk, timeMs, envelope',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
      },
      // Limit counts items before the filter: read wider pages when the filter is likely to drop many.
      () => (selective ? Math.max(100, query.limit - found.length) : query.limit - found.length + 1),
      (item) => {
        if (item.sk === beforeSk) return true;
        found.push({ timeMs: item.timeMs as number, envelope: JSON.parse(item.envelope as string) as EventEnvelope });
        return found.length < query.limit;
      },
    );
    return found;
  }

  /**
   * Reads every event of the window and counts in memory: O(events in the window) read units per call.
   * Fine at the event rates the embedded default serves; at scale, keep per-bucket counters (ADD on append).
   */
  async analytics(session: TenantSession, query: AnalyticsQuery): Promise<AnalyticsRow[]> {
    if (query.startMs >= query.endMs) return [];
    const column = query.groupBy === 'source' ? 'source' : 'detailType';
    const counts = new Map<string, AnalyticsRow>();
    await this.forEachPage(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
        FilterExpression: '#ttl > :nowSec',
        ProjectionExpression: 'timeMs, #group',
        ExpressionAttributeNames: { '#ttl': 'ttl', '#group': column },
        ExpressionAttributeValues: {
          ':pk': tenantPk(session),
          ':low': KIND.event + pad(query.startMs),
          ':high': KIND.event + pad(query.endMs),
          ':nowSec': this.nowSeconds(),
        },
      },
      () => undefined,
      (item) => {
        const bucketStartMs = Math.floor((item.timeMs as number) / query.bucketMs) * query.bucketMs;
        const group = item[column] as string;
        const key = `${bucketStartMs}\u0000${group}`;
        const row = counts.get(key);
        if (row) row.count++;
        else counts.set(key, { bucketStartMs, group, count: 1 });
        return true;
      },
    );
    return [...counts.values()].sort((a, b) => a.bucketStartMs - b.bucketStartMs || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  }

  async putRule(session: TenantSession, rule: RuleRecord): Promise<{ created: boolean }> {
    const pk = tenantPk(session);
    return this.changeRules(pk, async () => {
      const existing = await this.get(pk, KIND.rule + rule.name);
      if (!existing) await this.checkQuota(pk, KIND.rule, 'maxRules', 'rules', session.limits.maxRules);
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk,
            sk: KIND.rule + rule.name,
            name: rule.name,
            pattern: rule.pattern,
            targets: JSON.stringify(rule.targets),
            description: rule.description,
            enabled: rule.enabled,
            createdAt: (existing?.createdAt as number | undefined) ?? rule.createdAt,
            updatedAt: rule.updatedAt,
          },
        }),
      );
      return { result: { created: !existing }, changed: true };
    });
  }

  async listRules(session: TenantSession): Promise<RuleRecord[]> {
    return (await this.listKind(tenantPk(session), KIND.rule)).map(toRule);
  }

  async deleteRule(session: TenantSession, name: string): Promise<boolean> {
    const pk = tenantPk(session);
    return this.changeRules(pk, async () => {
      const deleted = await this.delete(pk, KIND.rule + name);
      return { result: deleted, changed: deleted };
    });
  }

  async putAlert(session: TenantSession, alert: AlertRecord): Promise<{ created: boolean }> {
    const pk = tenantPk(session);
    return this.changeRules(pk, async () => {
      const existing = await this.get(pk, KIND.alert + alert.name);
      if (!existing) await this.checkQuota(pk, KIND.alert, 'maxAlerts', 'alerts', session.limits.maxAlerts);
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk,
            sk: KIND.alert + alert.name,
            name: alert.name,
            pattern: alert.pattern,
            channel: JSON.stringify(alert.channel),
            createdAt: (existing?.createdAt as number | undefined) ?? alert.createdAt,
          },
        }),
      );
      return { result: { created: !existing }, changed: true };
    });
  }

  async listAlerts(session: TenantSession): Promise<AlertRecord[]> {
    return (await this.listKind(tenantPk(session), KIND.alert)).map((item) => ({
      name: item.name as string,
      pattern: item.pattern as string,
      channel: JSON.parse(item.channel as string) as AlertChannel,
      createdAt: item.createdAt as number,
    }));
  }

  async deleteAlert(session: TenantSession, name: string): Promise<boolean> {
    const pk = tenantPk(session);
    return this.changeRules(pk, async () => {
      const users = (await this.listKind(pk, KIND.rule))
        .map(toRule)
        .filter((rule) => rule.targets.some((t) => t.type === 'alert' && t.name === name));
      if (users.length > 0) {
        throw conflict(`alert "${name}" is a target of rule ${users.map((r) => `"${r.name}"`).join(', ')}; delete or change the rule first`);
      }
      const deleted = await this.delete(pk, KIND.alert + name);
      return { result: deleted, changed: deleted };
    });
  }

  async rulesRevision(session: TenantSession): Promise<number> {
    return ((await this.get(tenantPk(session), KIND.rulesRevision))?.revision as number | undefined) ?? 0;
  }

  /** Reads the tenant's retained deliveries: O(deliveries within retention), like the SQLite GROUP BY. */
  async deliveryStats(session: TenantSession): Promise<{ pending: number; delivered: number; failed: number }> {
    const stats = { pending: 0, delivered: 0, failed: 0 };
    await this.forEachPage(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)',
        FilterExpression: 'attribute_not_exists(#ttl) OR #ttl > :nowSec',
        ProjectionExpression: '#status',
        ExpressionAttributeNames: { '#ttl': 'ttl', '#status': 'status' },
        ExpressionAttributeValues: { ':pk': tenantPk(session), ':kind': KIND.delivery, ':nowSec': this.nowSeconds() },
      },
      () => undefined,
      (item) => {
        stats[item.status as DeliveryStatus]++;
        return true;
      },
    );
    return stats;
  }

  async recentAttempts(session: TenantSession, limit: number, onlyFailures: boolean): Promise<AttemptRecord[]> {
    if (limit <= 0) return [];
    const values: Record<string, unknown> = { ':pk': tenantPk(session), ':kind': KIND.attempt, ':nowSec': this.nowSeconds() };
    if (onlyFailures) values[':false'] = false;
    const found: AttemptRecord[] = [];
    await this.forEachPage(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)',
        FilterExpression: `#ttl > :nowSec${onlyFailures ? ' AND ok = :false' : ''}`,
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
      },
      () => (onlyFailures ? Math.max(50, limit - found.length) : limit - found.length),
      (item) => {
        found.push(toAttempt(item));
        return found.length < limit;
      },
    );
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
    await this.forEachPage(
      {
        IndexName: GSI1,
        KeyConditionExpression: 'gsi1pk = :due AND gsi1sk <= :upTo',
        FilterExpression: 'leaseUntil <= :now',
        ProjectionExpression: 'pk, sk',
        ExpressionAttributeValues: { ':due': GSI1_PK.dueDeliveries, ':upTo': `${pad(now)}~`, ':now': now },
      },
      () => Math.max(limit, 50),
      (item) => {
        candidates.push(item);
        return candidates.length < limit;
      },
    );
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

  /**
   * Nothing to do: events, attempts and finished deliveries carry a `ttl` of retentionMs (the same
   * retention the server passes here as a cutoff), DynamoDB TTL deletes them, and every read skips
   * expired items until it does. A Scan to delete them here would read the whole table.
   */
  async prune(_receivedBeforeMs: number): Promise<number> {
    return 0;
  }

  async ping(): Promise<void> {
    await this.client.send(new GetCommand({ TableName: this.table, Key: PING_KEY }));
  }

  // --- helpers ---

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /**
   * Runs Query pages (on the base table: consistently) until `visit` returns false or the results end.
   * `limit` gives each page's Limit (undefined: as many as fit in 1 MB).
   */
  private async forEachPage(input: Omit<QueryCommandInput, 'TableName'>, limit: () => number | undefined, visit: (item: Item) => boolean): Promise<void> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          ...(input.IndexName === undefined && { ConsistentRead: true }),
          ...input,
          Limit: limit(),
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) if (!visit(item)) return;
      start = page.LastEvaluatedKey;
    } while (start);
  }

  private async listKind(pk: string, kind: string): Promise<Item[]> {
    const items: Item[] = [];
    await this.forEachPage(
      { KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)', ExpressionAttributeValues: { ':pk': pk, ':kind': kind } },
      () => undefined,
      (item) => items.push(item) > 0,
    );
    return items;
  }

  private async get(pk: string, sk: string): Promise<Item | undefined> {
    return (await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }))).Item;
  }

  private async delete(pk: string, sk: string): Promise<boolean> {
    const result = await this.client.send(new DeleteCommand({ TableName: this.table, Key: { pk, sk }, ReturnValues: 'ALL_OLD' }));
    return result.Attributes !== undefined;
  }

  /** Counts with Select COUNT: bounded by the quota itself, and run under the rules lock, so exact. */
  private async checkQuota(pk: string, kind: string, limit: 'maxRules' | 'maxAlerts', noun: string, max: number): Promise<void> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)',
          ExpressionAttributeValues: { ':pk': pk, ':kind': kind },
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    if (count >= max) throw quotaExceeded(limit, max, `tenant has ${count} ${noun}, the limit ${limit} is ${max}`);
  }

  /**
   * Changes to a tenant's rules and alerts run one at a time under a short lease on the RULESREV item, which
   * makes the quota count and deleteAlert's "no rule targets it" check exact, as SQLite's transactions do.
   * The revision grows only after the change is written, so a process that sees the new revision and lists
   * (consistently) sees the change too.
   */
  private async changeRules<T>(pk: string, change: () => Promise<{ result: T; changed: boolean }>): Promise<T> {
    const owner = randomUUID();
    await this.lockRules(pk, owner);
    let outcome: { result: T; changed: boolean };
    try {
      outcome = await change();
    } catch (error) {
      await this.unlockRules(pk, owner, false).catch(() => {}); // the lease runs out anyway
      throw error;
    }
    await this.unlockRules(pk, owner, outcome.changed);
    return outcome.result;
  }

  /** Lease times are wall-clock time across processes, not the injectable clock of stored timestamps. */
  private async lockRules(pk: string, owner: string): Promise<void> {
    const deadline = Date.now() + RULES_LOCK_MS + 1_000;
    for (let attempt = 0; ; attempt++) {
      const now = Date.now();
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk, sk: KIND.rulesRevision },
            UpdateExpression: 'SET lockOwner = :owner, lockUntil = :until',
            ConditionExpression: 'attribute_not_exists(lockUntil) OR lockUntil <= :now',
            ExpressionAttributeValues: { ':owner': owner, ':until': now + RULES_LOCK_MS, ':now': now },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (now > deadline) {
          throw new MeshError('unavailable', 'rules and alerts of this tenant are being changed by another call; retry shortly', {}, { retryable: true });
        }
        await sleep(Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  }

  private async unlockRules(pk: string, owner: string, changed: boolean): Promise<void> {
    const key = { pk, sk: KIND.rulesRevision };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: `REMOVE lockOwner, lockUntil${changed ? ' ADD revision :one' : ''}`,
          ConditionExpression: 'lockOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner, ...(changed && { ':one': 1 }) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Our lease ran out and another call holds the lock now: the change is written, so the revision must still grow.
      if (changed) {
        await this.client.send(
          new UpdateCommand({ TableName: this.table, Key: key, UpdateExpression: 'ADD revision :one', ExpressionAttributeValues: { ':one': 1 } }),
        );
      }
    }
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
