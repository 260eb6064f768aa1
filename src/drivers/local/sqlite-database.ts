import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type SqliteDatabase = Database.Database;

/** Each entry moves the schema one version up; never edit a released entry, add one. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE kv (
     tenant TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL,
     expires_at INTEGER, updated_at INTEGER NOT NULL, PRIMARY KEY (tenant, key)) WITHOUT ROWID;
   CREATE INDEX kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE artifacts (
     tenant TEXT NOT NULL, key TEXT NOT NULL, file TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
     content_type TEXT NOT NULL, metadata TEXT NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (tenant, key)) WITHOUT ROWID;
   CREATE TABLE tenant_usage (
     tenant TEXT PRIMARY KEY, kv_keys INTEGER NOT NULL DEFAULT 0, artifact_bytes INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;`,
];

/**
 * Opens the shared database of a data folder. WAL lets several processes (client windows, tenants) read
 * and write one folder; writers take the lock up front (BEGIN IMMEDIATE) and wait up to busy_timeout.
 * synchronous=NORMAL in WAL mode loses nothing when a process dies; only a power cut can drop the last
 * commits.
 */
export function openDatabase(dataDir: string): SqliteDatabase {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, 'agent-mesh.db'));
  db.pragma('busy_timeout = 10000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

function migrate(db: SqliteDatabase): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
}
