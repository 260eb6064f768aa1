import type { EventsConfig } from '../../config/config.js';
import type { Logger } from '../../logging.js';
import type { AlertSink, DeliveryOutcome } from '../../ports/alert-sink.js';
import type { DeliveryRecord, DeliveryStatus, EventStore } from '../../ports/event-store.js';
import type { TenantSession } from '../../tenancy/session.js';

export interface DispatcherOptions {
  store: EventStore;
  sinks: readonly AlertSink[];
  sessionFor(tenantId: string): TenantSession;
  delivery: EventsConfig['delivery'];
  logger: Logger;
  pollMs?: number;
  batch?: number;
  now?: () => number;
  random?: () => number;
}

/**
 * Sends queued alert deliveries: claims due ones with a lease (so several processes on one store never
 * send the same attempt twice at once), sends each through its channel's sink, records every attempt with
 * its status, and retries failures with exponential backoff until maxAttempts. At-least-once.
 */
export class DeliveryDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** The earliest retry this process scheduled, so it wakes for it rather than at the next poll. */
  private nextRetryAt = Number.POSITIVE_INFINITY;
  private stopped = true;
  private readonly pollMs: number;
  private readonly batch: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sinks: Map<string, AlertSink>;

  constructor(private readonly options: DispatcherOptions) {
    this.pollMs = options.pollMs ?? 500;
    this.batch = options.batch ?? 20;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sinks = new Map(options.sinks.map((sink) => [sink.type, sink]));
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** New deliveries were queued: look now rather than at the next poll. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = this.drain().catch((error: unknown) => this.options.logger.error({ err: error }, 'alert delivery loop failed'));
    await this.running;
    this.running = undefined;
    const again = this.again;
    this.again = false;
    const untilRetry = this.nextRetryAt - this.now();
    this.nextRetryAt = Number.POSITIVE_INFINITY;
    this.schedule(again ? 0 : Math.max(0, Math.min(this.pollMs, untilRetry)));
  }

  /** Sends everything due now, batch by batch. */
  async drain(): Promise<void> {
    const leaseMs = this.options.delivery.timeoutMs * 2 + 5_000;
    for (;;) {
      const due = await this.options.store.claimDueDeliveries(this.now(), this.batch, leaseMs);
      if (due.length === 0) return;
      await Promise.all(due.map((delivery) => this.attempt(delivery)));
      if (this.stopped) return;
    }
  }

  private async attempt(delivery: DeliveryRecord): Promise<void> {
    const attempt = delivery.attempts + 1;
    const at = this.now();
    const outcome = await this.send(delivery, attempt);
    const { maxAttempts } = this.options.delivery;
    let status: DeliveryStatus = 'delivered';
    let nextAttemptAt = at;
    if (!outcome.ok) {
      status = outcome.retryable && attempt < maxAttempts ? 'pending' : 'failed';
      nextAttemptAt = status === 'pending' ? at + this.backoff(attempt) : at;
      if (status === 'pending') this.nextRetryAt = Math.min(this.nextRetryAt, nextAttemptAt);
    }
    await this.options.store.recordAttempt(
      {
        deliveryId: delivery.id,
        alertName: delivery.alertName,
        attempt,
        at,
        ok: outcome.ok,
        status: outcome.status ?? null,
        error: outcome.error ?? null,
        durationMs: outcome.durationMs,
      },
      { status, nextAttemptAt },
    );
    const log = { tenant: delivery.tenantId, alert: delivery.alertName, delivery: delivery.id, attempt, status: outcome.status, outcome: status, ms: Math.round(outcome.durationMs) };
    if (outcome.ok) this.options.logger.info(log, 'alert delivered');
    else this.options.logger.warn({ ...log, error: outcome.error, retryInMs: status === 'pending' ? nextAttemptAt - at : undefined }, 'alert delivery attempt failed');
  }

  private async send(delivery: DeliveryRecord, attempt: number): Promise<DeliveryOutcome> {
    const sink = this.sinks.get(delivery.channel.type);
    if (!sink) return { ok: false, retryable: false, error: `no ${delivery.channel.type} channel on this server`, durationMs: 0 };
    try {
      const session = this.options.sessionFor(delivery.tenantId);
      return await sink.deliver(session, delivery.channel, { alertName: delivery.alertName, deliveryId: delivery.id, attempt, event: delivery.event });
    } catch (error) {
      return { ok: false, retryable: true, error: (error as Error).message, durationMs: 0 };
    }
  }

  /** base * 2^(attempt-1), capped, with ±20% jitter so retries of many deliveries spread out. */
  private backoff(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.options.delivery;
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    return Math.round(delay * (0.8 + 0.4 * this.random()));
  }
}
