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

/**
 * A rule's workflow target to start because an event matched. It is queued and retried like an alert
 * delivery (whose `alertName` then holds the rule's name), so a start refused for a quota or a rate limit
 * is tried again, and a process stopped between storing the event and starting the workflow starts it later.
 */
export interface WorkflowStartTarget {
  type: 'workflow';
  workflow: string;
  /** Names the execution, so a start tried twice (a retry, two processes) makes one execution. */
  executionName: string;
  /** The input to start it with; absent: the event itself. */
  input?: unknown;
  /** The rule's creator, whom the execution runs as (absent for rules stored before creators were recorded). */
  createdBy?: Principal;
  /**
   * How many rule starts lead up to this one: 1, or one more than the depth of the rule-started execution
   * whose lifecycle event matched. Starts past the loop limit are refused, so a rule cannot re-start forever.
   */
  depth: number;
}

/** Where a queued delivery goes: an alert's channel, or a rule's workflow target. */
export type DeliveryTarget = AlertChannel | WorkflowStartTarget;

export type DeliveryKind = 'alert' | 'workflow';

export const deliveryKind = (target: DeliveryTarget): DeliveryKind => (target.type === 'workflow' ? 'workflow' : 'alert');

/** An alert to send or a workflow to start because an event matched; stored in the same transaction as the event. */
export interface NewDelivery {
  id: string;
  /** The alert's name; for a workflow start, the name of the rule that matched. */
  alertName: string;
  channel: DeliveryTarget;
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
  /** The alert's name; for a workflow start, the rule's. */
  alertName: string;
  eventId: string;
  channel: DeliveryTarget;
  event: EventEnvelope;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
}

export interface AttemptRecord {
  deliveryId: string;
  /** The alert's name; for a workflow start, the rule's. */
  alertName: string;
  /** For a workflow start: the workflow (absent for alert deliveries). */
  workflow?: string;
  attempt: number;
  at: number;
  ok: boolean;
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** Events, rules and alerts of a tenant, plus the durable queue of alert deliveries and rule workflow starts. */
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

  /** Counts the tenant's retained deliveries of one kind (alert deliveries unless told) by status. */
  deliveryStats(session: TenantSession, kind?: DeliveryKind): Promise<{ pending: number; delivered: number; failed: number }>;
  /** The tenant's latest attempts of one kind (alert deliveries unless told), newest first. */
  recentAttempts(session: TenantSession, limit: number, onlyFailures: boolean, kind?: DeliveryKind): Promise<AttemptRecord[]>;

  // System maintenance, across tenants (the dispatcher and retention run as no tenant).
  /** Leases up to `limit` due deliveries for `leaseMs`, so no other process sends them meanwhile. */
  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]>;
  recordAttempt(attempt: AttemptRecord, next: { status: DeliveryStatus; nextAttemptAt: number }): Promise<void>;
  /** Deletes events received before `receivedBeforeMs` and finished deliveries older than it. */
  prune(receivedBeforeMs: number): Promise<number>;
  ping(): Promise<void>;
}
