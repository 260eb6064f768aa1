import { describe, expect } from 'vitest';
import type { KvStore } from '../../src/ports/kv-store.js';
import { testSession } from '../helpers/sessions.js';
import { contractCases } from '../helpers/contract-cases.js';

export interface KvStoreFixture {
  store: KvStore;
  /** Moves the store's clock. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/** One suite for every KvStore driver: the local one now, the AWS one later. */
export function describeKvStoreContract(driver: string, open: () => Promise<KvStoreFixture>): void {
  const value = (v: unknown) => ({ valueJson: JSON.stringify(v), expiresAt: null });
  const run = contractCases(open);

  describe(`KvStore contract: ${driver}`, () => {
    run('versions start at 1 and grow by one per write', async ({ store }, a) => {
      expect(await store.set(a, 'k', value(1))).toEqual({ version: 1 });
      expect(await store.set(a, 'k', value(2))).toEqual({ version: 2 });
      expect(await store.get(a, 'k')).toMatchObject({ key: 'k', valueJson: '2', version: 2, expiresAt: null });
    });

    run('keeps tenants apart for the same key', async ({ store }, a, b) => {
      await store.set(a, 'shared', value('a'));
      expect(await store.get(b, 'shared')).toBeUndefined();
      await store.set(b, 'shared', value('b'));
      expect((await store.get(a, 'shared'))?.valueJson).toBe('"a"');
      expect(await store.delete(b, 'shared')).toBe(true);
      expect((await store.get(a, 'shared'))?.valueJson).toBe('"a"');
      expect((await store.list(b, { prefix: '', limit: 10 })).items).toEqual([]);
    });

    run('treats expired entries as absent and purges them', async (fixture, a) => {
      const { store } = fixture;
      await store.set(a, 'ttl', { valueJson: '1', expiresAt: Date.now() + 1000 });
      await store.set(a, 'keep', value(1));
      fixture.advance(1001);
      expect(await store.get(a, 'ttl')).toBeUndefined();
      expect((await store.list(a, { prefix: '', limit: 10 })).items.map((i) => i.key)).toEqual(['keep']);
      expect(await store.purgeExpired(100)).toBe(1);
      expect(await store.purgeExpired(100)).toBe(0);
      expect(await store.delete(a, 'ttl')).toBe(false);
    });

    run('enforces ifVersion and ifAbsent atomically', async ({ store }, a) => {
      await store.set(a, 'k', { ...value(1), ifAbsent: true });
      await expect(store.set(a, 'k', { ...value(2), ifAbsent: true })).rejects.toMatchObject({ code: 'conflict' });
      await expect(store.set(a, 'k', { ...value(2), ifVersion: 7 })).rejects.toMatchObject({ code: 'conflict' });
      await expect(store.delete(a, 'k', 7)).rejects.toMatchObject({ code: 'conflict' });
      expect((await store.get(a, 'k'))?.version).toBe(1);
      const attempts = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.set(a, 'k', { ...value(i), ifVersion: 1 })));
      expect(attempts.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    run('counts keys against maxKeys, freeing expired ones first', async (fixture, a) => {
      const { store } = fixture;
      const small = testSession('tenant-small', { limits: { maxKeys: 2 } });
      await store.set(small, 'one', value(1));
      await store.set(small, 'two', { valueJson: '2', expiresAt: Date.now() + 10 });
      await expect(store.set(small, 'three', value(3))).rejects.toMatchObject({ code: 'quota_exceeded' });
      expect(await store.get(small, 'three')).toBeUndefined();
      fixture.advance(20);
      await store.set(small, 'three', value(3));
      expect((await store.list(small, { prefix: '', limit: 10 })).items.map((i) => i.key)).toEqual(['one', 'three']);
      await store.set(a, 'unaffected', value(1));
    });

    run('lists by prefix in key order with pagination, never past the prefix', async ({ store }, a) => {
      const keys = ['p/a', 'p/b', 'p/c', 'p/日本', 'p/🚀', 'q/a', 'p', 'o/z'];
      for (const key of keys) await store.set(a, key, value(key));
      const first = await store.list(a, { prefix: 'p/', limit: 2 });
      expect(first.items.map((i) => i.key)).toEqual(['p/a', 'p/b']);
      const second = await store.list(a, { prefix: 'p/', limit: 10, after: first.nextAfter! });
      expect(second.items.map((i) => i.key)).toEqual(['p/c', 'p/日本', 'p/🚀']);
      expect(second.nextAfter).toBeUndefined();
      // A cursor from elsewhere cannot pull keys from outside the prefix.
      expect((await store.list(a, { prefix: 'p/', limit: 10, after: 'a' })).items).toHaveLength(5);
    });
  });
}
