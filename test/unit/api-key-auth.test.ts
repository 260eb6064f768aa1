import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { SqliteApiKeyStore } from '../../src/drivers/local/sqlite-api-key-store.js';
import { openDatabase } from '../../src/drivers/local/sqlite-database.js';
import { authenticateApiKey, newApiKey } from '../../src/tenancy/auth/api-keys.js';
import { tempDataDir, writeConfig } from '../helpers/server-process.js';

const data = tempDataDir('agent-mesh-api-key-auth');
afterAll(() => data.cleanup());

describe('API keys and the policy file', () => {
  it("narrow the tenant's configured permissions with their own, and never widen them", async () => {
    const config = loadConfig({ AGENT_MESH_CONFIG: writeConfig(data.dir, { tenants: { acme: { permissions: ['kv:read', 'events:*'] } } }) });
    const db = openDatabase(data.dir);
    try {
      const store = new SqliteApiKeyStore(db);
      await store.createTenant('acme', Date.now());
      const permissionsOf = async (permissions: string[]) => {
        const { record, token } = newApiKey('acme', 'alice', permissions, Date.now());
        await store.createKey(record);
        return (await authenticateApiKey(store, config, `Bearer ${token}`)).session.permissions;
      };
      expect(await permissionsOf([])).toEqual(['kv:read', 'events:*']);
      expect(await permissionsOf(['events:read'])).toEqual(['events:read']);
      // The operator narrowed acme to kv:read: a key made for kv:* or * does not get kv:write back.
      expect(await permissionsOf(['kv:*', 'artifacts:*'])).toEqual(['kv:read']);
      expect(await permissionsOf(['*'])).toEqual(['kv:read', 'events:*']);
    } finally {
      db.close();
    }
  });
});
