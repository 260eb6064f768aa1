import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimitStore } from '../../src/drivers/aws/redis-rate-limit-store.js';
import { MemoryRateLimitStore } from '../../src/drivers/local/memory-rate-limit-store.js';
import { MeshError } from '../../src/errors.js';
import type { BucketRule } from '../../src/limits/services.js';
import type { RateLimitDecision } from '../../src/ports/rate-limit-store.js';
import type { TenantSession } from '../../src/tenancy/session.js';
import { freePort, startRedis } from '../helpers/aws-emulators.js';
import { testSession } from '../helpers/sessions.js';

let redis: Awaited<ReturnType<typeof startRedis>>;
let inspector: Redis;
const opened: RedisRateLimitStore[] = [];
let prefixCounter = 0;

beforeAll(async () => {
  redis = await startRedis();
  inspector = new Redis(redis.url);
});

afterAll(async () => {
  await inspector?.quit();
  await redis?.close();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

/** Each test gets its own key prefix so tests never share buckets. */
function freshPrefix(): string {
  return `test-${process.pid}-${++prefixCounter}:rl:`;
}

function openStore(keyPrefix = freshPrefix(), url = redis.url): RedisRateLimitStore {
  const store = new RedisRateLimitStore(url, { keyPrefix });
  opened.push(store);
  return store;
}

/** Nearly no refill during a test: only the capacity decides. */
const NO_REFILL: BucketRule = { capacity: 50, refillPerSecond: 0.001 };

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MeshError);
    return { code: (error as MeshError).code, message: (error as MeshError).message, ms: Date.now() - started };
  }
  throw new Error('expected the call to fail');
}

