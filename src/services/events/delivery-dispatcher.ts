import type { EventsConfig } from '../../config/config.js';
import type { Logger } from '../../logging.js';
import type { AlertChannel, AlertSink, DeliveryOutcome } from '../../ports/alert-sink.js';
import type { DeliveryRecord, DeliveryStatus, EventEnvelope, EventStore, WorkflowStartTarget } from '../../ports/event-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import type { WorkflowStartOutcome } from './rule-workflow-starts.js';

export interface DispatcherOptions {
  store: EventStore;
  sinks: readonly AlertSink[];
  sessionFor(tenantId: string): TenantSession;
  /** Starts a rule's workflow target (queued like a delivery); without it such starts fail. */
  startWorkflow?: (tenantId: string, target: WorkflowStartTarget, event: EventEnvelope) => Promise<WorkflowStartOutcome>;
  delivery: EventsConfig['delivery'];
  logger: Logger;
  pollMs?: number;
  /** How many deliveries may be in flight at once in this process (default 20). */
  concurrency?: number;
  now?: () => number;
  random?: () => number;
}

/**
 * Sends queued alert deliveries and starts the queued workflow targets of rules: claims due ones with a
 * lease (so several processes on one store never send the same attempt twice at once), sends each through
 * its channel's sink, records every attempt with its status, and retries failures with exponential backoff
 * until maxAttempts. At-least-once.
 *
 * Deliveries run independently in a bounded pool: a due delivery starts as soon as a slot is free, so a
 * receiver that hangs until the timeout holds one slot, never the deliveries of other alerts or tenants.
 */
export class DeliveryDispatcher {
  private timer: NodeJS.Timeout | undefined;
  /** The claim in progress: one at a time, so free slots are never counted twice. */
  private claiming: Promise<void> | undefined;
  /** Something changed while claiming (a slot freed, new deliveries were queued): claim again. */
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * When each retry this process scheduled is due, by delivery id, so it wakes for the earliest one rather
   * than at the next poll. Kept until the delivery is claimed again or found no longer due in the store.
   */
  private readonly retries = new Map<string, number>();
  private stopped = true;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sinks: Map<string, AlertSink>;

  constructor(private readonly options: DispatcherOptions) {
    this.pollMs = options.pollMs ?? 500;
    this.concurrency = Math.max(1, options.concurrency ?? 20);
    // An attempt ends within timeoutMs: the lease outlives it, so no other process takes a delivery still in flight.
    this.leaseMs = options.delivery.timeoutMs * 2 + 5_000;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sinks = new Map(options.sinks.map((sink) => [sink.type, sink]));
  }

  start(): void {
    this.stopped = false;
    this.pump();
  }

  /** New deliveries were queued: look now rather than at the next poll. */
  kick(): void {
    this.pump();
  }

