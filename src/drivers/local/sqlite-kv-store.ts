import { conflict, quotaExceeded } from '../../errors.js';
import type { KvEntry, KvListItem, KvStore, KvWrite, ListPage, ListQuery } from '../../ports/kv-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { prefixUpperBound } from './key-range.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { tenantPartition } from './tenant-partition.js';

interface KvRow {
  key: string;
  value: string;
  version: number;
  expires_at: number | null;
  updated_at: number;
}

const isLive = (row: { expires_at: number | null }, now: number): boolean => row.expires_at === null || row.expires_at > now;

export class SqliteKvStore implements KvStore {
  private readonly statements;
  private readonly setTx;
  private readonly deleteTx;
  private readonly purgeTx;

  constructor(
    db: SqliteDatabase,
    private readonly now: () => number = Date.now,
  ) {
    this.statements = {
      get: db.prepare<[string, string], KvRow>('SELECT key, value, version, expires_at, updated_at FROM kv WHERE tenant = ? AND key = ?'),
      insert: db.prepare('INSERT INTO kv (tenant, key, value, version, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'),
      update: db.prepare('UPDATE kv SET value = ?, version = ?, expires_at = ?, updated_at = ? WHERE tenant = ? AND key = ?'),
      // One statement is its own transaction: the common case, overwriting a live key, needs no BEGIN/COMMIT.
      updateLive: db
        .prepare<[string, number | null, number, string, string, number], { version: number }>(
          `UPDATE kv SET value = ?, version = version + 1, expires_at = ?, updated_at = ?
           WHERE tenant = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?) RETURNING version`,
        ),
      updateLiveAtVersion: db
        .prepare<[string, number | null, number, string, string, number, number], { version: number }>(
          `UPDATE kv SET value = ?, version = version + 1, expires_at = ?, updated_at = ?
           WHERE tenant = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?) AND version = ? RETURNING version`,
        ),
      remove: db.prepare('DELETE FROM kv WHERE tenant = ? AND key = ?'),
      list: db.prepare<[string, string, string, string, number, number], KvRow>(
        `SELECT key, version, expires_at, updated_at FROM kv
         WHERE tenant = ? AND key >= ? AND key > ? AND key < ? AND (expires_at IS NULL OR expires_at > ?)
         ORDER BY key LIMIT ?`,
      ),
      usage: db.prepare<[string], { kv_keys: number }>('SELECT kv_keys FROM tenant_usage WHERE tenant = ?'),
      addKeys: db.prepare(
        `INSERT INTO tenant_usage (tenant, kv_keys) VALUES (?, ?)
         ON CONFLICT (tenant) DO UPDATE SET kv_keys = kv_keys + excluded.kv_keys`,
      ),
      purgeTenant: db.prepare('DELETE FROM kv WHERE tenant = ? AND expires_at IS NOT NULL AND expires_at <= ?'),
      expired: db.prepare<[number, number], { tenant: string; key: string }>(
        'SELECT tenant, key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?',
      ),
    };

    this.setTx = db.transaction((tenant: string, key: string, write: KvWrite, maxKeys: number, now: number): number => {
      const row = this.statements.get.get(tenant, key);
      const live = row !== undefined && isLive(row, now);
      if (write.ifAbsent && live) throw conflict(`key "${key}" already exists (if_absent)`);
      if (write.ifVersion !== undefined && (!live || row.version !== write.ifVersion)) {
        throw conflict(
          live
            ? `key "${key}" is at version ${row.version}, not ${write.ifVersion} (if_version)`
            : `key "${key}" does not exist, so it is not at version ${write.ifVersion} (if_version)`,
        );
      }
      if (row === undefined) {
        this.reserveKey(tenant, maxKeys, now);
        this.statements.insert.run(tenant, key, write.valueJson, 1, write.expiresAt, now);
        return 1;
      }
      const version = live ? row.version + 1 : 1;
      this.statements.update.run(write.valueJson, version, write.expiresAt, now, tenant, key);
      return version;
    });

    this.deleteTx = db.transaction((tenant: string, key: string, ifVersion: number | undefined, now: number): boolean => {
      const row = this.statements.get.get(tenant, key);
      const live = row !== undefined && isLive(row, now);
      if (ifVersion !== undefined && (!live || row.version !== ifVersion)) {
        throw conflict(live ? `key "${key}" is at version ${row.version}, not ${ifVersion} (if_version)` : `key "${key}" does not exist`);
      }
      if (row === undefined) return false;
      this.statements.remove.run(tenant, key);
      this.statements.addKeys.run(tenant, -1);
      return live;
    });

    this.purgeTx = db.transaction((batch: number, now: number): number => {
      const rows = this.statements.expired.all(now, batch);
      for (const row of rows) {
        this.statements.remove.run(row.tenant, row.key);
        this.statements.addKeys.run(row.tenant, -1);
      }
      return rows.length;
    });
  }

  /** Counts a new key against maxKeys; expired keys still in the table are purged first when at the limit. */
  private reserveKey(tenant: string, maxKeys: number, now: number): void {
    let count = this.statements.usage.get(tenant)?.kv_keys ?? 0;
    if (count >= maxKeys) {
      const purged = this.statements.purgeTenant.run(tenant, now).changes;
      if (purged > 0) this.statements.addKeys.run(tenant, -purged);
      count -= purged;
    }
    if (count >= maxKeys) {
      throw quotaExceeded('maxKeys', maxKeys, `tenant has ${count} keys, the limit maxKeys is ${maxKeys}`);
    }
    this.statements.addKeys.run(tenant, 1);
  }

  async get(session: TenantSession, key: string): Promise<KvEntry | undefined> {
    const row = this.statements.get.get(tenantPartition(session), key);
    if (!row || !isLive(row, this.now())) return undefined;
    return { key: row.key, valueJson: row.value, version: row.version, expiresAt: row.expires_at, updatedAt: row.updated_at };
  }

  async set(session: TenantSession, key: string, write: KvWrite): Promise<{ version: number }> {
    const tenant = tenantPartition(session);
    const now = this.now();
    if (!write.ifAbsent) {
      const updated =
        write.ifVersion === undefined
          ? this.statements.updateLive.get(write.valueJson, write.expiresAt, now, tenant, key, now)
          : this.statements.updateLiveAtVersion.get(write.valueJson, write.expiresAt, now, tenant, key, now, write.ifVersion);
      if (updated) return { version: updated.version };
    }
    // A new or expired key, or a condition that failed: the transaction decides, and says why.
    return { version: this.setTx.immediate(tenant, key, write, session.limits.maxKeys, now) };
  }

  async delete(session: TenantSession, key: string, ifVersion?: number): Promise<boolean> {
    return this.deleteTx.immediate(tenantPartition(session), key, ifVersion, this.now());
  }

  async list(session: TenantSession, query: ListQuery): Promise<ListPage<KvListItem>> {
    const rows = this.statements.list.all(
      tenantPartition(session),
      query.prefix,
      query.after ?? '',
      prefixUpperBound(query.prefix),
      this.now(),
      query.limit + 1,
    );
    const page = rows.slice(0, query.limit);
    const items = page.map((row) => ({ key: row.key, version: row.version, expiresAt: row.expires_at, updatedAt: row.updated_at }));
    return rows.length > query.limit ? { items, nextAfter: page[page.length - 1]!.key } : { items };
  }

  async purgeExpired(batch: number): Promise<number> {
    const now = this.now();
    // A read first, so an idle server's periodic purge does not write.
    if (this.statements.expired.all(now, 1).length === 0) return 0;
    return this.purgeTx.immediate(batch, now);
  }
}
