import type { ApiKeyRecord, ApiKeyStore, TenantRecord } from '../../ports/api-key-store.js';
import type { SqliteDatabase } from './sqlite-database.js';

interface KeyRow {
  id: string;
  tenant: string;
  user_id: string;
  permissions: string;
  secret_hash: string;
  created_ms: number;
  revoked_ms: number | null;
}

const toKey = (row: KeyRow): ApiKeyRecord => ({
  id: row.id,
  tenantId: row.tenant,
  userId: row.user_id,
  permissions: JSON.parse(row.permissions) as string[],
  secretHash: row.secret_hash,
  createdAt: row.created_ms,
  revokedAt: row.revoked_ms,
});

/** Tenants and API keys (hashed) in the shared SQLite database. */
export class SqliteApiKeyStore implements ApiKeyStore {
  private readonly sql;

  constructor(db: SqliteDatabase) {
    this.sql = {
      createTenant: db.prepare('INSERT OR IGNORE INTO tenants (id, created_ms) VALUES (?, ?)'),
      tenants: db.prepare<[], { id: string; created_ms: number }>('SELECT * FROM tenants ORDER BY id'),
      tenant: db.prepare<[string], { id: string }>('SELECT id FROM tenants WHERE id = ?'),
      createKey: db.prepare(
        'INSERT INTO api_keys (id, tenant, user_id, permissions, secret_hash, created_ms) VALUES (@id, @tenantId, @userId, @permissions, @secretHash, @createdAt)',
      ),
      key: db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE id = ?'),
      keys: db.prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY tenant, created_ms'),
      keysOf: db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_ms'),
      revoke: db.prepare('UPDATE api_keys SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL'),
    };
  }

  async createTenant(id: string, now: number): Promise<{ created: boolean }> {
    return { created: this.sql.createTenant.run(id, now).changes > 0 };
  }

  async listTenants(): Promise<TenantRecord[]> {
    return this.sql.tenants.all().map((row) => ({ id: row.id, createdAt: row.created_ms }));
  }

  async tenantExists(id: string): Promise<boolean> {
    return this.sql.tenant.get(id) !== undefined;
  }

  async createKey(key: ApiKeyRecord): Promise<void> {
    this.sql.createKey.run({ ...key, permissions: JSON.stringify(key.permissions) });
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    const row = this.sql.key.get(id);
    return row ? toKey(row) : undefined;
  }

  async listKeys(tenantId?: string): Promise<ApiKeyRecord[]> {
    return (tenantId === undefined ? this.sql.keys.all() : this.sql.keysOf.all(tenantId)).map(toKey);
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    return this.sql.revoke.run(now, id).changes > 0;
  }
}
