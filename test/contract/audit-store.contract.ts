import { describe, expect } from 'vitest';
import type { AuditEntry, AuditQuery, AuditStore } from '../../src/ports/audit-store.js';
import type { TenantSession } from '../../src/tenancy/session.js';
import { testSession } from '../helpers/sessions.js';
import { contractCases } from '../helpers/contract-cases.js';

export interface AuditStoreFixture {
  store: AuditStore;
  /** The store's clock now. */
  now(): number;
  /** How long the store keeps entries (the AWS driver's TTL retention); prune(now - retentionMs) must hide older ones. */
  retentionMs: number;
  close(): Promise<void>;
}

const entry = (tenantId: string, at: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  tenantId,
  userId: 'alice',
  contextType: 'user',
  tool: 'kv_get',
  outcome: 'ok',
  at,
  durationMs: 1.25,
  ...overrides,
});

/** Every page of a query, following `before` from the last row of each. */
async function allPages(store: AuditStore, session: TenantSession, query: AuditQuery) {
  const rows: (AuditEntry & { seq: number })[] = [];
  let before: AuditQuery['before'];
  for (let pages = 0; pages < 100; pages++) {
    const page = await store.query(session, { ...query, ...(before && { before }) });
    if (page.length === 0) return rows;
    rows.push(...page);
    const last = page[page.length - 1]!;
    before = { at: last.at, seq: last.seq };
  }
  throw new Error('pages never ended');
}

