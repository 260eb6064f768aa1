import { randomUUID } from 'node:crypto';
import { deliver, pendingEffects, step, type ExecutionInput, type Outcome, type Snapshot, type Transition } from '../../engine/asl/index.js';
import { MeshError } from '../../errors.js';
import type { ExecutionRecord } from '../../ports/workflow-store.js';
import type { Principal } from '../../tenancy/principal.js';
import type { TenantSession } from '../../tenancy/session.js';
import { historyOf, recordOf } from './execution-record.js';
import { LeasedExecutions, type LeasedExecutionsOptions } from './leased-executions.js';
import type { MachineCache } from './machine-cache.js';
import { runTask, type ToolInvoker, type UpstreamInvoker } from './task-runner.js';

export interface RunnerOptions extends LeasedExecutionsOptions {
  machines: MachineCache;
  /**
   * The session an execution's Task states run as: its starter's (`startedBy`), within the tenant's policy.
   * Executions stored before starters were recorded have none, and get the tenant's own permissions.
   */
  sessionFor(tenantId: string, startedBy: Principal | undefined): TenantSession;
  invoke: { tool: ToolInvoker; upstream: UpstreamInvoker };
}

class LostLease extends Error {}
class CheckpointRefused extends Error {}

/** How often a waiting execution looks for a cancel request made in another process. */
const ABORT_CHECK_MS = 250;

/**
 * Drives executions: claims RUNNING ones with a lease (so an execution never runs in two places at once,
 * also across processes sharing the store), moves each one transition at a time and checkpoints after
 * every transition before the next begins, runs its tasks and timers, and releases it when it ends. After a
 * crash, an execution resumes from its last checkpoint once its lease is free: at once when its holder is
 * a dead process on this machine, else when the lease runs out. A task in flight at a crash runs again.
 */
export class WorkflowRunner extends LeasedExecutions {
  constructor(private readonly options: RunnerOptions) {
    super(options);
  }

  protected async drive(initial: ExecutionRecord): Promise<void> {
    const { store, logger } = this.options;
    const session = this.options.sessionFor(initial.tenantId, initial.startedBy);
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
      let written: boolean;
      try {
        written = await store.checkpoint(this.owner, next, historyOf(outcome.transitions));
      } catch (error) {
        // The store refuses the checkpoint itself (DynamoDB's 400 KB item): it never will take it, so retrying forever helps nobody.
        if (error instanceof MeshError && error.code === 'invalid_argument') throw new CheckpointRefused(error.message);
        throw error;
      }
      if (!written) throw new LostLease();
      snapshot = outcome.snapshot;
      record = next;
      this.notify(record, outcome.transitions);
    };

    try {
      const machine = await this.options.machines.get(session, record.workflow, record.version);
      // A record left RUNNING over a finished snapshot (as a start with an oversize input once left it): end it.
      if (snapshot.status !== 'RUNNING') await commit({ snapshot, transitions: [] });
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
      if (error instanceof CheckpointRefused) {
        await this.failUnstorable(record, error.message);
        return;
      }
      logger.error({ err: error, execution: record.id }, 'driving a workflow execution failed');
      await store.releaseLease(this.owner, record.id).catch(() => {});
    }
  }

  /** Ends an execution whose next checkpoint the store refused, keeping only what fits: status and error. */
  private async failUnstorable(record: ExecutionRecord, reason: string): Promise<void> {
    const { store, logger } = this.options;
    const at = Date.now();
    const error = 'States.DataLimitExceeded';
    const cause = `the execution's state could not be stored: ${reason}`;
    const failed: ExecutionRecord = {
      ...record,
      status: 'FAILED',
      snapshot: JSON.stringify({ status: 'FAILED', execution: { input: null }, error, cause }),
      currentState: null,
      output: null,
      error,
      cause,
      stoppedAt: at,
    };
    const transitions: Transition[] = [{ type: 'ExecutionFailed', at, detail: { error, cause } }];
    logger.warn({ execution: record.id, reason }, 'workflow execution failed: its state is too large for the store');
    try {
      if (await store.checkpoint(this.owner, failed, historyOf(transitions))) this.notify(failed, transitions);
    } finally {
      await store.releaseLease(this.owner, record.id).catch(() => {});
    }
  }

  private notify(record: ExecutionRecord, transitions: Transition[]): void {
    this.listeners.notify(record, transitions);
  }}
