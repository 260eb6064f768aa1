import type { Logger } from '../../logging.js';
import type { ExecutionRecord, WorkflowStore } from '../../ports/workflow-store.js';
import { ExecutionListeners, type ExecutionDriver, type ExecutionListener } from './execution-listeners.js';
import { isOwnerAlive, newLeaseOwner } from './lease-owner.js';

export interface LeasedExecutionsOptions {
  store: WorkflowStore;
  logger: Logger;
  /** How long a claim on an execution lasts without renewal; another process takes over after. */
  leaseMs?: number;
  pollMs?: number;
  /** Everything a checkpoint records, for lifecycle events and live status. */
  onTransitions?: ExecutionListener;
}

const CLAIM_BATCH = 20;

/**
 * What every driver of executions does the same way: claim RUNNING executions with a lease in the store
 * (so one process at a time handles each, also across processes sharing the store), renew the leases it
 * holds, and tell listeners about checkpoints. Subclasses say how one claimed execution is driven.
 */
export abstract class LeasedExecutions implements ExecutionDriver {
  readonly owner = newLeaseOwner();
  /** Executions whose lease this process failed to renew: their driver must stop writing. */
  protected readonly lost = new Set<string>();
  protected readonly aborts = new Set<string>();
  protected readonly listeners: ExecutionListeners;
  protected readonly leaseMs: number;
  protected readonly pollMs: number;
  protected stopped = true;
  private readonly active = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private claiming = false;

  constructor(private readonly base: LeasedExecutionsOptions) {
    this.leaseMs = base.leaseMs ?? 15_000;
    this.pollMs = base.pollMs ?? 500;
    this.listeners = new ExecutionListeners(base.logger, base.onTransitions);
  }

  /** Drives one claimed execution until it ends, the process stops, or the lease is lost; then releases it. */
  protected abstract drive(record: ExecutionRecord): Promise<void>;

  start(): void {
    this.stopped = false;
    this.renewTimer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    for (let i = 0; i < 100 && this.active.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  kick(): void {
    if (!this.stopped) this.schedule(0);
  }

  abort(executionId: string): void {
    this.aborts.add(executionId);
  }

  watch(executionId: string, listener: ExecutionListener): () => void {
    return this.listeners.watch(executionId, listener);
  }

  /** Every checkpoint of the tenant's executions driven in this process (the live feed). */
  watchTenant(tenantId: string, listener: ExecutionListener): () => void {
    return this.listeners.watchTenant(tenantId, listener);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.claim(), ms);
    this.timer.unref();
  }

  private async claim(): Promise<void> {
    if (this.claiming || this.stopped) return;
    this.claiming = true;
    try {
      const now = Date.now();
      const claimed = await this.base.store.claimExecutions(this.owner, now, now + this.leaseMs, CLAIM_BATCH, isOwnerAlive);
      for (const record of claimed) {
        if (this.active.has(record.id)) continue;
        this.active.add(record.id);
        void this.drive(record).finally(() => {
          this.active.delete(record.id);
          this.lost.delete(record.id);
        });
      }
    } catch (error) {
      this.base.logger.warn({ err: error }, 'claiming workflow executions failed');
    } finally {
      this.claiming = false;
      this.schedule(this.pollMs);
    }
  }

  private async renew(): Promise<void> {
    for (const id of this.active) {
      try {
        if (!(await this.base.store.renewLease(this.owner, id, Date.now() + this.leaseMs))) this.lost.add(id);
      } catch {
        // the next renewal tries again; the lease outlives one miss
      }
    }
  }
}
