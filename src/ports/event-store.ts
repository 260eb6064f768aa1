import type { Principal } from '../tenancy/principal.js';
import type { TenantSession } from '../tenancy/session.js';
import type { AlertChannel } from './alert-sink.js';

/** An event as EventBridge shapes it. Tenant context is injected into detail.tenant_context. */
export type EventEnvelope = {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO 8601, second precision, as EventBridge writes it. */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
};

export interface StoredEvent {
  envelope: EventEnvelope;
  /** Event time in epoch ms (from the envelope's time, kept to the millisecond). */
  timeMs: number;
}

/** An alert to send because an event matched; stored in the same transaction as the event. */
export interface NewDelivery {
  id: string;
  alertName: string;
  channel: AlertChannel;
}

export interface EventQuery {
  source?: string;
  detailType?: string;
  startMs?: number;
  endMs?: number;
  /** Continue strictly before this (timeMs, id) position: newest first. */
  before?: { timeMs: number; id: string };
  limit: number;
}

export interface AnalyticsQuery {
  startMs: number;
  endMs: number;
  bucketMs: number;
  groupBy: 'detail_type' | 'source';
}

export interface AnalyticsRow {
  bucketStartMs: number;
  group: string;
  count: number;
}

export interface RuleTarget {
  type: 'alert' | 'workflow';
  /** The alert's or the workflow's name. */
  name: string;
  /** For workflow targets: the input to start it with (default: the event). */
  input?: unknown;
}

export interface RuleRecord {
  name: string;
  pattern: string;
  targets: RuleTarget[];
  description: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  /**
   * Who created (or last replaced) it: the workflows it starts run as this user, with these permissions.
   * Absent on rules stored before creators were recorded.
   */
  createdBy?: Principal;
}

export interface AlertRecord {
  name: string;
  pattern: string;
  channel: AlertChannel;
  createdAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  id: string;
  tenantId: string;
  alertName: string;
  eventId: string;
  channel: AlertChannel;
  event: EventEnvelope;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
}

export interface AttemptRecord {
  deliveryId: string;
  alertName: string;
  attempt: number;
  at: number;
  ok: boolean;
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** Events, rules and alerts of a tenant, plus the durable queue of alert deliveries. */
export interface EventStore {
  /** Stores the event and queues its deliveries atomically. */
  append(session: TenantSession, event: StoredEvent, deliveries: NewDelivery[]): Promise<void>;
  query(session: TenantSession, query: EventQuery): Promise<StoredEvent[]>;
  analytics(session: TenantSession, query: AnalyticsQuery): Promise<AnalyticsRow[]>;

  /** Creates or replaces a rule. Throws quota_exceeded past session.limits.maxRules. */
  putRule(session: TenantSession, rule: RuleRecord): Promise<{ created: boolean }>;
  listRules(session: TenantSession): Promise<RuleRecord[]>;
  deleteRule(session: TenantSession, name: string): Promise<boolean>;
  /** Creates or replaces an alert. Throws quota_exceeded past session.limits.maxAlerts. */
  putAlert(session: TenantSession, alert: AlertRecord): Promise<{ created: boolean }>;
  listAlerts(session: TenantSession): Promise<AlertRecord[]>;
  /** Deletes an alert; throws conflict while a rule targets it. */
  deleteAlert(session: TenantSession, name: string): Promise<boolean>;
  /** Grows whenever the tenant's rules or alerts change, in any process sharing the store. */
  rulesRevision(session: TenantSession): Promise<number>;

  deliveryStats(session: TenantSession): Promise<{ pending: number; delivered: number; failed: number }>;
  recentAttempts(session: TenantSession, limit: number, onlyFailures: boolean): Promise<AttemptRecord[]>;

  // System maintenance, across tenants (the dispatcher and retention run as no tenant).
  /** Leases up to `limit` due deliveries for `leaseMs`, so no other process sends them meanwhile. */
  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]>;
  recordAttempt(attempt: AttemptRecord, next: { status: DeliveryStatus; nextAttemptAt: number }): Promise<void>;
  /** Deletes events received before `receivedBeforeMs` and finished deliveries older than it. */
  prune(receivedBeforeMs: number): Promise<number>;
  ping(): Promise<void>;
}
