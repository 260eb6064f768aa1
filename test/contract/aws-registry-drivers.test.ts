import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoApiKeyStore } from '../../src/drivers/aws/dynamo-api-key-store.js';
import { DynamoIntegrationStore } from '../../src/drivers/aws/dynamo-integration-store.js';
import { useDynalite } from '../helpers/aws-emulators.js';
import { testSession } from '../helpers/sessions.js';
import { describeApiKeyStoreContract } from './api-key-store.contract.js';
import { describeIntegrationStoreContract } from './integration-store.contract.js';

const dynalite = useDynalite();
let client: DynamoDBDocumentClient;
beforeAll(() => void (client = dynalite.client));

async function freshTable() {
  const table = await dynalite.table();
  return { table, close: () => dynalite.dropTable(table) };
}

describeIntegrationStoreContract('dynamodb (dynalite)', async () => {
  const { table, close } = await freshTable();
  return { store: new DynamoIntegrationStore(client, table), close };
});

describeApiKeyStoreContract('dynamodb (dynalite)', async () => {
  const { table, close } = await freshTable();
  return { store: new DynamoApiKeyStore(client, table), close };
});

describe('DynamoDB registry drivers', () => {
  it('count integrations a table already holds when their quota counter is new', async () => {
    const { table, close } = await freshTable();
    try {
      const session = testSession('tenant-legacy', { limits: { maxIntegrations: 3 } });
      const record = (name: string) => ({ name, transport: 'http' as const, url: 'https://mcp.example.test/mcp', args: [], env: {}, headers: {}, description: '', tags: [], createdAt: 1, updatedAt: 1 });
      // Two integrations written before the counter existed: as the item an earlier version wrote, no USAGE counter.
      for (const name of ['old-1', 'old-2']) {
        await client.send(new PutCommand({ TableName: table, Item: { pk: 'T#tenant-legacy', sk: `INT#${name}`, record: JSON.stringify(record(name)), createdAt: 1, updatedAt: 1 } }));
      }
      const store = new DynamoIntegrationStore(client, table);
      expect(await store.put(session, record('new-1'))).toEqual({ created: true });
      await expect(store.put(session, record('new-2'))).rejects.toMatchObject({ code: 'quota_exceeded', message: expect.stringMatching(/has 3 integrations/) });
      expect(await store.delete(session, 'old-1')).toBe(true);
      // Another process (a new store) sees the same counter.
      expect(await new DynamoIntegrationStore(client, table).put(session, record('new-2'))).toEqual({ created: true });
    } finally {
      await close();
    }
  });

  it('keep integrations in the tenant partition and keys in the system partitions', async () => {
    const { table, close } = await freshTable();
    try {
      const integrations = new DynamoIntegrationStore(client, table);
      const keys = new DynamoApiKeyStore(client, table);
      await integrations.put(testSession('tenant-a'), {
        name: 'docs',
        transport: 'http',
        url: 'https://mcp.example.test/mcp',
        args: [],
        env: {},
        headers: {},
        description: '',
        tags: [],
        createdAt: 1,
        updatedAt: 1,
      });
      await keys.createTenant('tenant-a', 1);
      await keys.createKey({ id: '0123456789abcdef', tenantId: 'tenant-a', userId: 'u', permissions: [], secretHash: '0'.repeat(64), createdAt: 1, revokedAt: null });
      const item = async (pk: string, sk: string) => (await client.send(new GetCommand({ TableName: table, Key: { pk, sk } }))).Item;
      expect(await item('T#tenant-a', 'INT#docs')).toMatchObject({ createdAt: 1, updatedAt: 1 });
      expect(await item('T#tenant-b', 'INT#docs')).toBeUndefined();
      expect(await item('SYS#TENANTS', 'tenant-a')).toMatchObject({ createdAt: 1 });
      const key = await item('SYS#KEYS', '0123456789abcdef');
      expect(key).toMatchObject({ tenantId: 'tenant-a', secretHash: '0'.repeat(64) });
      expect(key).not.toHaveProperty('revokedAt');
    } finally {
      await close();
    }
  });

  it('replacing integrations concurrently at maxIntegrations neither creates nor refuses', async () => {
    const { table, close } = await freshTable();
    try {
      const store = new DynamoIntegrationStore(client, table);
      const small = testSession('tenant-small', { limits: { maxIntegrations: 3 } });
      const record = (name: string) => ({ name, transport: 'http' as const, url: 'https://x.test', args: [], env: {}, headers: {}, description: '', tags: [], createdAt: 1, updatedAt: 1 });
      for (const name of ['a', 'b', 'c']) await store.put(small, record(name));
      await expect(store.put(small, record('d'))).rejects.toMatchObject({ code: 'quota_exceeded' });
      const replaced = await Promise.all(['a', 'b', 'c', 'a'].map((name) => store.put(small, record(name))));
      expect(replaced.every((r) => !r.created)).toBe(true);
      expect((await store.list(small)).map((r) => r.name)).toEqual(['a', 'b', 'c']);
    } finally {
      await close();
    }
  });
});
