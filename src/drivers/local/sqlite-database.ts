import Database from 'better-sqlite3';
import { join } from 'node:path';
import { DataFolderError, ensureDataFolder } from './data-folder.js';

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
  `CREATE TABLE events (
     tenant TEXT NOT NULL, time_ms INTEGER NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, detail_type TEXT NOT NULL,
     received_ms INTEGER NOT NULL, envelope TEXT NOT NULL, PRIMARY KEY (tenant, time_ms, id)) WITHOUT ROWID;
   CREATE INDEX events_by_source ON events (tenant, source, time_ms, id);
   CREATE INDEX events_by_type ON events (tenant, detail_type, time_ms, id);
   CREATE INDEX events_by_received ON events (received_ms);
   CREATE TABLE event_rules (
     tenant TEXT NOT NULL, name TEXT NOT NULL, pattern TEXT NOT NULL, targets TEXT NOT NULL, description TEXT NOT NULL,
     enabled INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY (tenant, name)) WITHOUT ROWID;
   CREATE TABLE event_alerts (
     tenant TEXT NOT NULL, name TEXT NOT NULL, pattern TEXT NOT NULL, channel TEXT NOT NULL, created_ms INTEGER NOT NULL,
     PRIMARY KEY (tenant, name)) WITHOUT ROWID;
   CREATE TABLE rule_revisions (tenant TEXT PRIMARY KEY, revision INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE deliveries (
     id TEXT PRIMARY KEY, tenant TEXT NOT NULL, alert_name TEXT NOT NULL, event_id TEXT NOT NULL, channel TEXT NOT NULL,
     event TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_ms INTEGER NOT NULL,
     lease_until_ms INTEGER NOT NULL DEFAULT 0, last_status INTEGER, last_error TEXT, created_ms INTEGER NOT NULL,
     updated_ms INTEGER NOT NULL);
   CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);
   CREATE INDEX deliveries_by_tenant ON deliveries (tenant, status);
   CREATE TABLE delivery_attempts (
     tenant TEXT NOT NULL, delivery_id TEXT NOT NULL, alert_name TEXT NOT NULL, attempt INTEGER NOT NULL, at_ms INTEGER NOT NULL,
     ok INTEGER NOT NULL, status INTEGER, error TEXT, duration_ms REAL NOT NULL, PRIMARY KEY (delivery_id, attempt));
   CREATE INDEX delivery_attempts_by_tenant ON delivery_attempts (tenant, at_ms);`,
  `CREATE TABLE integrations (
     tenant TEXT NOT NULL, name TEXT NOT NULL, record TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
     PRIMARY KEY (tenant, name)) WITHOUT ROWID;`,
  `CREATE TABLE workflows (
     tenant TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT NOT NULL,
     created_ms INTEGER NOT NULL, PRIMARY KEY (tenant, name, version)) WITHOUT ROWID;
   CREATE TABLE executions (
     id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, workflow TEXT NOT NULL, version INTEGER NOT NULL,
     status TEXT NOT NULL, output TEXT, error TEXT, cause TEXT, started_ms INTEGER NOT NULL, stopped_ms INTEGER,
     abort_requested INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_until_ms INTEGER NOT NULL DEFAULT 0);
   -- Written at every transition: kept narrow and apart from the indexed executions row.
   CREATE TABLE execution_checkpoints (
     id TEXT PRIMARY KEY, snapshot TEXT NOT NULL, current_state TEXT, history_seq INTEGER NOT NULL) WITHOUT ROWID;
   CREATE UNIQUE INDEX executions_by_name ON executions (tenant, workflow, name);
   CREATE INDEX executions_by_start ON executions (tenant, started_ms, id);
   CREATE INDEX executions_running ON executions (status, lease_until_ms);
   CREATE TABLE execution_history (
     execution_id TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, type TEXT NOT NULL, state TEXT, detail TEXT,
     PRIMARY KEY (execution_id, seq)) WITHOUT ROWID;`,
  `CREATE TABLE tenants (id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT NOT NULL, permissions TEXT NOT NULL, secret_hash TEXT NOT NULL,
     created_ms INTEGER NOT NULL, revoked_ms INTEGER) WITHOUT ROWID;
   CREATE INDEX api_keys_by_tenant ON api_keys (tenant);`,
  `CREATE TABLE audit (
     seq INTEGER PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT NOT NULL, context_type TEXT NOT NULL, tool TEXT NOT NULL,
     outcome TEXT NOT NULL, at_ms INTEGER NOT NULL, duration_ms REAL NOT NULL);
   CREATE INDEX audit_by_tenant ON audit (tenant, at_ms, seq);
   CREATE INDEX audit_by_time ON audit (at_ms);`,
  // Who started an execution / created a rule (JSON {userId, permissions}); NULL for rows from before.
  `ALTER TABLE executions ADD COLUMN started_by TEXT;
   ALTER TABLE event_rules ADD COLUMN created_by TEXT;`,
  // Rule workflow starts share the delivery queue: which kind a delivery is, and an attempt's workflow.
  `ALTER TABLE deliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert';
   ALTER TABLE delivery_attempts ADD COLUMN workflow TEXT;`,
];

export const MIGRATION_COUNT = MIGRATIONS.length;

/**
 * Opens the shared database of a data folder. WAL lets several processes (client windows, tenants) read
 * and write one folder; writers take the lock up front (BEGIN IMMEDIATE) and wait up to busy_timeout.
 * synchronous=NORMAL in WAL mode loses nothing when a process dies; only a power cut can drop the last
 * commits.
 */
export function openDatabase(dataDir: string): SqliteDatabase {
  ensureDataFolder(dataDir);
  const file = join(dataDir, 'agent-mesh.db');
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(file);
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Checkpoints (which fsync) run from a timer (see checkpointInBackground), not inside the commit of
    // whichever request happened to pass the WAL's page threshold.
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    return db;
  } catch (error) {
    db?.close();
    throw error instanceof DataFolderError ? error : new DataFolderError(`${file}: ${sqliteProblem(error)}`);
  }
}

function sqliteProblem(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  switch (code) {
    case 'SQLITE_NOTADB':
      return 'not an SQLite database (move it away, or point AGENT_MESH_DATA_DIR at another folder)';
    case 'SQLITE_CORRUPT':
      return 'the database is corrupt';
    case 'SQLITE_CANTOPEN':
      return 'cannot open the database file (check that the folder is writable)';
    case 'SQLITE_READONLY':
      return 'the database file is read-only';
    case 'SQLITE_BUSY':
      return 'another process kept the database locked for 10 seconds';
    default:
      return `${message}${code ? ` (${code})` : ''}`;
  }
}

function migrate(db: SqliteDatabase, file: string): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new DataFolderError(`${file}: written by a newer agent-mesh (schema ${current}; this one knows ${MIGRATIONS.length}): upgrade agent-mesh`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
}

/** Copies the WAL into the database every `everyMs` without blocking writers (PASSIVE); returns a stop function. */
export function checkpointInBackground(db: SqliteDatabase, everyMs = 1000): () => void {
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // busy or closing: the next tick tries again
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
