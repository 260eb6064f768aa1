import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  AlertRecord,
  AnalyticsQuery,
  AnalyticsRow,
  AttemptRecord,
  DeliveryKind,
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
import { DynamoAlertDeliveries } from './dynamo-alert-deliveries.js';
import { DynamoEventRules } from './dynamo-event-rules.js';
import { queryItems } from './query-pages.js';
import { KIND, pad, tenantPk, ttlSeconds } from './table-keys.js';

export interface DynamoEventStoreOptions {
  /** How long events, attempts and finished deliveries are kept (events.retentionDays); DynamoDB TTL deletes them after. */
  retentionMs: number;
  now?: () => number;
}

const eventSk = (timeMs: number, id: string) => `${KIND.event}${pad(timeMs)}#${id}`;
const PING_KEY = { pk: 'SYS#PING', sk: 'PING' };

/**
 * Events, rules, alerts and the alert delivery queue in the single table (see table-keys.ts).
 *
 * Per tenant partition: EV#<time>#<id> events, RULE#/ALERT#<name>, RULESREV (revision + the rules lock),
 * DLV#<id> deliveries, ATT#<at>#<attempt>#<delivery> attempts. Pending deliveries also carry GSI1
 * (DUE, <nextAttemptAt>#<id>), the only cross-tenant read. Events, attempts and finished deliveries get a
 * `ttl` of retentionMs: DynamoDB deletes them, reads skip them until it does, and prune() has nothing to do.
 * Rules and alerts are in dynamo-event-rules.ts, deliveries and attempts in dynamo-alert-deliveries.ts.
 */
export class DynamoEventStore implements EventStore {
  private readonly now: () => number;
  private readonly retentionMs: number;
  private readonly rules: DynamoEventRules;
  private readonly deliveries: DynamoAlertDeliveries;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    options: DynamoEventStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.retentionMs = options.retentionMs;
    this.rules = new DynamoEventRules(client, table);
    this.deliveries = new DynamoAlertDeliveries(client, table, { now: this.now, retentionMs: this.retentionMs });
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
    await this.deliveries.queue(pk, deliveries, envelope.id, eventJson, now);
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
    const items = queryItems(this.client, () => ({
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
      FilterExpression: filters.join(' AND '),
      ProjectionExpression: 'sk, timeMs, envelope',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      // Limit counts items before the filter: read wider pages when the filter is likely to drop many.
      Limit: selective ? Math.max(100, query.limit - found.length) : query.limit - found.length + 1,
      ConsistentRead: true,
    }));
    for await (const item of items) {
      if (item.sk === beforeSk) continue;
      found.push({ timeMs: item.timeMs as number, envelope: JSON.parse(item.envelope as string) as EventEnvelope });
      if (found.length >= query.limit) break;
    }
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
    const items = queryItems(this.client, {
      TableName: this.table,
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
      ConsistentRead: true,
    });
    for await (const item of items) {
      const bucketStartMs = Math.floor((item.timeMs as number) / query.bucketMs) * query.bucketMs;
      const group = item[column] as string;
      const key = `${bucketStartMs}\u0000${group}`;
      const row = counts.get(key);
      if (row) row.count++;
      else counts.set(key, { bucketStartMs, group, count: 1 });
    }
    return [...counts.values()].sort((a, b) => a.bucketStartMs - b.bucketStartMs || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  }

  // --- rules and alerts (dynamo-event-rules.ts) ---

  putRule(session: TenantSession, rule: RuleRecord): Promise<{ created: boolean }> {
    return this.rules.putRule(session, rule);
  }

  listRules(session: TenantSession): Promise<RuleRecord[]> {
    return this.rules.listRules(session);
  }

  deleteRule(session: TenantSession, name: string): Promise<boolean> {
    return this.rules.deleteRule(session, name);
  }

  putAlert(session: TenantSession, alert: AlertRecord): Promise<{ created: boolean }> {
    return this.rules.putAlert(session, alert);
  }

  listAlerts(session: TenantSession): Promise<AlertRecord[]> {
    return this.rules.listAlerts(session);
  }

  deleteAlert(session: TenantSession, name: string): Promise<boolean> {
    return this.rules.deleteAlert(session, name);
  }

  rulesRevision(session: TenantSession): Promise<number> {
    return this.rules.rulesRevision(session);
  }

  // --- deliveries and attempts (dynamo-alert-deliveries.ts) ---

  deliveryStats(session: TenantSession, kind?: DeliveryKind): Promise<{ pending: number; delivered: number; failed: number }> {
    return this.deliveries.deliveryStats(session, kind);
  }

  recentAttempts(session: TenantSession, limit: number, onlyFailures: boolean, kind?: DeliveryKind): Promise<AttemptRecord[]> {
    return this.deliveries.recentAttempts(session, limit, onlyFailures, kind);
  }

  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    return this.deliveries.claimDueDeliveries(now, limit, leaseMs);
  }

  recordAttempt(attempt: AttemptRecord, next: { status: DeliveryStatus; nextAttemptAt: number }): Promise<void> {
    return this.deliveries.recordAttempt(attempt, next);
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
}
