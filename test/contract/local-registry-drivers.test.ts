import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/drivers/local/sqlite-database.js';
import { SqliteApiKeyStore } from '../../src/drivers/local/sqlite-api-key-store.js';
import { SqliteIntegrationStore } from '../../src/drivers/local/sqlite-integration-store.js';
import { describeApiKeyStoreContract } from './api-key-store.contract.js';
import { describeIntegrationStoreContract } from './integration-store.contract.js';

function localFixture() {
  const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-contract-'));
  const db = openDatabase(dir);
  return {
    db,
    close: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeIntegrationStoreContract('sqlite', async () => {
  const fixture = localFixture();
  return { store: new SqliteIntegrationStore(fixture.db), close: fixture.close };
});

describeApiKeyStoreContract('sqlite', async () => {
  const fixture = localFixture();
  return { store: new SqliteApiKeyStore(fixture.db), close: fixture.close };
});
