export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Per-integration circuit breaker: after `failureThreshold` failures in a row it opens and refuses calls
 * for `openMs`; then one probe call goes through (half-open): success closes it, failure opens it again.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private state: BreakerState = 'closed';
  private probing = false;

  constructor(
    private readonly failureThreshold: number,
    private readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a call may go ahead now; in half-open state only one call at a time may. */
  tryAcquire(): boolean {
    if (this.state === 'open' && this.now() - this.openedAt >= this.openMs) this.state = 'half-open';
    if (this.state === 'closed') return true;
    if (this.state === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.state = 'closed';
  }

  failure(): void {
    this.probing = false;
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.failureThreshold) {
      this.state = 'open';
      this.openedAt = this.now();
    }
  }

  get status(): BreakerState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.openMs) return 'half-open';
    return this.state;
  }

  /** When an open breaker lets a probe through. */
  get retryAt(): number {
    return this.openedAt + this.openMs;
  }
}
