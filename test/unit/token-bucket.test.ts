import { describe, expect, it } from 'vitest';
import { isIdle, refill, take, type BucketState } from '../../src/limits/token-bucket.js';

const rule = { capacity: 5, refillPerSecond: 2 };

function drain(state: BucketState | undefined, now: number, times: number) {
  const results: boolean[] = [];
  for (let i = 0; i < times; i++) {
    const outcome = take(state, rule, now);
    results.push(outcome.allowed);
    state = outcome.state;
  }
  return { results, state: state! };
}

describe('token bucket', () => {
  it('starts full and admits exactly capacity calls at one instant (burst)', () => {
    const { results } = drain(undefined, 1000, 8);
    expect(results).toEqual([true, true, true, true, true, false, false, false]);
  });

  it('tells how long until the next token', () => {
    const { state } = drain(undefined, 0, 5);
    const refused = take(state, rule, 0);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBe(500);
    const partly = take(state, rule, 200);
    expect(partly.allowed).toBe(false);
    expect(partly.retryAfterMs).toBe(300);
  });

  it('refills at refillPerSecond and never above capacity', () => {
    const { state } = drain(undefined, 0, 5);
    expect(refill(state, rule, 499).tokens).toBeCloseTo(0.998, 6);
    expect(take(state, rule, 499).allowed).toBe(false);
    expect(take(state, rule, 500).allowed).toBe(true);
    expect(refill(state, rule, 1500).tokens).toBeCloseTo(3, 9);
    expect(refill(state, rule, 60_000).tokens).toBe(5);
  });

  it('admits exactly capacity + refill over a window', () => {
    let state: BucketState | undefined;
    let admitted = 0;
    for (let now = 0; now <= 10_000; now += 10) {
      const outcome = take(state, rule, now);
      state = outcome.state;
      if (outcome.allowed) admitted++;
    }
    expect(admitted).toBe(5 + 2 * 10);
  });

  it('ignores a clock that goes backwards instead of minting tokens', () => {
    const { state } = drain(undefined, 10_000, 5);
    expect(take(state, rule, 5_000).allowed).toBe(false);
    expect(refill(state, rule, 5_000).tokens).toBe(0);
  });

  it('is idle once refilled to capacity', () => {
    const { state } = drain(undefined, 0, 5);
    expect(isIdle(state, rule, 2_000)).toBe(false);
    expect(isIdle(state, rule, 2_500)).toBe(true);
  });
});
