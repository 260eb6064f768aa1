import { conflict, quotaExceeded } from '../../errors.js';
import type { AlertChannel } from '../../ports/alert-sink.js';
import {
  deliveryKind,
  type DeliveryKind,
  type DeliveryTarget,
  type AlertRecord,
  type AnalyticsQuery,
  type AnalyticsRow,
  type AttemptRecord,
  type DeliveryRecord,
  type DeliveryStatus,
  type EventQuery,
  type EventStore,
  type NewDelivery,
  type RuleRecord,
  type StoredEvent,
} from '../../ports/event-store.js';
import { parsePrincipal, principalJson } from '../../tenancy/principal.js';
import type { TenantSession } from '../../tenancy/session.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './sqlite-database.js';
import { tenantPartition } from './tenant-partition.js';

interface RuleRow {
  name: string;
  pattern: string;
  targets: string;
  description: string;
  enabled: number;
  created_ms: number;
  updated_ms: number;
  created_by: string | null;
}

interface AlertRow {
  name: string;
  pattern: string;
  channel: string;
  created_ms: number;
}

interface DeliveryRow {
  id: string;
  tenant: string;
  alert_name: string;
  event_id: string;
  channel: string;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_ms: number;
  last_status: number | null;
  last_error: string | null;
}

interface AttemptRow {
  delivery_id: string;
  alert_name: string;
  workflow: string | null;
  attempt: number;
  at_ms: number;
  ok: number;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

function toRule(row: RuleRow): RuleRecord {
  const createdBy = parsePrincipal(row.created_by);
  return {
    name: row.name,
    pattern: row.pattern,
    targets: JSON.parse(row.targets) as RuleRecord['targets'],
    description: row.description,
    enabled: row.enabled === 1,
    createdAt: row.created_ms,
    updatedAt: row.updated_ms,
    ...(createdBy && { createdBy }),
  };
}

const toAttempt = (row: AttemptRow): AttemptRecord => ({
  deliveryId: row.delivery_id,
  alertName: row.alert_name,
  ...(row.workflow !== null && { workflow: row.workflow }),
  attempt: row.attempt,
  at: row.at_ms,
  ok: row.ok === 1,
  status: row.status,
  error: row.error,
  durationMs: row.duration_ms,
});

function analyticsStatement(db: SqliteDatabase, column: 'source' | 'detail_type') {
  return db.prepare<[{ bucketMs: number; tenant: string; startMs: number; endMs: number }], AnalyticsRow>(
    `SELECT (time_ms / CAST(@bucketMs AS INTEGER)) * CAST(@bucketMs AS INTEGER) AS bucketStartMs, ${column} AS "group", COUNT(*) AS count FROM events
     WHERE tenant = @tenant AND time_ms >= @startMs AND time_ms < @endMs GROUP BY 1, 2 ORDER BY 1, 2`,
  );
}

/** Events, rules, alerts and the delivery queue in the shared SQLite database. */
export class SqliteEventStore implements EventStore {
  private readonly sql;
  private readonly appendTx;
  private readonly putRuleTx;
  private readonly putAlertTx;
  private readonly deleteRuleTx;
  private readonly deleteAlertTx;
  private readonly claimTx;
  private readonly recordTx;
  /** One prepared statement per combination of query filters (at most 32). */
  private readonly queries = new Map<string, Statement<unknown[], { time_ms: number; envelope: string }>>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly now: () => number = Date.now,
  ) {
    this.sql = {
      insertEvent: db.prepare(
        'INSERT INTO events (tenant, time_ms, id, source, detail_type, received_ms, envelope) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertDelivery: db.prepare(
        `INSERT INTO deliveries (id, tenant, alert_name, event_id, channel, event, status, attempts, next_attempt_ms, created_ms, updated_ms, kind)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
      ),
      analytics: {
        source: analyticsStatement(db, 'source'),
        detail_type: analyticsStatement(db, 'detail_type'),
      },
      rule: db.prepare<[string, string], RuleRow>('SELECT * FROM event_rules WHERE tenant = ? AND name = ?'),
      rules: db.prepare<[string], RuleRow>('SELECT * FROM event_rules WHERE tenant = ? ORDER BY name'),
      ruleCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM event_rules WHERE tenant = ?'),
      upsertRule: db.prepare(
        `INSERT INTO event_rules (tenant, name, pattern, targets, description, enabled, created_ms, updated_ms, created_by)
         VALUES (@tenant, @name, @pattern, @targets, @description, @enabled, @createdAt, @updatedAt, @createdBy)
         ON CONFLICT (tenant, name) DO UPDATE SET pattern = excluded.pattern, targets = excluded.targets,
           description = excluded.description, enabled = excluded.enabled, updated_ms = excluded.updated_ms,
           created_by = excluded.created_by`,
      ),
      deleteRule: db.prepare('DELETE FROM event_rules WHERE tenant = ? AND name = ?'),
      alert: db.prepare<[string, string], AlertRow>('SELECT * FROM event_alerts WHERE tenant = ? AND name = ?'),
      alerts: db.prepare<[string], AlertRow>('SELECT * FROM event_alerts WHERE tenant = ? ORDER BY name'),
      alertCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM event_alerts WHERE tenant = ?'),
      upsertAlert: db.prepare(
        `INSERT INTO event_alerts (tenant, name, pattern, channel, created_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (tenant, name) DO UPDATE SET pattern = excluded.pattern, channel = excluded.channel`,
      ),
      deleteAlert: db.prepare('DELETE FROM event_alerts WHERE tenant = ? AND name = ?'),
      revision: db.prepare<[string], { revision: number }>('SELECT revision FROM rule_revisions WHERE tenant = ?'),
      bumpRevision: db.prepare(
        `INSERT INTO rule_revisions (tenant, revision) VALUES (?, 1)
         ON CONFLICT (tenant) DO UPDATE SET revision = revision + 1`,
      ),
      deliveryStats: db.prepare<[string, DeliveryKind], { status: DeliveryStatus; n: number }>(
        'SELECT status, COUNT(*) AS n FROM deliveries WHERE tenant = ? AND kind = ? GROUP BY status',
      ),
      recentAttempts: db.prepare<[string, number, number, number], AttemptRow>(
        `SELECT * FROM delivery_attempts WHERE tenant = ? AND (ok = 0 OR ? = 0) AND (workflow IS NOT NULL) = ?
         ORDER BY at_ms DESC, attempt DESC LIMIT ?`,
      ),
      due: db.prepare<[number, number, number], DeliveryRow>(
        `SELECT * FROM deliveries WHERE status = 'pending' AND next_attempt_ms <= ? AND lease_until_ms <= ?
         ORDER BY next_attempt_ms LIMIT ?`,
      ),
      lease: db.prepare('UPDATE deliveries SET lease_until_ms = ? WHERE id = ?'),
      anyDue: db.prepare<[number, number], { found: number }>(
        `SELECT 1 AS found FROM deliveries WHERE status = 'pending' AND next_attempt_ms <= ? AND lease_until_ms <= ? LIMIT 1`,
      ),
      insertAttempt: db.prepare(
        `INSERT OR REPLACE INTO delivery_attempts (tenant, delivery_id, alert_name, attempt, at_ms, ok, status, error, duration_ms, workflow)
         SELECT tenant, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM deliveries WHERE id = ?`,
      ),
      finishAttempt: db.prepare(
        `UPDATE deliveries SET status = ?, attempts = ?, next_attempt_ms = ?, lease_until_ms = 0, last_status = ?, last_error = ?,
           updated_ms = ? WHERE id = ?`,
      ),
      pruneEvents: db.prepare('DELETE FROM events WHERE received_ms < ?'),
      pruneAttempts: db.prepare(
        `DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE status != 'pending' AND updated_ms < ?)`,
      ),
      pruneDeliveries: db.prepare(`DELETE FROM deliveries WHERE status != 'pending' AND updated_ms < ?`),
      ping: db.prepare('SELECT 1'),
    };

    this.appendTx = db.transaction((tenant: string, event: StoredEvent, deliveries: NewDelivery[], now: number) => {
      const { envelope } = event;
      this.sql.insertEvent.run(tenant, event.timeMs, envelope.id, envelope.source, envelope['detail-type'], now, JSON.stringify(envelope));
      if (deliveries.length === 0) return;
      const eventJson = JSON.stringify(envelope);
      for (const delivery of deliveries) {
        const { id, alertName, channel } = delivery;
        this.sql.insertDelivery.run(id, tenant, alertName, envelope.id, JSON.stringify(channel), eventJson, now, now, now, deliveryKind(channel));
      }
    });

    this.putRuleTx = db.transaction((tenant: string, rule: RuleRecord, maxRules: number) => {
      const existing = this.sql.rule.get(tenant, rule.name);
      if (!existing) {
        const count = this.sql.ruleCount.get(tenant)!.n;
        if (count >= maxRules) throw quotaExceeded('maxRules', maxRules, `tenant has ${count} rules, the limit maxRules is ${maxRules}`);
      }
      this.sql.upsertRule.run({
        tenant,
        name: rule.name,
        pattern: rule.pattern,
        targets: JSON.stringify(rule.targets),
        description: rule.description,
        enabled: rule.enabled ? 1 : 0,
        createdAt: existing?.created_ms ?? rule.createdAt,
        updatedAt: rule.updatedAt,
        createdBy: principalJson(rule.createdBy),
      });
      this.sql.bumpRevision.run(tenant);
      return { created: !existing };
    });

    this.putAlertTx = db.transaction((tenant: string, alert: AlertRecord, maxAlerts: number) => {
      const existing = this.sql.alert.get(tenant, alert.name);
      if (!existing) {
        const count = this.sql.alertCount.get(tenant)!.n;
        if (count >= maxAlerts) throw quotaExceeded('maxAlerts', maxAlerts, `tenant has ${count} alerts, the limit maxAlerts is ${maxAlerts}`);
      }
      this.sql.upsertAlert.run(tenant, alert.name, alert.pattern, JSON.stringify(alert.channel), alert.createdAt);
      this.sql.bumpRevision.run(tenant);
      return { created: !existing };
    });

    this.deleteRuleTx = db.transaction((tenant: string, name: string) => {
      const deleted = this.sql.deleteRule.run(tenant, name).changes > 0;
      if (deleted) this.sql.bumpRevision.run(tenant);
      return deleted;
    });

    this.deleteAlertTx = db.transaction((tenant: string, name: string) => {
      const users = this.sql.rules
        .all(tenant)
        .filter((row) => (JSON.parse(row.targets) as RuleRecord['targets']).some((t) => t.type === 'alert' && t.name === name));
      if (users.length > 0) {
        throw conflict(`alert "${name}" is a target of rule ${users.map((r) => `"${r.name}"`).join(', ')}; delete or change the rule first`);
      }
      const deleted = this.sql.deleteAlert.run(tenant, name).changes > 0;
      if (deleted) this.sql.bumpRevision.run(tenant);
      return deleted;
    });

    this.claimTx = db.transaction((now: number, limit: number, leaseMs: number) => {
      const rows = this.sql.due.all(now, now, limit);
      for (const row of rows) this.sql.lease.run(now + leaseMs, row.id);
      return rows;
    });

    this.recordTx = db.transaction((attempt: AttemptRecord, next: { status: DeliveryStatus; nextAttemptAt: number }) => {
      this.sql.insertAttempt.run(
        attempt.deliveryId,
        attempt.alertName,
        attempt.attempt,
        attempt.at,
        attempt.ok ? 1 : 0,
        attempt.status,
        attempt.error,
        attempt.durationMs,
        attempt.workflow ?? null,
        attempt.deliveryId,
      );
      this.sql.finishAttempt.run(next.status, attempt.attempt, next.nextAttemptAt, attempt.status, attempt.error, this.now(), attempt.deliveryId);
    });
  }

  async append(session: TenantSession, event: StoredEvent, deliveries: NewDelivery[]): Promise<void> {
    this.appendTx.immediate(tenantPartition(session), event, deliveries, this.now());
  }

  async query(session: TenantSession, query: EventQuery): Promise<StoredEvent[]> {
    const where = ['tenant = ?'];
    const params: (string | number)[] = [tenantPartition(session)];
    if (query.source !== undefined) where.push('source = ?'), params.push(query.source);
    if (query.detailType !== undefined) where.push('detail_type = ?'), params.push(query.detailType);
    if (query.startMs !== undefined) where.push('time_ms >= ?'), params.push(query.startMs);
    if (query.endMs !== undefined) where.push('time_ms < ?'), params.push(query.endMs);
    if (query.before) where.push('(time_ms, id) < (?, ?)'), params.push(query.before.timeMs, query.before.id);
    params.push(query.limit);
    const sql = `SELECT time_ms, envelope FROM events WHERE ${where.join(' AND ')} ORDER BY time_ms DESC, id DESC LIMIT ?`;
    let statement = this.queries.get(sql);
    if (!statement) this.queries.set(sql, (statement = this.db.prepare<unknown[], { time_ms: number; envelope: string }>(sql)));
    const rows = statement.all(...params);
    return rows.map((row) => ({ timeMs: row.time_ms, envelope: JSON.parse(row.envelope) as StoredEvent['envelope'] }));
  }

  async analytics(session: TenantSession, query: AnalyticsQuery): Promise<AnalyticsRow[]> {
    const { bucketMs, startMs, endMs } = query;
    return this.sql.analytics[query.groupBy].all({ bucketMs, tenant: tenantPartition(session), startMs, endMs });
  }

  async putRule(session: TenantSession, rule: RuleRecord): Promise<{ created: boolean }> {
    return this.putRuleTx.immediate(tenantPartition(session), rule, session.limits.maxRules);
  }

  async listRules(session: TenantSession): Promise<RuleRecord[]> {
    return this.sql.rules.all(tenantPartition(session)).map(toRule);
  }

  async deleteRule(session: TenantSession, name: string): Promise<boolean> {
    return this.deleteRuleTx.immediate(tenantPartition(session), name);
  }

  async putAlert(session: TenantSession, alert: AlertRecord): Promise<{ created: boolean }> {
    return this.putAlertTx.immediate(tenantPartition(session), alert, session.limits.maxAlerts);
  }

  async listAlerts(session: TenantSession): Promise<AlertRecord[]> {
    return this.sql.alerts.all(tenantPartition(session)).map((row) => ({
      name: row.name,
      pattern: row.pattern,
      channel: JSON.parse(row.channel) as AlertChannel,
      createdAt: row.created_ms,
    }));
  }

  async deleteAlert(session: TenantSession, name: string): Promise<boolean> {
    return this.deleteAlertTx.immediate(tenantPartition(session), name);
  }

  async rulesRevision(session: TenantSession): Promise<number> {
    return this.sql.revision.get(tenantPartition(session))?.revision ?? 0;
  }

  async deliveryStats(session: TenantSession, kind: DeliveryKind = 'alert') {
    const stats = { pending: 0, delivered: 0, failed: 0 };
    for (const row of this.sql.deliveryStats.all(tenantPartition(session), kind)) stats[row.status] = row.n;
    return stats;
  }

  async recentAttempts(session: TenantSession, limit: number, onlyFailures: boolean, kind: DeliveryKind = 'alert'): Promise<AttemptRecord[]> {
    return this.sql.recentAttempts.all(tenantPartition(session), onlyFailures ? 1 : 0, kind === 'workflow' ? 1 : 0, limit).map(toAttempt);
  }

  async claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    // A read first: an idle server polls often, and should not take the write lock (and write the WAL) each time.
    if (!this.sql.anyDue.get(now, now)) return [];
    return this.claimTx.immediate(now, limit, leaseMs).map((row) => ({
      id: row.id,
      tenantId: row.tenant,
      alertName: row.alert_name,
      eventId: row.event_id,
      channel: JSON.parse(row.channel) as DeliveryTarget,
      event: JSON.parse(row.event) as DeliveryRecord['event'],
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: row.next_attempt_ms,
      lastStatus: row.last_status,
      lastError: row.last_error,
    }));
  }

  async recordAttempt(attempt: AttemptRecord, next: { status: DeliveryStatus; nextAttemptAt: number }): Promise<void> {
    this.recordTx.immediate(attempt, next);
  }

  async prune(receivedBeforeMs: number): Promise<number> {
    return this.db
      .transaction(() => {
        const events = this.sql.pruneEvents.run(receivedBeforeMs).changes;
        this.sql.pruneAttempts.run(receivedBeforeMs);
        this.sql.pruneDeliveries.run(receivedBeforeMs);
        return events;
      })
      .immediate();
  }

  async ping(): Promise<void> {
    this.sql.ping.get();
  }
}
