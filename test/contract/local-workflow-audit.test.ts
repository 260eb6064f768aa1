import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/drivers/local/sqlite-database.js';
import { SqliteAuditStore } from '../../src/drivers/local/sqlite-audit-store.js';
import { SqliteWorkflowStore } from '../../src/drivers/local/sqlite-workflow-store.js';
import { testSession } from '../helpers/sessions.js';
import { describeAuditStoreContract } from './audit-store.contract.js';
import { describeWorkflowStoreContract } from './workflow-store.contract.js';

const RETENTION_MS = 60 * 60 * 1000;

/** As in local-drivers.test.ts, plus more handles on the same folder (other processes). */
function localFixture() {
  const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-contract-'));
  const db = openDatabase(dir);
  const others: SqliteDatabase[] = [];
  return {
    dir,
    db,
    open: () => {
      const other = openDatabase(dir);
      others.push(other);
      return other;
    },
    close: async () => {
      for (const other of others) other.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeWorkflowStoreContract('sqlite', async () => {
  const fixture = localFixture();
  return { store: new SqliteWorkflowStore(fixture.db), other: () => new SqliteWorkflowStore(fixture.open()), close: fixture.close };
});

describeAuditStoreContract('sqlite', async () => {
  const fixture = localFixture();
  return { store: new SqliteAuditStore(fixture.db), now: Date.now, retentionMs: RETENTION_MS, close: fixture.close };
});

describe('sqlite audit store', () => {
  it('deletes what prune removes and counts it', async () => {
    const fixture = localFixture();
    try {
      const store = new SqliteAuditStore(fixture.db);
      const now = Date.now();
      const base = { tenantId: 'tenant-a', userId: 'u', contextType: 'user', tool: 't', outcome: 'ok', durationMs: 1 };
      await store.append([{ ...base, at: now - 10_000 }, { ...base, at: now - 5_000 }, { ...base, at: now }]);
      expect(await store.prune(now - 4_000)).toBe(2);
      expect(await store.prune(now - 4_000)).toBe(0);
      expect(await store.query(testSession('tenant-a'), { limit: 10 })).toHaveLength(1);
    } finally {
      await fixture.close();
    }
  });
});
