import { join } from 'node:path';
import type { Logger } from '../../logging.js';
import type { ArtifactStore } from '../../ports/artifact-store.js';
import type { EventStore } from '../../ports/event-store.js';
import type { IntegrationStore } from '../../ports/integration-store.js';
import type { WorkflowStore } from '../../ports/workflow-store.js';
import type { ApiKeyStore } from '../../ports/api-key-store.js';
import type { AuditStore } from '../../ports/audit-store.js';
import type { KvStore } from '../../ports/kv-store.js';
import type { RateLimitStore } from '../../ports/rate-limit-store.js';
import { FileArtifactStore } from './file-artifact-store.js';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import { SqliteEventStore } from './sqlite-event-store.js';
import { SqliteIntegrationStore } from './sqlite-integration-store.js';
import { SqliteWorkflowStore } from './sqlite-workflow-store.js';
import { SqliteApiKeyStore } from './sqlite-api-key-store.js';
import { SqliteAuditStore } from './sqlite-audit-store.js';
import { SqliteKvStore } from './sqlite-kv-store.js';
import { checkpointInBackground, openDatabase } from './sqlite-database.js';

export interface Backend {
  kv: KvStore;
  artifacts: ArtifactStore;
  events: EventStore;
  integrations: IntegrationStore;
  workflows: WorkflowStore;
  apiKeys: ApiKeyStore;
  audit: AuditStore;
  rateLimits: RateLimitStore;
  close(): Promise<void>;
}

const PURGE_EVERY_MS = 30_000;
const PURGE_BATCH = 1000;

/** The embedded default: one SQLite database and the artifact files beside it, in one data folder. */
export function createLocalBackend(dataDir: string, logger: Logger): Backend {
  const db = openDatabase(dataDir);
  const stopCheckpoints = checkpointInBackground(db);
  const kv = new SqliteKvStore(db);
  const artifacts = new FileArtifactStore(db, join(dataDir, 'artifacts'));
  const events = new SqliteEventStore(db);
  const rateLimits = new MemoryRateLimitStore();

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
    kv,
    artifacts,
    events,
    integrations: new SqliteIntegrationStore(db),
    workflows: new SqliteWorkflowStore(db),
    apiKeys: new SqliteApiKeyStore(db),
    audit: new SqliteAuditStore(db),
    rateLimits,
    async close() {
      clearInterval(purge);
      stopCheckpoints();
      await rateLimits.close();
      db.close();
    },
  };
}