/** One suite for every AuditStore driver. */
export function describeAuditStoreContract(driver: string, open: () => Promise<AuditStoreFixture>): void {
  const cases = contractCases(open, 30_000);
  // t0: recent enough for any retention the fixture has.
  const run = (name: string, body: (fixture: AuditStoreFixture, a: TenantSession, b: TenantSession, t0: number) => Promise<void>) =>
    cases(name, (fixture, a, b) => body(fixture, a, b, fixture.now() - 60_000));

  describe(`AuditStore contract: ${driver}`, () => {
    run('returns the tenant’s own entries, newest first, each with a seq', async ({ store }, a, b, t0) => {
      await store.append([
        entry('tenant-a', t0 + 10, { tool: 'first', durationMs: 0.5 }),
        entry('tenant-b', t0 + 20, { tool: 'theirs' }),
        entry('tenant-a', t0 + 30, { tool: 'second', userId: 'bob', contextType: 'agent', outcome: 'not_found' }),
      ]);
      await store.append([]);
      const rows = await store.query(a, { limit: 10 });
      expect(rows.map(({ seq: _seq, ...rest }) => rest)).toEqual([
        { tenantId: 'tenant-a', userId: 'bob', contextType: 'agent', tool: 'second', outcome: 'not_found', at: t0 + 30, durationMs: 1.25 },
        { tenantId: 'tenant-a', userId: 'alice', contextType: 'user', tool: 'first', outcome: 'ok', at: t0 + 10, durationMs: 0.5 },
      ]);
      expect(rows.every((row) => Number.isSafeInteger(row.seq))).toBe(true);
      expect(new Set(rows.map((row) => row.seq)).size).toBe(2);
      expect((await store.query(b, { limit: 10 })).map((row) => row.tool)).toEqual(['theirs']);
      expect(await store.query(testSession('tenant-c'), { limit: 10 })).toEqual([]);
    });

    run('orders entries of one millisecond newest written first', async ({ store }, a, _b, t0) => {
      await store.append(['one', 'two', 'three'].map((tool) => entry('tenant-a', t0, { tool })));
      await store.append([entry('tenant-a', t0, { tool: 'four' })]);
      const rows = await store.query(a, { limit: 10 });
      expect(rows.map((row) => row.tool)).toEqual(['four', 'three', 'two', 'one']);
      expect(rows.map((row) => row.seq)).toEqual([...rows.map((row) => row.seq)].sort((x, y) => y - x));
    });

    run('filters by user, tool, outcome and a time range (start inclusive, end exclusive)', async ({ store }, a, _b, t0) => {
      await store.append([
        entry('tenant-a', t0 + 1, { userId: 'alice', tool: 'kv_get', outcome: 'ok' }),
        entry('tenant-a', t0 + 2, { userId: 'bob', tool: 'kv_get', outcome: 'not_found' }),
        entry('tenant-a', t0 + 3, { userId: 'alice', tool: 'kv_set', outcome: 'quota_exceeded' }),
        entry('tenant-a', t0 + 4, { userId: 'bob', tool: 'kv_set', outcome: 'ok' }),
        entry('tenant-b', t0 + 5, { userId: 'alice', tool: 'kv_get', outcome: 'ok' }),
      ]);
      const ats = async (query: Omit<AuditQuery, 'limit'>) => (await store.query(a, { ...query, limit: 10 })).map((row) => row.at - t0);
      expect(await ats({ userId: 'alice' })).toEqual([3, 1]);
      expect(await ats({ tool: 'kv_get' })).toEqual([2, 1]);
      expect(await ats({ outcome: 'ok' })).toEqual([4, 1]);
      expect(await ats({ userId: 'bob', tool: 'kv_set', outcome: 'ok' })).toEqual([4]);
      expect(await ats({ userId: 'carol' })).toEqual([]);
      expect(await ats({ startMs: t0 + 2, endMs: t0 + 4 })).toEqual([3, 2]);
      expect(await ats({ startMs: t0 + 4 })).toEqual([4]);
      expect(await ats({ endMs: t0 + 2 })).toEqual([1]);
      expect(await ats({ startMs: t0 + 3, endMs: t0 + 3 })).toEqual([]);
      expect(await ats({ startMs: t0 + 1, endMs: t0 + 4, userId: 'alice' })).toEqual([3, 1]);
    });

    run('pages with `before`, each entry exactly once, also with filters that match few entries', async ({ store }, a, _b, t0) => {
      const entries = Array.from({ length: 120 }, (_, i) => entry('tenant-a', t0 + Math.floor(i / 3), { tool: i % 17 === 0 ? 'rare' : 'common', durationMs: i }));
      await store.append(entries);
      const everything = await allPages(store, a, { limit: 7 });
      expect(everything.map((row) => row.durationMs)).toEqual(entries.map((e) => e.durationMs).reverse());
      const rare = await allPages(store, a, { tool: 'rare', limit: 2 });
      expect(rare.map((row) => row.durationMs)).toEqual([119, 102, 85, 68, 51, 34, 17, 0]);
      const first = await store.query(a, { tool: 'rare', limit: 3 });
      expect(first.map((row) => row.durationMs)).toEqual([119, 102, 85]);
      const windowed = await allPages(store, a, { startMs: t0 + 10, endMs: t0 + 20, limit: 4 });
      expect(windowed).toHaveLength(30);
      expect(windowed.every((row) => row.at >= t0 + 10 && row.at < t0 + 20)).toBe(true);
    });

    run('hides entries older than prune(now - retention)', async (fixture, a, _b) => {
      const { store } = fixture;
      const now = fixture.now();
      await store.append([
        entry('tenant-a', now - 2 * fixture.retentionMs, { tool: 'old' }),
        entry('tenant-a', now - fixture.retentionMs / 2, { tool: 'recent' }),
      ]);
      const removed = await store.prune(now - fixture.retentionMs);
      expect(removed).toBeGreaterThanOrEqual(0);
      expect((await store.query(a, { limit: 10 })).map((row) => row.tool)).toEqual(['recent']);
      expect((await store.query(a, { limit: 10, startMs: 0 })).map((row) => row.tool)).toEqual(['recent']);
    });

    run('writes batches larger than one request, for many tenants at once', async ({ store }, a, b, t0) => {
      const entries = Array.from({ length: 130 }, (_, i) => entry(i % 2 ? 'tenant-a' : 'tenant-b', t0 + i, { durationMs: i }));
      await store.append(entries);
      expect(await allPages(store, a, { limit: 50 })).toHaveLength(65);
      expect((await allPages(store, b, { limit: 50 })).map((row) => row.durationMs)).toEqual(entries.filter((_, i) => i % 2 === 0).map((e) => e.durationMs).reverse());
    });
  });
}
