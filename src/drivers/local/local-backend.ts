import { join } from 'node:path';
import { accessSync, constants } from 'node:fs';
import type { Logger } from '../../logging.js';
import type { Backend, BackendCheck } from '../../ports/backend.js';
import type { RateLimitStore } from '../../ports/rate-limit-store.js';
import { FileArtifactStore } from './file-artifact-store.js';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import { SqliteEventStore } from './sqlite-event-store.js';
import { SqliteIntegrationStore } from './sqlite-integration-store.js';
import { SqliteWorkflowStore } from './sqlite-workflow-store.js';
import { SqliteApiKeyStore } from './sqlite-api-key-store.js';
import { SqliteAuditStore } from './sqlite-audit-store.js';
import { SqliteKvStore } from './sqlite-kv-store.js';
import { checkpointInBackground, MIGRATION_COUNT, openDatabase, type SqliteDatabase } from './sqlite-database.js';

const PURGE_EVERY_MS = 30_000;
const PURGE_BATCH = 1000;

/**
 * The embedded default: one SQLite database and the artifact files beside it, in one data folder. Rate
 * limits live in this process unless a shared store (Redis) is passed in.
 */
export function createLocalBackend(dataDir: string, logger: Logger, sharedRateLimits?: RateLimitStore): Backend {
  const db = openDatabase(dataDir);
  const stopCheckpoints = checkpointInBackground(db);
  const kv = new SqliteKvStore(db);
  const artifacts = new FileArtifactStore(db, join(dataDir, 'artifacts'));
  const events = new SqliteEventStore(db);
  const rateLimits = sharedRateLimits ?? new MemoryRateLimitStore();

  artifacts.sweepLeftovers().then(
    (removed) => removed > 0 && logger.info({ removed }, 'removed artifact files left by killed writers'),
    (error: unknown) => logger.warn({ err: error }, 'artifact leftover sweep failed'),
  );
  const purge = setInterval(() => {
    kv.purgeExpired(PURGE_BATCH).then(
      (purged) => purged > 0 && logger.debug({ purged }, 'purged expired keys'),
      (error: unknown) => logger.warn({ err: error }, 'purging expired keys failed'),
    );
  }, PURGE_EVERY_MS);
  purge.unref();

  return {
    kind: 'local',
    kv,
    artifacts,
    events,
    integrations: new SqliteIntegrationStore(db),
    workflows: new SqliteWorkflowStore(db),
    apiKeys: new SqliteApiKeyStore(db),
    audit: new SqliteAuditStore(db),
    rateLimits,
    alertSinks: [],
    check: async () => checkDataDir(dataDir, db),
    async close() {
      clearInterval(purge);
      stopCheckpoints();
      await rateLimits.close();
      db.close();
    },
  };
}

function checkDataDir(dataDir: string, db: SqliteDatabase): BackendCheck[] {
  const subject = `data folder ${dataDir}`;
  try {
    accessSync(dataDir, constants.R_OK | constants.W_OK);
  } catch {
    return [{ subject, status: 'fail', detail: 'not readable and writable by this user' }];
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  const journal = db.pragma('journal_mode', { simple: true }) as string;
  return [
    { subject, status: 'ok', detail: 'readable and writable' },
    {
      subject: 'sqlite database agent-mesh.db',
      status: version === MIGRATION_COUNT && journal === 'wal' ? 'ok' : 'fail',
      detail: `schema ${version}/${MIGRATION_COUNT}, journal ${journal}`,
    },
  ];
}
