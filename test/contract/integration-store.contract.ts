import { describe, expect } from 'vitest';
import type { IntegrationRecord, IntegrationStore } from '../../src/ports/integration-store.js';
import type { TenantSession } from '../../src/tenancy/session.js';
import { testSession } from '../helpers/sessions.js';
import { contractCases } from '../helpers/contract-cases.js';

export interface IntegrationStoreFixture {
  store: IntegrationStore;
  close(): Promise<void>;
}

const httpRecord = (name: string, overrides: Partial<IntegrationRecord> = {}): IntegrationRecord => ({
  name,
  transport: 'http',
  url: 'https://mcp.example.test/mcp',
  args: [],
  env: {},
  headers: { Authorization: 'sealed:v1:abc' },
  description: `integration ${name}`,
  tags: ['remote'],
  createdAt: 1_000,
  updatedAt: 1_000,
  ...overrides,
});

const stdioRecord = (name: string): IntegrationRecord => ({
  name,
  transport: 'stdio',
  command: 'node',
  args: ['server.js', '--flag', 'ünïcode'],
  env: { API_TOKEN: 'sealed:v1:xyz', EMPTY: '' },
  headers: {},
  description: 'runs locally — 日本',
  tags: [],
  createdAt: 2_000,
  updatedAt: 3_000,
});

/** One suite for every IntegrationStore driver. */
export function describeIntegrationStoreContract(driver: string, open: () => Promise<IntegrationStoreFixture>): void {
  const cases = contractCases(open);
  const run = (name: string, body: (store: IntegrationStore, a: TenantSession, b: TenantSession) => Promise<void>) =>
    cases(name, (fixture, a, b) => body(fixture.store, a, b));

  describe(`IntegrationStore contract: ${driver}`, () => {
    run('creates, then replaces keeping the first createdAt', async (store, a) => {
      const first = httpRecord('github');
      expect(await store.put(a, first)).toEqual({ created: true });
      expect(await store.get(a, 'github')).toStrictEqual(first);
      const replacement = httpRecord('github', { url: 'https://other.example.test/mcp', description: 'replaced', createdAt: 9_000, updatedAt: 9_000 });
      expect(await store.put(a, replacement)).toEqual({ created: false });
      expect(await store.get(a, 'github')).toStrictEqual({ ...replacement, createdAt: 1_000 });
      expect(await store.list(a)).toHaveLength(1);
    });

    run('stores a record exactly, optional fields present or absent', async (store, a) => {
      const local = stdioRecord('local-tools');
      await store.put(a, local);
      const read = await store.get(a, 'local-tools');
      expect(read).toStrictEqual(local);
      expect(read).not.toHaveProperty('url');
      expect(await store.get(a, 'missing')).toBeUndefined();
    });

    run("lists a tenant's integrations in name order", async (store, a) => {
      for (const name of ['zeta', 'alpha', 'Mid', 'ümlaut', 'alpha-2']) await store.put(a, httpRecord(name));
      expect((await store.list(a)).map((r) => r.name)).toEqual(['Mid', 'alpha', 'alpha-2', 'zeta', 'ümlaut']);
    });

    run('deletes, and says whether there was something to delete', async (store, a) => {
      await store.put(a, httpRecord('gone'));
      await store.put(a, httpRecord('stays'));
      expect(await store.delete(a, 'gone')).toBe(true);
      expect(await store.get(a, 'gone')).toBeUndefined();
      expect(await store.delete(a, 'gone')).toBe(false);
      expect((await store.list(a)).map((r) => r.name)).toEqual(['stays']);
    });

    run('keeps tenants apart for the same name', async (store, a, b) => {
      await store.put(a, httpRecord('shared', { description: 'of a' }));
      expect(await store.get(b, 'shared')).toBeUndefined();
      expect(await store.list(b)).toEqual([]);
      expect(await store.put(b, httpRecord('shared', { description: 'of b', createdAt: 5_000 }))).toEqual({ created: true });
      expect((await store.get(a, 'shared'))?.description).toBe('of a');
      expect((await store.get(b, 'shared'))?.createdAt).toBe(5_000);
      expect(await store.delete(b, 'shared')).toBe(true);
      expect(await store.delete(b, 'shared')).toBe(false);
      expect((await store.get(a, 'shared'))?.description).toBe('of a');
      expect((await store.list(a)).map((r) => r.description)).toEqual(['of a']);
    });

    run('counts integrations against maxIntegrations; replacing one is not a new one', async (store, a) => {
      const small = testSession('tenant-small', { limits: { maxIntegrations: 2 } });
      await store.put(small, httpRecord('one'));
      await store.put(small, httpRecord('two'));
      await expect(store.put(small, httpRecord('three'))).rejects.toMatchObject({
        code: 'quota_exceeded',
        details: { limit: 'maxIntegrations', limit_value: 2 },
      });
      expect(await store.get(small, 'three')).toBeUndefined();
      expect(await store.put(small, httpRecord('one', { description: 'replaced at the limit' }))).toEqual({ created: false });
      await store.put(a, httpRecord('three'));
      expect(await store.delete(small, 'two')).toBe(true);
      expect(await store.put(small, httpRecord('three'))).toEqual({ created: true });
      expect((await store.list(small)).map((r) => r.name)).toEqual(['one', 'three']);
    });

    run('admits exactly maxIntegrations of many creates racing at the limit, and frees room on delete', async (store) => {
      const small = testSession('tenant-racing', { limits: { maxIntegrations: 3 } });
      const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => store.put(small, httpRecord(`racer-${i}`))));
      const created = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(created).toHaveLength(3);
      for (const outcome of refused) expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'quota_exceeded' });
      const names = (await store.list(small)).map((r) => r.name);
      expect(names).toHaveLength(3);
      // Deleting one (and deleting it again, which is a no-op) makes room for exactly one more.
      expect(await store.delete(small, names[0]!)).toBe(true);
      expect(await store.delete(small, names[0]!)).toBe(false);
      expect(await store.put(small, httpRecord('after-delete'))).toEqual({ created: true });
      await expect(store.put(small, httpRecord('one-too-many'))).rejects.toMatchObject({ code: 'quota_exceeded' });
    });
  });
}
