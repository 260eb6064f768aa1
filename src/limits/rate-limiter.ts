import { MeshError } from '../errors.js';
import type { RateLimitDecision, RateLimitStore } from '../ports/rate-limit-store.js';
import type { TenantSession } from '../tenancy/session.js';
import type { BucketRule, RateLimitedService } from './services.js';

/** Listeners see every refusal (metrics, the live feed). */
export type RateLimitListener = (session: TenantSession, service: RateLimitedService, retryAfterMs: number) => void;

export class RateLimiter {
  private readonly listeners: RateLimitListener[] = [];

  constructor(private readonly store: RateLimitStore) {}

  /** Returns a function that removes the listener again. */
  onRejected(listener: RateLimitListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /**
   * Take one token for the tenant's bucket of `service`; refused, the promise rejects with rate_limited and
   * nothing else happens. With a store in this process the token is taken at once and, when allowed, there
   * is nothing to wait for (undefined): the hot path of every call skips a promise.
   */
  acquire(session: TenantSession, service: RateLimitedService): Promise<void> | undefined {
    const rule = session.rateLimits[service];
    if (!this.store.takeNow) return this.store.take(session, service, rule).then((decision) => this.settle(session, service, rule, decision));
    const decision = this.store.takeNow(session, service, rule);
    if (decision.allowed) return undefined;
    return Promise.resolve(decision).then((refused) => this.settle(session, service, rule, refused));
  }

  private settle(session: TenantSession, service: RateLimitedService, rule: BucketRule, decision: RateLimitDecision): void {
    if (decision.allowed) return;
    for (const listener of this.listeners) listener(session, service, decision.retryAfterMs);
    throw new MeshError(
      'rate_limited',
      `rate limit for ${service} reached (capacity ${rule.capacity}, ${rule.refillPerSecond}/s); retry after ${decision.retryAfterMs} ms`,
      { retry_after_ms: decision.retryAfterMs, limit: `rateLimits.${service}` },
    );
  }

  snapshot(session: TenantSession) {
    return this.store.snapshot(session);
  }
}
