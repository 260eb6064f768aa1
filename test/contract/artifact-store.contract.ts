import { createHash } from 'node:crypto';
import { describe, expect } from 'vitest';
import type { ArtifactStore, ArtifactWrite } from '../../src/ports/artifact-store.js';
import type { TenantSession } from '../../src/tenancy/session.js';
import { testSession } from '../helpers/sessions.js';
import { contractCases } from '../helpers/contract-cases.js';

export interface ArtifactStoreFixture {
  store: ArtifactStore;
  close(): Promise<void>;
}

const body = (text: string, contentType = 'text/plain'): ArtifactWrite => {
  const buffer = Buffer.from(text);
  return { body: buffer, sha256: createHash('sha256').update(buffer).digest('hex'), contentType, metadata: { origin: 'contract' } };
};

/** One suite for every ArtifactStore driver. */
export function describeArtifactStoreContract(driver: string, open: () => Promise<ArtifactStoreFixture>): void {
  const cases = contractCases(open);
  const run = (name: string, test: (store: ArtifactStore, a: TenantSession, b: TenantSession) => Promise<void>) =>
    cases(name, (fixture, a, b) => test(fixture.store, a, b));

  describe(`ArtifactStore contract: ${driver}`, () => {
    run('stores, replaces and deletes with versions and metadata', async (store, a) => {
      expect(await store.put(a, 'doc.txt', body('one'))).toMatchObject({ key: 'doc.txt', size: 3, version: 1, metadata: { origin: 'contract' } });
      expect(await store.put(a, 'doc.txt', body('three'))).toMatchObject({ size: 5, version: 2 });
      const got = await store.get(a, 'doc.txt');
      expect(got?.body.toString()).toBe('three');
      expect(got?.meta).toMatchObject({ contentType: 'text/plain', sha256: body('three').sha256 });
      expect(await store.delete(a, 'doc.txt')).toBe(true);
      expect(await store.get(a, 'doc.txt')).toBeUndefined();
      expect(await store.delete(a, 'doc.txt')).toBe(false);
    });

    run('keeps tenants apart', async (store, a, b) => {
      await store.put(a, 'same', body('a'));
      expect(await store.get(b, 'same')).toBeUndefined();
      await store.put(b, 'same', body('b'));
      expect((await store.get(a, 'same'))?.body.toString()).toBe('a');
      expect((await store.list(b, { prefix: '', limit: 10 })).items.map((i) => i.key)).toEqual(['same']);
    });

    run('enforces the total-bytes quota atomically, counting replacements by their new size', async (store) => {
      const small = testSession('small', { limits: { maxTotalArtifactBytes: 10 } });
      await store.put(small, 'a', body('12345'));
      const racing = await Promise.allSettled(['b', 'c', 'd'].map((key) => store.put(small, key, body('12345'))));
      expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(racing.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.code === 'quota_exceeded')).toBe(true);
      await store.put(small, 'a', body('1'));
      await store.put(small, 'e', body('1234'));
      expect((await store.list(small, { prefix: '', limit: 10 })).items.reduce((sum, i) => sum + i.size, 0)).toBe(10);
    });

    run('lists by prefix with pagination', async (store, a) => {
      for (const key of ['r/1', 'r/2', 'r/3', 's/1']) await store.put(a, key, body(key));
      const first = await store.list(a, { prefix: 'r/', limit: 2 });
      expect(first.items.map((i) => i.key)).toEqual(['r/1', 'r/2']);
      const rest = await store.list(a, { prefix: 'r/', limit: 2, after: first.nextAfter! });
      expect(rest.items.map((i) => i.key)).toEqual(['r/3']);
      expect(rest.nextAfter).toBeUndefined();
    });

    run('never shows a reader a partial body while writers replace it', async (store, a) => {
      const versions = ['x'.repeat(200_000), 'y'.repeat(300_000), 'z'.repeat(100_000)];
      await store.put(a, 'hot', body(versions[0]!));
      const writers = Array.from({ length: 12 }, (_, i) => store.put(a, 'hot', body(versions[i % 3]!)));
      const readers = Array.from({ length: 40 }, () => store.get(a, 'hot'));
      await Promise.all(writers);
      for (const read of await Promise.all(readers)) {
        const text = read!.body.toString();
        expect(versions).toContain(text);
        expect(read!.meta.sha256).toBe(createHash('sha256').update(read!.body).digest('hex'));
      }
    });
  });
}
