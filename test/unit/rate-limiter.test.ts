import { describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from '../../src/drivers/local/memory-rate-limit-store.js';
import { MeshError } from '../../src/errors.js';
import { RateLimiter } from '../../src/limits/rate-limiter.js';
import { testSession } from '../helpers/sessions.js';

describe('rate limiter on the memory store', () => {
  it('admits exactly C of N parallel calls and refuses the rest with retry_after_ms', async () => {
    let now = 0;
    const limiter = new RateLimiter(new MemoryRateLimitStore({ now: () => now }));
    const session = testSession('t1', { rateLimits: { dynamodb: { capacity: 7, refillPerSecond: 1 } } });
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, () => Promise.resolve(limiter.acquire(session, 'dynamodb'))));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(7);
    const refusals = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as MeshError);
    expect(refusals).toHaveLength(43);
    expect(refusals.every((e) => e.code === 'rate_limited' && e.details.retry_after_ms === 1000)).toBe(true);
    now = 1000;
    await expect(Promise.resolve(limiter.acquire(session, 'dynamodb'))).resolves.toBeUndefined();
  });

  it('keeps one bucket per (tenant, service)', async () => {
    const limiter = new RateLimiter(new MemoryRateLimitStore({ now: () => 0 }));
    const rateLimits = { dynamodb: { capacity: 1, refillPerSecond: 1 }, s3: { capacity: 1, refillPerSecond: 1 } };
    const a = testSession('a', { rateLimits });
    const b = testSession('b', { rateLimits });
    await limiter.acquire(a, 'dynamodb');
    await expect(Promise.resolve(limiter.acquire(a, 'dynamodb'))).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(Promise.resolve(limiter.acquire(a, 's3'))).resolves.toBeUndefined();
    await expect(Promise.resolve(limiter.acquire(b, 'dynamodb'))).resolves.toBeUndefined();
  });

  it('tells listeners about refusals', async () => {
    const limiter = new RateLimiter(new MemoryRateLimitStore({ now: () => 0 }));
    const seen: string[] = [];
    limiter.onRejected((session, service) => seen.push(`${session.tenantId}/${service}`));
    const session = testSession('t', { rateLimits: { sns: { capacity: 1, refillPerSecond: 1 } } });
    await limiter.acquire(session, 'sns');
    await Promise.resolve(limiter.acquire(session, 'sns')).catch(() => {});
    expect(seen).toEqual(['t/sns']);
  });

  it('evicts idle buckets so memory does not grow with tenants that went away', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore({ now: () => now, sweepEveryMs: 1000 });
    const rateLimits = { dynamodb: { capacity: 10, refillPerSecond: 5 } };
    for (let i = 0; i < 5000; i++) await store.take(testSession(`tenant-${i}`, { rateLimits }), 'dynamodb', rateLimits.dynamodb);
    expect(store.size).toBe(5000);
    now = 100; // not yet refilled: nothing may be forgotten, or a tenant could reset its own bucket
    store.sweep();
    expect(store.size).toBe(5000);
    now = 1200; // one token short refills in 0.2 s; the next take after sweepEveryMs sweeps
    const active = testSession('active', { rateLimits });
    await store.take(active, 'dynamodb', rateLimits.dynamodb);
    expect(store.size).toBe(1);
  });

  it('snapshots a tenant\'s buckets with their rules', async () => {
    const store = new MemoryRateLimitStore({ now: () => 0 });
    const session = testSession('snap', { rateLimits: { s3: { capacity: 3, refillPerSecond: 1 } } });
    await store.take(session, 's3', session.rateLimits.s3);
    const s3 = (await store.snapshot(session)).find((bucket) => bucket.service === 's3');
    expect(s3).toEqual({ service: 's3', tokens: 2, capacity: 3, refillPerSecond: 1 });
  });
});
