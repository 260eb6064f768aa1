import type { Logger } from '../../logging.js';
import type { ExecutionRecord } from '../../ports/workflow-store.js';

/** One recorded step of an execution, from agent-mesh's engine or mirrored from a remote one. */
export interface TransitionLike {
  type: string;
  at: number;
  state?: string;
  detail?: Record<string, unknown>;
}

export type ExecutionListener = (execution: ExecutionRecord, transitions: TransitionLike[]) => void;

/** Who hears about each checkpoint: watchers of one execution, of a tenant, and one global listener. */
export class ExecutionListeners {
  private readonly byExecution = new Map<string, Set<ExecutionListener>>();
  private readonly byTenant = new Map<string, Set<ExecutionListener>>();

  constructor(
    private readonly logger: Logger,
    private readonly global?: ExecutionListener,
  ) {}

  watch(executionId: string, listener: ExecutionListener): () => void {
    return add(this.byExecution, executionId, listener);
  }

  watchTenant(tenantId: string, listener: ExecutionListener): () => void {
    return add(this.byTenant, tenantId, listener);
  }

  notify(record: ExecutionRecord, transitions: TransitionLike[]): void {
    const listeners = [...(this.byExecution.get(record.id) ?? []), ...(this.byTenant.get(record.tenantId) ?? []), ...(this.global ? [this.global] : [])];
    for (const listener of listeners) {
      try {
        listener(record, transitions);
      } catch (error) {
        this.logger.warn({ err: error }, 'workflow listener failed');
      }
    }
  }
}

function add(map: Map<string, Set<ExecutionListener>>, key: string, listener: ExecutionListener): () => void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) map.delete(key);
  };
}

/** What the workflow service needs of whatever drives executions (the built-in runner or a remote tracker). */
export interface ExecutionDriver {
  start(): void;
  stop(): Promise<void>;
  /** A new execution or a cancel: look now rather than at the next poll. */
  kick(): void;
  /** Applies a cancel at the execution's next turn, if this process drives it (else via the store). */
  abort(executionId: string): void;
  watch(executionId: string, listener: ExecutionListener): () => void;
  watchTenant(tenantId: string, listener: ExecutionListener): () => void;
}
