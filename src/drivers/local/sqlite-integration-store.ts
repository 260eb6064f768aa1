import { quotaExceeded } from '../../errors.js';
import type { IntegrationRecord, IntegrationStore } from '../../ports/integration-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { tenantPartition } from './tenant-partition.js';

/** The integration registry in the shared SQLite database: one row per tenant and name, the record as JSON. */
export class SqliteIntegrationStore implements IntegrationStore {
  private readonly sql;
  private readonly putTx;

  constructor(db: SqliteDatabase) {
    this.sql = {
      get: db.prepare<[string, string], { record: string; created_ms: number }>('SELECT record, created_ms FROM integrations WHERE tenant = ? AND name = ?'),
      list: db.prepare<[string], { record: string }>('SELECT record FROM integrations WHERE tenant = ? ORDER BY name'),
      count: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM integrations WHERE tenant = ?'),
      upsert: db.prepare(
        `INSERT INTO integrations (tenant, name, record, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (tenant, name) DO UPDATE SET record = excluded.record, updated_ms = excluded.updated_ms`,
      ),
      remove: db.prepare('DELETE FROM integrations WHERE tenant = ? AND name = ?'),
    };
    this.putTx = db.transaction((tenant: string, record: IntegrationRecord, max: number) => {
      const existing = this.sql.get.get(tenant, record.name);
      if (!existing) {
        const count = this.sql.count.get(tenant)!.n;
        if (count >= max) throw quotaExceeded('maxIntegrations', max, `tenant has ${count} integrations, the limit maxIntegrations is ${max}`);
      }
      const stored = { ...record, createdAt: existing?.created_ms ?? record.createdAt };
      this.sql.upsert.run(tenant, record.name, JSON.stringify(stored), stored.createdAt, record.updatedAt);
      return { created: !existing };
    });
  }

  async put(session: TenantSession, record: IntegrationRecord): Promise<{ created: boolean }> {
    return this.putTx.immediate(tenantPartition(session), record, session.limits.maxIntegrations);
  }

  async get(session: TenantSession, name: string): Promise<IntegrationRecord | undefined> {
    const row = this.sql.get.get(tenantPartition(session), name);
    return row ? (JSON.parse(row.record) as IntegrationRecord) : undefined;
  }

  async list(session: TenantSession): Promise<IntegrationRecord[]> {
    return this.sql.list.all(tenantPartition(session)).map((row) => JSON.parse(row.record) as IntegrationRecord);
  }

  async delete(session: TenantSession, name: string): Promise<boolean> {
    return this.sql.remove.run(tenantPartition(session), name).changes > 0;
  }
}