  /** Stops claiming, and waits for the deliveries in flight to finish (each within timeoutMs). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.claiming;
    await Promise.all(this.inFlight);
  }

  /** Fills free slots with due deliveries, then sleeps until the earliest known retry or the next poll. */
  private pump(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = this.fill()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'alert delivery loop failed'))
      .finally(() => {
        this.claiming = undefined;
        // Asked again after the claim's last look (its promise settles a few ticks after that look).
        if (this.again) this.pump();
        else this.sleep();
      });
  }

  private async fill(): Promise<void> {
    for (;;) {
      this.again = false;
      const free = this.concurrency - this.inFlight.size;
      if (free <= 0 || this.stopped) return; // a finishing delivery pumps again
      const now = this.now();
      const due = await this.options.store.claimDueDeliveries(now, free, this.leaseMs);
      for (const delivery of due) this.run(delivery);
      if (due.length < free) {
        // All that was due at `now` is claimed, here or by another process: a retry still remembered as due
        // by then is no longer ours to wait for.
        for (const [id, at] of this.retries) if (at <= now) this.retries.delete(id);
        if (!this.again || this.stopped) return;
      }
    }
  }

  private sleep(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    let next = this.now() + this.pollMs;
    for (const at of this.retries.values()) next = Math.min(next, at);
    this.timer = setTimeout(() => this.pump(), Math.max(0, next - this.now()));
    this.timer.unref();
  }

  private run(delivery: DeliveryRecord): void {
    this.retries.delete(delivery.id);
    const running: Promise<void> = this.attempt(delivery)
      .catch((error: unknown) => this.options.logger.error({ err: error, delivery: delivery.id }, 'alert delivery attempt could not be recorded'))
      .finally(() => {
        this.inFlight.delete(running);
        this.pump();
      });
    this.inFlight.add(running);
  }

  private async attempt(delivery: DeliveryRecord): Promise<void> {
    const attempt = delivery.attempts + 1;
    const at = this.now();
    const channel = delivery.channel;
    const target = channel.type === 'workflow' ? channel : undefined;
    const outcome: WorkflowStartOutcome = channel.type === 'workflow' ? await this.startWorkflow(delivery, channel) : await this.send(delivery, channel, attempt);
    const { maxAttempts } = this.options.delivery;
    let status: DeliveryStatus = 'delivered';
    let nextAttemptAt = at;
    if (!outcome.ok) {
      status = outcome.retryable && attempt < maxAttempts ? 'pending' : 'failed';
      // A rate-limited start waits at least as long as the limiter said.
      nextAttemptAt = status === 'pending' ? at + Math.max(this.backoff(attempt), outcome.retryAfterMs ?? 0) : at;
    }
    await this.options.store.recordAttempt(
      {
        deliveryId: delivery.id,
        alertName: delivery.alertName,
        ...(target && { workflow: target.workflow }),
        attempt,
        at,
        ok: outcome.ok,
        status: outcome.status ?? null,
        error: outcome.error ?? null,
        durationMs: outcome.durationMs,
      },
      { status, nextAttemptAt },
    );
    if (status === 'pending') this.retries.set(delivery.id, nextAttemptAt);
    if (target) {
      const log = { tenant: delivery.tenantId, rule: delivery.alertName, workflow: target.workflow, event: delivery.eventId, execution: target.executionName, attempt, outcome: status };
      if (outcome.ok) this.options.logger.info(log, 'rule started workflow');
      else {
        const retryInMs = status === 'pending' ? nextAttemptAt - at : undefined;
        this.options.logger.warn({ ...log, code: outcome.code, error: outcome.error, retryInMs }, 'rule workflow start failed');
      }
      return;
    }
    const log = { tenant: delivery.tenantId, alert: delivery.alertName, delivery: delivery.id, attempt, status: outcome.status, outcome: status, ms: Math.round(outcome.durationMs) };
    if (outcome.ok) this.options.logger.info(log, 'alert delivered');
    else this.options.logger.warn({ ...log, error: outcome.error, retryInMs: status === 'pending' ? nextAttemptAt - at : undefined }, 'alert delivery attempt failed');
  }

  private async startWorkflow(delivery: DeliveryRecord, target: WorkflowStartTarget): Promise<WorkflowStartOutcome> {
    if (!this.options.startWorkflow) return { ok: false, retryable: false, error: 'this server starts no workflows', durationMs: 0 };
    try {
      return await this.options.startWorkflow(delivery.tenantId, target, delivery.event);
    } catch (error) {
      return { ok: false, retryable: true, error: (error as Error).message, durationMs: 0 };
    }
  }

  private async send(delivery: DeliveryRecord, channel: AlertChannel, attempt: number): Promise<DeliveryOutcome> {
    const sink = this.sinks.get(channel.type);
    if (!sink) return { ok: false, retryable: false, error: `no ${channel.type} channel on this server`, durationMs: 0 };
    try {
      const session = this.options.sessionFor(delivery.tenantId);
      return await sink.deliver(session, channel, { alertName: delivery.alertName, deliveryId: delivery.id, attempt, event: delivery.event });
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
