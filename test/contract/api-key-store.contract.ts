import { describe, expect } from 'vitest';
import type { ApiKeyRecord, ApiKeyStore } from '../../src/ports/api-key-store.js';
import { contractCases } from '../helpers/contract-cases.js';

export interface ApiKeyStoreFixture {
  store: ApiKeyStore;
  close(): Promise<void>;
}

const apiKey = (id: string, tenantId: string, createdAt: number, permissions: string[] = []): ApiKeyRecord => ({
  id,
  tenantId,
  userId: `user-of-${id}`,
  permissions,
  secretHash: id.repeat(8).slice(0, 64).padEnd(64, '0'),
  createdAt,
  revokedAt: null,
});

/** One suite for every ApiKeyStore driver. */
export function describeApiKeyStoreContract(driver: string, open: () => Promise<ApiKeyStoreFixture>): void {
  const cases = contractCases(open);
  const run = (name: string, body: (store: ApiKeyStore) => Promise<void>) => cases(name, (fixture) => body(fixture.store));

  describe(`ApiKeyStore contract: ${driver}`, () => {
    run('creates a tenant once; a second create changes nothing', async (store) => {
      expect(await store.createTenant('acme', 1_000)).toEqual({ created: true });
      expect(await store.createTenant('acme', 2_000)).toEqual({ created: false });
      expect(await store.listTenants()).toEqual([{ id: 'acme', createdAt: 1_000 }]);
      expect(await store.tenantExists('acme')).toBe(true);
      expect(await store.tenantExists('acme2')).toBe(false);
      expect(await store.tenantExists('other')).toBe(false);
    });

    run('lists tenants in id order', async (store) => {
      for (const [i, id] of ['zeta', 'acme', 'Beta', 'm-1', 'm.0'].entries()) await store.createTenant(id, i);
      expect((await store.listTenants()).map((t) => t.id)).toEqual(['Beta', 'acme', 'm-1', 'm.0', 'zeta']);
    });

    run('stores a key and reads it back by id', async (store) => {
      const plain = apiKey('0123456789abcdef', 'acme', 1_000);
      const scoped = apiKey('fedcba9876543210', 'acme', 2_000, ['kv:read', 'events:*']);
      await store.createKey(plain);
      await store.createKey(scoped);
      expect(await store.getKey(plain.id)).toEqual(plain);
      expect(await store.getKey(scoped.id)).toEqual(scoped);
      expect(await store.getKey('0000000000000000')).toBeUndefined();
    });

    run('refuses a second key with the same id and keeps the first', async (store) => {
      const first = apiKey('0123456789abcdef', 'acme', 1_000);
      await store.createKey(first);
      await expect(store.createKey({ ...apiKey('0123456789abcdef', 'intruder', 2_000), secretHash: 'f'.repeat(64) })).rejects.toThrow();
      expect(await store.getKey(first.id)).toEqual(first);
      expect(await store.listKeys('intruder')).toEqual([]);
    });

    run('lists the keys of one tenant, or all by tenant then creation time', async (store) => {
      const keys = [
        apiKey('000000000000000b', 'beta', 3_000),
        apiKey('000000000000000a', 'acme', 2_000),
        apiKey('000000000000000c', 'acme', 1_000),
        apiKey('000000000000000d', 'beta', 500),
      ];
      for (const key of keys) await store.createKey(key);
      expect((await store.listKeys()).map((k) => k.id)).toEqual(['000000000000000c', '000000000000000a', '000000000000000d', '000000000000000b']);
      expect(await store.listKeys('acme')).toEqual([keys[2], keys[1]]);
      expect((await store.listKeys('beta')).map((k) => k.tenantId)).toEqual(['beta', 'beta']);
      expect(await store.listKeys('nobody')).toEqual([]);
    });

    run('revokes a key once, and only that key', async (store) => {
      await store.createKey(apiKey('000000000000000a', 'acme', 1_000));
      await store.createKey(apiKey('000000000000000b', 'acme', 2_000));
      expect(await store.revokeKey('000000000000000a', 5_000)).toBe(true);
      expect((await store.getKey('000000000000000a'))?.revokedAt).toBe(5_000);
      expect(await store.revokeKey('000000000000000a', 6_000)).toBe(false);
      expect((await store.getKey('000000000000000a'))?.revokedAt).toBe(5_000);
      expect((await store.getKey('000000000000000b'))?.revokedAt).toBeNull();
      expect(await store.revokeKey('0000000000000000', 5_000)).toBe(false);
      expect(await store.getKey('0000000000000000')).toBeUndefined();
      expect((await store.listKeys('acme')).map((k) => k.revokedAt)).toEqual([5_000, null]);
    });
  });
}
