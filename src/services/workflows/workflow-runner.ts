import { randomUUID } from 'node:crypto';
import { deliver, pendingEffects, step, type ExecutionInput, type Outcome, type Snapshot, type Transition } from '../../engine/asl/index.js';
import type { Logger } from '../../logging.js';
import type { ExecutionRecord, WorkflowStore } from '../../ports/workflow-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { historyOf, recordOf } from './execution-record.js';
import { isOwnerAlive, newLeaseOwner } from './lease-owner.js';
import { ExecutionListeners, type ExecutionDriver, type ExecutionListener } from './execution-listeners.js';
import type { MachineCache } from './machine-cache.js';
import { runTask, type ToolInvoker, type UpstreamInvoker } from './task-runner.js';


export interface RunnerOptions {
  store: WorkflowStore;
  machines: MachineCache;
  sessionFor(tenantId: string): TenantSession;
  invoke: { tool: ToolInvoker; upstream: UpstreamInvoker };
  logger: Logger;
  /** How long a claim on an execution lasts without renewal; another process takes over after. */
  leaseMs?: number;
  pollMs?: number;
  /** Everything a checkpoint records, for lifecycle events and live status. */
  onTransitions?: ExecutionListener;
}

class LostLease extends Error {}

/** How often a waiting execution looks for a cancel request made in another process. */
const ABORT_CHECK_MS = 250;
const CLAIM_BATCH = 20;

/**
 * Drives executions: claims RUNNING ones with a lease (so an execution never runs in two places at once,
 * also across processes sharing the store), moves each one transition at a time and checkpoints after
 * every transition before the next begins, runs its tasks and timers, and releases it when it ends. After a
 * crash, an execution resumes from its last checkpoint once its lease is free: at once when its holder is
 * a dead process on this machine, else when the lease runs out. A task in flight at a crash runs again.
 */
export class WorkflowRunner implements ExecutionDriver {
  readonly owner = newLeaseOwner();
  private readonly driving = new Set<string>();
  private readonly lost = new Set<string>();
  private readonly listeners: ExecutionListeners;
  private readonly aborts = new Set<string>();
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private claiming = false;
  private stopped = true;

  constructor(private readonly options: RunnerOptions) {
    this.leaseMs = options.leaseMs ?? 15_000;
    this.pollMs = options.pollMs ?? 500;
    this.listeners = new ExecutionListeners(options.logger, options.onTransitions);
  }

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
    for (let i = 0; i < 100 && this.driving.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** A new execution or a cancel: look now rather than at the next poll. */
  kick(): void {
    if (!this.stopped) this.schedule(0);
  }

  /** Applies a cancel at the execution's next turn, if this process drives it (else via the store). */
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
      const claimed = await this.options.store.claimExecutions(this.owner, now, now + this.leaseMs, CLAIM_BATCH, (owner) => isOwnerAlive(owner));
      for (const record of claimed) {
        if (this.driving.has(record.id)) continue;
        this.driving.add(record.id);
        void this.drive(record).finally(() => {
          this.driving.delete(record.id);
          this.lost.delete(record.id);
        });
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'claiming workflow executions failed');
    } finally {
      this.claiming = false;
      this.schedule(this.pollMs);
    }
  }

  private async renew(): Promise<void> {
    for (const id of this.driving) {
      try {
        if (!(await this.options.store.renewLease(this.owner, id, Date.now() + this.leaseMs))) this.lost.add(id);
      } catch {
        // the next renewal tries again; the lease outlives one miss
      }
    }
  }

  private async drive(initial: ExecutionRecord): Promise<void> {
    const { store, logger } = this.options;
    const session = this.options.sessionFor(initial.tenantId);
    let record = initial;
    let snapshot = JSON.parse(initial.snapshot) as Snapshot;
    const inbox: ExecutionInput[] = [];
    const started = new Set<string>();
    let wake: (() => void) | undefined;
    let lastAbortCheck = 0;
    let abortRequested = initial.abortRequested;
    const hooks = () => ({ now: Date.now(), random: Math.random, uuid: randomUUID });

    const commit = async (outcome: Outcome): Promise<void> => {
      if (this.lost.has(record.id)) throw new LostLease();
      const next = recordOf(record, outcome.snapshot, Date.now());
      if (!(await store.checkpoint(this.owner, next, historyOf(outcome.transitions)))) throw new LostLease();
      snapshot = outcome.snapshot;
      record = next;
      this.notify(record, outcome.transitions);
    };

    try {
      const machine = await this.options.machines.get(session, record.workflow, record.version);
      while (snapshot.status === 'RUNNING') {
        if (this.stopped) return;
        if (!abortRequested && Date.now() - lastAbortCheck >= ABORT_CHECK_MS && inbox.length === 0) {
          lastAbortCheck = Date.now();
          abortRequested = this.aborts.has(record.id) || (await store.getExecution(session, record.id))?.abortRequested === true;
        }
        if (abortRequested) {
          this.aborts.delete(record.id);
          await commit(deliver(machine, snapshot, { kind: 'abort', error: 'States.Aborted', cause: 'cancelled with workflow_cancel' }, hooks()));
          continue;
        }
        const moved = step(machine, snapshot, hooks());
        if (moved) {
          await commit(moved);
          continue;
        }
        if (inbox.length > 0) {
          await commit(deliver(machine, snapshot, inbox.shift()!, hooks()));
          continue;
        }
        const effects = pendingEffects(snapshot);
        let nextTimer = Number.POSITIVE_INFINITY;
        for (const effect of effects) {
          if (effect.kind === 'timer') {
            if (effect.until <= Date.now()) inbox.push({ kind: 'timer-fired', id: effect.id });
            else nextTimer = Math.min(nextTimer, effect.until);
            continue;
          }
          if (started.has(effect.id)) continue;
          started.add(effect.id);
          void runTask(session, effect.resource, effect.input, effect.timeoutSeconds, this.options.invoke).then((outcome) => {
            inbox.push(
              outcome.ok
                ? { kind: 'task-succeeded', id: effect.id, output: outcome.output }
                : { kind: 'task-failed', id: effect.id, error: outcome.error, cause: outcome.cause },
            );
            wake?.();
          });
        }
        if (inbox.length > 0) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, Math.min(ABORT_CHECK_MS, nextTimer - Date.now())));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      await store.releaseLease(this.owner, record.id);
    } catch (error) {
      if (error instanceof LostLease) {
        logger.warn({ execution: record.id }, 'lost the lease on a workflow execution; another runner continues it');
        return;
      }
      logger.error({ err: error, execution: record.id }, 'driving a workflow execution failed');
      await store.releaseLease(this.owner, record.id).catch(() => {});
    }
  }

  private notify(record: ExecutionRecord, transitions: Transition[]): void {
    this.listeners.notify(record, transitions);
  }
}
