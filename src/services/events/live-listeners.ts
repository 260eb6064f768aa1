import type { CompiledPattern } from '../../engine/patterns/index.js';
import type { Logger } from '../../logging.js';
import type { EventEnvelope } from '../../ports/event-store.js';
import type { TenantSession } from '../../tenancy/session.js';

export type EventListener = (event: EventEnvelope) => void | Promise<void>;

interface Subscription {
  listener: EventListener;
  pattern: CompiledPattern | undefined;
  queue: EventEnvelope[];
  dropped: number;
}

/** A slow listener loses its oldest events rather than hold memory without bound. */
const MAX_QUEUED = 10_000;

/**
 * In-process subscriptions to a tenant's events (for workflow status, the WebSocket feed, the dashboard).
 * Publishing only queues: listeners run later, each in its own try/catch, so none can slow or break a send.
 */
export class LiveListeners {
  private readonly byTenant = new Map<string, Set<Subscription>>();
  private readonly pending = new Set<Subscription>();
  private scheduled = false;

  constructor(private readonly logger: Logger) {}

  subscribe(session: TenantSession, listener: EventListener, pattern?: CompiledPattern): () => void {
    const subscription: Subscription = { listener, pattern, queue: [], dropped: 0 };
    let set = this.byTenant.get(session.tenantId);
    if (!set) this.byTenant.set(session.tenantId, (set = new Set()));
    set.add(subscription);
    return () => {
      set.delete(subscription);
      this.pending.delete(subscription);
      if (set.size === 0 && this.byTenant.get(session.tenantId) === set) this.byTenant.delete(session.tenantId);
    };
  }

  publish(session: TenantSession, event: EventEnvelope): void {
    const subscriptions = this.byTenant.get(session.tenantId);
    if (!subscriptions) return;
    for (const subscription of subscriptions) {
      if (subscription.pattern && !this.safeMatch(subscription.pattern, event)) continue;
      if (subscription.queue.length >= MAX_QUEUED) {
        subscription.queue.shift();
        subscription.dropped++;
      }
      subscription.queue.push(event);
      this.pending.add(subscription);
    }
    if (this.pending.size > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  get subscriberCount(): number {
    let count = 0;
    for (const set of this.byTenant.values()) count += set.size;
    return count;
  }

  private flush(): void {
    this.scheduled = false;
    const ready = [...this.pending];
    this.pending.clear();
    for (const subscription of ready) {
      const events = subscription.queue.splice(0);
      if (subscription.dropped > 0) {
        this.logger.warn({ dropped: subscription.dropped }, 'a slow event listener missed events');
        subscription.dropped = 0;
      }
      for (const event of events) {
        try {
          const result = subscription.listener(event);
          if (result instanceof Promise) result.catch((error: unknown) => this.logger.warn({ err: error }, 'event listener failed'));
        } catch (error) {
          this.logger.warn({ err: error }, 'event listener failed');
        }
      }
    }
  }

  private safeMatch(pattern: CompiledPattern, event: EventEnvelope): boolean {
    try {
      return pattern.matches(event);
    } catch {
      return false;
    }
  }
}
