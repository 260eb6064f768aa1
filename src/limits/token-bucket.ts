import type { BucketRule } from './services.js';

/** A token bucket as plain data, so any store (memory, Redis) can keep it. Pure: the clock is passed in. */
export interface BucketState {
  tokens: number;
  /** Milliseconds on the caller's clock when `tokens` was last computed. */
  updatedAt: number;
}

export interface TakeOutcome {
  allowed: boolean;
  state: BucketState;
  /** Tokens left after this take. */
  remaining: number;
  /** When refused: milliseconds until enough tokens have refilled. */
  retryAfterMs: number;
}

export function refill(state: BucketState | undefined, rule: BucketRule, now: number): BucketState {
  if (!state) return { tokens: rule.capacity, updatedAt: now };
  const elapsedMs = Math.max(0, now - state.updatedAt);
  const tokens = Math.min(rule.capacity, state.tokens + (elapsedMs * rule.refillPerSecond) / 1000);
  return { tokens, updatedAt: Math.max(now, state.updatedAt) };
}

export function take(state: BucketState | undefined, rule: BucketRule, now: number, cost = 1): TakeOutcome {
  const current = refill(state, rule, now);
  if (current.tokens >= cost) {
    const next = { tokens: current.tokens - cost, updatedAt: current.updatedAt };
    return { allowed: true, state: next, remaining: Math.floor(next.tokens), retryAfterMs: 0 };
  }
  const missing = cost - current.tokens;
  return {
    allowed: false,
    state: current,
    remaining: Math.floor(current.tokens),
    retryAfterMs: Math.max(1, Math.ceil((missing * 1000) / rule.refillPerSecond)),
  };
}

/** A bucket that has refilled to capacity behaves exactly like a new one, so it can be forgotten. */
export function isIdle(state: BucketState, rule: BucketRule, now: number): boolean {
  return refill(state, rule, now).tokens >= rule.capacity;
}
