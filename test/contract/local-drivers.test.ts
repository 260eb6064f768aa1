import { mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATION_COUNT, openDatabase } from '../../src/drivers/local/sqlite-database.js';
import { SqliteKvStore } from '../../src/drivers/local/sqlite-kv-store.js';
import { FileArtifactStore } from '../../src/drivers/local/file-artifact-store.js';
import type { TenantSession } from '../../src/tenancy/session.js';
import { testSession } from '../helpers/sessions.js';
import { describeKvStoreContract } from './kv-store.contract.js';
import { describeArtifactStoreContract } from './artifact-store.contract.js';

function localFixture() {
  const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-contract-'));
  const db = openDatabase(dir);
  let offset = 0;
  const now = () => Date.now() + offset;
  return {
    dir,
    db,
    now,
    advance: (ms: number) => void (offset += ms),
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeKvStoreContract('sqlite', async () => {
  const fixture = localFixture();
  return { store: new SqliteKvStore(fixture.db, fixture.now), advance: fixture.advance, close: fixture.close };
});

describeArtifactStoreContract('files + sqlite', async () => {
  const fixture = localFixture();
  return { store: new FileArtifactStore(fixture.db, join(fixture.dir, 'artifacts'), fixture.now), close: fixture.close };
});

describe('local drivers', () => {
  it('refuse a session the auth layer did not issue', async () => {
    const fixture = localFixture();
    try {
      const forged = { ...testSession('victim') } as TenantSession;
      const store = new SqliteKvStore(fixture.db);
      await expect(store.get(forged, 'k')).rejects.toThrow(/not a TenantSession/);
    } finally {
      await fixture.close();
    }
  });

  it("sweep leftovers without touching the files of a tenant whose id differs only in case (one folder on macOS and Windows)", async () => {
    const fixture = localFixture();
    try {
      const root = join(fixture.dir, 'artifacts');
      const store = new FileArtifactStore(fixture.db, root);
      const upper = testSession('Acme');
      await store.put(upper, 'b.txt', { body: Buffer.from('kept'), sha256: 'x', contentType: 'text/plain', metadata: {} });
      // As a case-insensitive file system shows it: Acme's folder is acme's. Its file as a finished writer left it.
      renameSync(join(root, 'Acme'), join(root, 'acme'));
      symlinkSync('acme', join(root, 'Acme'));
      const [file] = readdirSync(join(root, 'acme'));
      const deadWriters = `99999999-${file!.split('-').slice(1).join('-')}`;
      renameSync(join(root, 'acme', file!), join(root, 'acme', deadWriters));
      fixture.db.prepare('UPDATE artifacts SET file = ? WHERE tenant = ?').run(deadWriters, 'Acme');
      writeFileSync(join(root, 'acme', '99999999-orphan.bin'), 'left by a killed writer');

      expect(await store.sweepLeftovers()).toBe(1);
      expect(readdirSync(join(root, 'acme')).sort()).toEqual([deadWriters]);
      expect((await store.get(upper, 'b.txt'))!.body.toString()).toBe('kept');
    } finally {
      await fixture.close();
    }
  });

  it('migrate a data folder once, also when several processes open it', async () => {
    const fixture = localFixture();
    try {
      const again = openDatabase(fixture.dir);
      expect(again.pragma('user_version', { simple: true })).toBe(MIGRATION_COUNT);
      expect(again.pragma('journal_mode', { simple: true })).toBe('wal');
      again.close();
    } finally {
      await fixture.close();
    }
  });
});
