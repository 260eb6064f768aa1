import type { TenantSession } from '../tenancy/session.js';
import type { BucketRule, RateLimitedService } from '../limits/services.js';

export interface RateLimitDecision {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}

export interface BucketSnapshot {
  service: RateLimitedService;
  tokens: number;
  capacity: number;
  refillPerSecond: number;
}

/**
 * Where token buckets live. Taking a token is atomic per (tenant, service): of N concurrent takes against
 * a full bucket of capacity C, exactly C are allowed. Idle buckets are forgotten.
 */
export interface RateLimitStore {
  take(session: TenantSession, service: RateLimitedService, rule: BucketRule): Promise<RateLimitDecision>;
  /** The same, answered at once, by stores that keep buckets in this process. */
  takeNow?(session: TenantSession, service: RateLimitedService, rule: BucketRule): RateLimitDecision;
  snapshot(session: TenantSession): Promise<BucketSnapshot[]>;
  close(): Promise<void>;
}
