import { performance } from 'node:perf_hooks';
import type { BucketSnapshot, RateLimitDecision, RateLimitStore } from '../../ports/rate-limit-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { RATE_LIMITED_SERVICES, type BucketRule, type RateLimitedService } from '../../limits/services.js';
import { isIdle, refill, take, type BucketState } from '../../limits/token-bucket.js';

interface Entry {
  state: BucketState;
  rule: BucketRule;
}

export interface MemoryRateLimitStoreOptions {
  now?: () => number;
  /** How often, in ms of the store's clock, idle buckets are swept out. */
  sweepEveryMs?: number;
}

/** Buckets in this process's memory: exact within one process; use a shared store across processes. */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly buckets = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly sweepEveryMs: number;
  private lastSweep: number;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.sweepEveryMs = options.sweepEveryMs ?? 60_000;
    this.lastSweep = this.now();
  }

  get size(): number {
    return this.buckets.size;
  }

  async take(session: TenantSession, service: RateLimitedService, rule: BucketRule): Promise<RateLimitDecision> {
    return this.takeNow(session, service, rule);
  }

  /** Synchronous: nothing can interleave between reading and writing a bucket. */
  takeNow(session: TenantSession, service: RateLimitedService, rule: BucketRule): RateLimitDecision {
    const now = this.now();
    if (now - this.lastSweep >= this.sweepEveryMs) this.sweep(now);
    const key = bucketKey(session.tenantId, service);
    const entry = this.buckets.get(key);
    const outcome = take(entry?.state, rule, now);
    if (entry) {
      entry.state = outcome.state;
      entry.rule = rule;
    } else {
      this.buckets.set(key, { state: outcome.state, rule });
    }
    return { allowed: outcome.allowed, remaining: outcome.remaining, retryAfterMs: outcome.retryAfterMs };
  }

  async snapshot(session: TenantSession): Promise<BucketSnapshot[]> {
    const now = this.now();
    return RATE_LIMITED_SERVICES.map((service) => {
      const rule = session.rateLimits[service];
      const entry = this.buckets.get(bucketKey(session.tenantId, service));
      return { service, tokens: Math.floor(refill(entry?.state, rule, now).tokens), capacity: rule.capacity, refillPerSecond: rule.refillPerSecond };
    });
  }

  /** Forget buckets that have refilled to capacity: they behave like absent ones. */
  sweep(now = this.now()): void {
    this.lastSweep = now;
    for (const [key, entry] of this.buckets) {
      if (isIdle(entry.state, entry.rule, now)) this.buckets.delete(key);
    }
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }
}

const bucketKey = (tenantId: string, service: RateLimitedService): string => `${tenantId}\u0000${service}`;