describe('RedisRateLimitStore', () => {
  it('allows up to capacity, then refuses with remaining 0 and a retry-after for one token', async () => {
    const store = openStore();
    const session = testSession('acme');
    const rule = { capacity: 5, refillPerSecond: 1 };
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < 6; i++) decisions.push(await store.take(session, 'sns', rule));
    expect(decisions.slice(0, 5).map((d) => [d.allowed, d.remaining, d.retryAfterMs])).toEqual([
      [true, 4, 0],
      [true, 3, 0],
      [true, 2, 0],
      [true, 1, 0],
      [true, 0, 0],
    ]);
    const refused = decisions[5]!;
    expect(refused.allowed).toBe(false);
    expect(refused.remaining).toBe(0);
    expect(refused.retryAfterMs).toBeGreaterThan(500);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
  });

  it('refills with time', async () => {
    const store = openStore();
    const session = testSession('acme');
    const rule = { capacity: 2, refillPerSecond: 20 };
    expect((await store.take(session, 'mcp', rule)).allowed).toBe(true);
    expect((await store.take(session, 'mcp', rule)).allowed).toBe(true);
    const refused = await store.take(session, 'mcp', rule);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(50);
    await sleep(250); // 5 tokens' worth of refill, capped at the capacity of 2
    expect((await store.take(session, 'mcp', rule)).allowed).toBe(true);
    expect((await store.take(session, 'mcp', rule)).allowed).toBe(true);
  });

  it('admits exactly the capacity of 200 parallel takes', async () => {
    const store = openStore();
    const session = testSession('acme');
    const decisions = await Promise.all(Array.from({ length: 200 }, () => store.take(session, 'dynamodb', NO_REFILL)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(50);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.retryAfterMs > 0)).toBe(true);
  });

  it('admits exactly the capacity across two stores (two connections) sharing one Redis', async () => {
    const prefix = freshPrefix();
    const first = openStore(prefix);
    const second = openStore(prefix);
    // Two processes would each have their own session object for the same tenant. The sessions carry the
    // rule the takes use, so the snapshot refills at the same (near-zero) rate, however late it runs.
    const inFirst = testSession('acme', { rateLimits: { s3: NO_REFILL } });
    const inSecond = testSession('acme', { rateLimits: { s3: NO_REFILL } });
    const decisions = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? first.take(inFirst, 's3', NO_REFILL) : second.take(inSecond, 's3', NO_REFILL))),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(50);
    const fromEach = [0, 1].map((parity) => decisions.filter((d, i) => i % 2 === parity && d.allowed).length);
    expect(fromEach[0]! + fromEach[1]!).toBe(50);
    expect((await first.snapshot(inFirst)).find((b) => b.service === 's3')?.tokens).toBe(0);
  });

  it('keeps a bucket only as long as it takes to refill, so idle buckets vanish', async () => {
    const prefix = freshPrefix();
    const store = openStore(prefix);
    const session = testSession('acme');
    const key = `${prefix}{acme}:eventbridge`;

    await store.take(session, 'eventbridge', { capacity: 10, refillPerSecond: 5 });
    await store.take(session, 'eventbridge', { capacity: 10, refillPerSecond: 5 });
    const pttl = await inspector.pttl(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(400); // 2 tokens at 5/s

    const shortRule = { capacity: 2, refillPerSecond: 20 };
    await store.take(session, 'stepfunctions', shortRule);
    const shortKey = `${prefix}{acme}:stepfunctions`;
    const shortTtl = await inspector.pttl(shortKey);
    expect(shortTtl).toBeGreaterThan(0);
    expect(shortTtl).toBeLessThanOrEqual(50);
    await sleep(200);
    expect(await inspector.exists(shortKey)).toBe(0);
    // Gone means full: the next take starts from capacity.
    expect(await store.take(session, 'stepfunctions', shortRule)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
  });

  it('keeps tenants apart: one tenant exhausting a bucket leaves another untouched', async () => {
    const prefix = freshPrefix();
    const store = openStore(prefix);
    const a = testSession('tenant-a', { rateLimits: { sns: { capacity: 3, refillPerSecond: 0.001 } } });
    const b = testSession('tenant-b', { rateLimits: { sns: { capacity: 3, refillPerSecond: 0.001 } } });
    for (let i = 0; i < 4; i++) await store.take(a, 'sns', a.rateLimits.sns);
    expect((await store.take(a, 'sns', a.rateLimits.sns)).allowed).toBe(false);
    expect(await store.take(b, 'sns', b.rateLimits.sns)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });

    expect((await store.snapshot(a)).find((s) => s.service === 'sns')).toEqual({ service: 'sns', tokens: 0, capacity: 3, refillPerSecond: 0.001 });
    expect((await store.snapshot(b)).find((s) => s.service === 'sns')?.tokens).toBe(2);
    expect((await inspector.keys(`${prefix}*`)).sort()).toEqual([`${prefix}{tenant-a}:sns`, `${prefix}{tenant-b}:sns`]);
  });

  it('snapshots every service with the session rules, full where no bucket exists', async () => {
    const store = openStore();
    const session = testSession('acme', { rateLimits: { mcp: { capacity: 4, refillPerSecond: 0.001 } } });
    await store.take(session, 'mcp', session.rateLimits.mcp);
    const snapshot = await store.snapshot(session);
    expect(snapshot.map((s) => s.service)).toEqual(['dynamodb', 's3', 'eventbridge', 'stepfunctions', 'sns', 'mcp']);
    for (const bucket of snapshot) {
      const rule = session.rateLimits[bucket.service];
      expect(bucket.capacity).toBe(rule.capacity);
      expect(bucket.refillPerSecond).toBe(rule.refillPerSecond);
      expect(bucket.tokens).toBe(bucket.service === 'mcp' ? 3 : rule.capacity);
    }
  });

  it('still works after Redis forgets its scripts (EVALSHA falls back to EVAL)', async () => {
    const store = openStore();
    const session = testSession('acme');
    const rule = { capacity: 3, refillPerSecond: 0.001 };
    expect((await store.take(session, 'mcp', rule)).remaining).toBe(2);
    await inspector.script('FLUSH');
    expect((await store.take(session, 'mcp', rule)).remaining).toBe(1);
  });

  it('refuses a session the auth layer did not issue', async () => {
    const store = openStore();
    const forged = { ...testSession('victim') } as TenantSession;
    await expect(store.take(forged, 'mcp', NO_REFILL)).rejects.toThrow(/not a TenantSession/);
    await expect(store.snapshot(forged)).rejects.toThrow(/not a TenantSession/);
  });

  it('fails fast with unavailable, naming AGENT_MESH_REDIS_URL, when Redis stops', async () => {
    const own = await startRedis();
    const store = openStore(freshPrefix(), own.url);
    const session = testSession('acme');
    try {
      expect((await store.take(session, 'mcp', NO_REFILL)).allowed).toBe(true);
    } finally {
      await own.close();
    }
    const take = await codeOf(store.take(session, 'mcp', NO_REFILL));
    expect(take.code).toBe('unavailable');
    expect(take.message).toContain('AGENT_MESH_REDIS_URL');
    expect(take.ms).toBeLessThan(5000);
    const snapshot = await codeOf(store.snapshot(session));
    expect(snapshot.code).toBe('unavailable');
    expect(snapshot.ms).toBeLessThan(5000);
  });

  it('answers unavailable, naming AGENT_MESH_REDIS_URL, when Redis wants a password the URL lacks', async () => {
    const own = await startRedis();
    const admin = new Redis(own.url);
    try {
      await admin.config('SET', 'requirepass', 'letmein');
      const failure = await codeOf(openStore(freshPrefix(), own.url).take(testSession('acme'), 'mcp', NO_REFILL));
      expect(failure.code).toBe('unavailable');
      expect(failure.message).toMatch(/refused agent-mesh's credentials \(check AGENT_MESH_REDIS_URL\)/);
      const url = new URL(own.url);
      url.password = 'letmein';
      expect((await openStore(freshPrefix(), url.href).take(testSession('acme'), 'mcp', NO_REFILL)).allowed).toBe(true);
    } finally {
      admin.disconnect();
      await own.close();
    }
  });

  it('reports to doctor whether Redis answers', async () => {
    expect(await openStore().check()).toMatchObject({ status: 'ok' });
    const port = await freePort();
    const down = await openStore(freshPrefix(), `redis://127.0.0.1:${port}`).check();
    expect(down).toMatchObject({ subject: `redis 127.0.0.1:${port} (rate limits)`, status: 'fail' });
    expect(down.detail).toContain('AGENT_MESH_REDIS_URL');
  });

  it('fails fast with unavailable when nothing listens at the URL, without leaking credentials', async () => {
    const port = await freePort();
    const store = openStore(freshPrefix(), `redis://user:s3cret@127.0.0.1:${port}`);
    const failure = await codeOf(store.take(testSession('acme'), 'mcp', NO_REFILL));
    expect(failure.code).toBe('unavailable');
    expect(failure.message).toContain(`127.0.0.1:${port}`);
    expect(failure.message).not.toContain('s3cret');
    expect(failure.ms).toBeLessThan(5000);
  });
});

describe('RedisRateLimitStore and MemoryRateLimitStore', () => {
  it('agree on a burst, a partial refill and a second burst', async () => {
    const memory = new MemoryRateLimitStore();
    const shared = openStore();
    const session = testSession('acme');
    // 4 tokens/s: after the 600 ms pause 2.4 tokens have refilled; a third would need 750 ms.
    const rule = { capacity: 3, refillPerSecond: 4 };
    const both = async () => {
      const [m, r] = [await memory.take(session, 'eventbridge', rule), await shared.take(session, 'eventbridge', rule)];
      return { memory: [m.allowed, m.remaining], redis: [r.allowed, r.remaining] };
    };
    const first = [];
    for (let i = 0; i < 5; i++) first.push(await both());
    await sleep(600);
    const second = [];
    for (let i = 0; i < 3; i++) second.push(await both());

    const pattern = (steps: { memory: unknown[] }[]) => steps.map((s) => s.memory);
    expect(first.map((s) => s.redis)).toEqual(pattern(first));
    expect(second.map((s) => s.redis)).toEqual(pattern(second));
    expect(pattern(first)).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
      [false, 0],
    ]);
    expect(second.map((s) => s.memory[0])).toEqual([true, true, false]);
    await memory.close();
  });
});
