import { MeshError } from '../errors.js';
import type { RateLimitStore } from '../ports/rate-limit-store.js';
import type { TenantSession } from '../tenancy/session.js';
import type { RateLimitedService } from './services.js';

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

  /** Take one token for the tenant's bucket of `service`, or throw rate_limited with no other effect. */
  async acquire(session: TenantSession, service: RateLimitedService): Promise<void> {
    const rule = session.rateLimits[service];
    const decision = await this.store.take(session, service, rule);
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
