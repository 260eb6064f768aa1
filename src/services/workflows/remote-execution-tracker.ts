import type { Snapshot } from '../../engine/asl/index.js';
import { MeshError } from '../../errors.js';
import type { RemoteWorkflowEngine } from '../../ports/workflow-engine.js';
import type { ExecutionRecord } from '../../ports/workflow-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { historyOf } from './execution-record.js';
import { LeasedExecutions, type LeasedExecutionsOptions } from './leased-executions.js';

export interface TrackerOptions extends LeasedExecutionsOptions {
  engine: RemoteWorkflowEngine;
  sessionFor(tenantId: string): TenantSession;
}

/** The stored snapshot of a remote execution: the input it started with, and how far its history is mirrored. */
interface RemoteSnapshot {
  status: 'RUNNING';
  execution: { input: unknown };
  remote: { cursor: number; started: boolean };
}

/**
 * Drives executions that run on a remote engine (Step Functions): claims RUNNING ones with the store's
 * leases, as the built-in runner does, so exactly one instance follows each; starts it on the engine (an
 * idempotent start, so a crash before or after it is harmless); then mirrors its history into the store at
 * every poll — the same checkpoints, history and notifications as a local execution — and passes cancels on.
 */
export class RemoteExecutionTracker extends LeasedExecutions {
  constructor(private readonly options: TrackerOptions) {
    super(options);
  }

  /** The snapshot a new remote execution is stored with. */
  static initialSnapshot(input: unknown): string {
    const snapshot: RemoteSnapshot = { status: 'RUNNING', execution: { input }, remote: { cursor: 0, started: false } };
    return JSON.stringify(snapshot);
  }

  protected async drive(initial: ExecutionRecord): Promise<void> {
    const { store, engine, logger } = this.options;
    const session = this.options.sessionFor(initial.tenantId);
    let record = initial;
    let snapshot = JSON.parse(initial.snapshot) as RemoteSnapshot | Snapshot;
    if (!('remote' in snapshot)) {
      logger.error({ execution: record.id }, 'an execution of the built-in engine was claimed by the remote tracker; leaving it');
      await store.releaseLease(this.owner, record.id).catch(() => {});
      return;
    }
    let remote = snapshot;
    const commit = async (next: ExecutionRecord, events: ReturnType<typeof historyOf>): Promise<boolean> => {
      if (this.lost.has(record.id)) return false;
      if (!(await store.checkpoint(this.owner, next, events))) return false;
      record = next;
      return true;
    };
    try {
      const name = { workflow: record.workflow, execution: record.name };
      if (!remote.remote.started) {
        try {
          await engine.start(session, name.workflow, name.execution, JSON.stringify(remote.execution.input));
        } catch (error) {
          // Refused for good (the engine has no such workflow, or rejects the input): the execution fails.
          if (!(error instanceof MeshError) || ['unavailable', 'timeout', 'internal', 'rate_limited'].includes(error.code)) throw error;
          const failed = { status: 'FAILED' as const, error: `agent-mesh.${error.code}`, cause: error.message };
          const events = historyOf([{ type: 'ExecutionFailed', at: Date.now(), detail: { error: failed.error, cause: failed.cause } }]);
          await commit({ ...record, ...failed, currentState: null, output: null, stoppedAt: Date.now() }, events);
          this.listeners.notify(record, events.map((e) => ({ type: e.type, at: e.at })));
          await store.releaseLease(this.owner, record.id);
          return;
        }
        remote = { ...remote, remote: { ...remote.remote, started: true } };
        if (!(await commit({ ...record, snapshot: JSON.stringify(remote) }, []))) return;
      }
      let abortSent = false;
      while (!this.stopped && record.status === 'RUNNING') {
        if (!abortSent && (this.aborts.has(record.id) || (await store.getExecution(session, record.id))?.abortRequested)) {
          await engine.stop(session, name.workflow, name.execution, 'States.Aborted', 'cancelled with workflow_cancel');
          this.aborts.delete(record.id);
          abortSent = true;
        }
        const page = await engine.history(session, name.workflow, name.execution, remote.remote.cursor);
        if (page.transitions.length > 0 || page.ended || page.cursor !== remote.remote.cursor) {
          remote = { ...remote, remote: { ...remote.remote, cursor: page.cursor } };
          const entered = [...page.transitions].reverse().find((t) => t.type === 'StateEntered');
          const next: ExecutionRecord = page.ended
            ? {
                ...record,
                snapshot: JSON.stringify(remote),
                status: page.ended.status,
                currentState: null,
                output: page.ended.output,
                error: page.ended.error,
                cause: page.ended.cause,
                stoppedAt: page.ended.at,
              }
            : { ...record, snapshot: JSON.stringify(remote), currentState: entered?.state ?? record.currentState };
          if (!(await commit(next, historyOf(page.transitions)))) {
            logger.warn({ execution: record.id }, 'lost the lease on a remote execution; another instance follows it');
            return;
          }
          this.listeners.notify(record, page.transitions);
        }
        if (record.status === 'RUNNING') await new Promise((resolve) => setTimeout(resolve, this.pollMs));
      }
      await store.releaseLease(this.owner, record.id);
    } catch (error) {
      logger.error({ err: error, execution: record.id }, 'following a remote workflow execution failed');
      await store.releaseLease(this.owner, record.id).catch(() => {});
    }
  }
}
