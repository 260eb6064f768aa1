import { performance } from 'node:perf_hooks';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { EventStore } from '../../ports/event-store.js';
import { requirePermission } from '../../tenancy/permissions.js';
import type { TenantSession } from '../../tenancy/session.js';
import { toIso } from '../time.js';

const RECENT_FAILURES = 10;

/** events_health_check: is the store answering, what is queued, what failed, and how full are the buckets. */
export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly store: EventStore,
    private readonly limiter: RateLimiter,
    private readonly version: string,
    private readonly backend: string,
  ) {}

  async check(session: TenantSession) {
    requirePermission(session, 'events:read');
    await this.limiter.acquire(session, 'eventbridge');
    const started = performance.now();
    let storeStatus: 'ok' | 'error' = 'ok';
    let storeError: string | undefined;
    try {
      await this.store.ping();
    } catch (error) {
      storeStatus = 'error';
      storeError = (error as Error).message;
    }
    const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    const [rules, alerts, deliveries, failures, starts, startFailures, buckets] = await Promise.all([
      this.store.listRules(session),
      this.store.listAlerts(session),
      this.store.deliveryStats(session, 'alert'),
      this.store.recentAttempts(session, RECENT_FAILURES, true, 'alert'),
      this.store.deliveryStats(session, 'workflow'),
      this.store.recentAttempts(session, RECENT_FAILURES, true, 'workflow'),
      this.limiter.snapshot(session),
    ]);
    return {
      status: storeStatus === 'ok' ? ('ok' as const) : ('degraded' as const),
      version: this.version,
      backend: this.backend,
      uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000),
      store: { status: storeStatus, latency_ms: latencyMs, ...(storeError && { error: storeError }) },
      rules: { total: rules.length, enabled: rules.filter((rule) => rule.enabled).length },
      alerts: alerts.length,
      deliveries: { backlog: deliveries.pending, delivered: deliveries.delivered, failed: deliveries.failed },
      recent_failures: failures.map((attempt) => ({
        alert: attempt.alertName,
        delivery_id: attempt.deliveryId,
        attempt: attempt.attempt,
        at: toIso(attempt.at)!,
        status: attempt.status,
        error: attempt.error,
      })),
      // Rules' workflow targets: queued with their event, retried with backoff like alert deliveries.
      workflow_starts: {
        backlog: starts.pending,
        started: starts.delivered,
        failed: starts.failed,
        recent_failures: startFailures.map((attempt) => ({
          rule: attempt.alertName,
          workflow: attempt.workflow ?? '',
          start_id: attempt.deliveryId,
          attempt: attempt.attempt,
          at: toIso(attempt.at)!,
          error: attempt.error,
        })),
      },
      rate_limits: buckets.map((bucket) => ({
        service: bucket.service,
        tokens: bucket.tokens,
        capacity: bucket.capacity,
        refill_per_second: bucket.refillPerSecond,
      })),
    };
  }
}
