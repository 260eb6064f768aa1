import type { Principal } from '../tenancy/principal.js';
import type { TenantSession } from '../tenancy/session.js';

export interface WorkflowVersion {
  name: string;
  version: number;
  /** The ASL definition as JSON text. */
  definition: string;
  description: string;
  createdAt: number;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  id: string;
  tenantId: string;
  name: string;
  workflow: string;
  version: number;
  status: ExecutionStatus;
  /** The engine's snapshot as JSON text; the checkpoint an execution resumes from. */
  snapshot: string;
  currentState: string | null;
  output: string | null;
  error: string | null;
  cause: string | null;
  startedAt: number;
  stoppedAt: number | null;
  /** True when a cancel was asked for and not yet applied by the execution's runner. */
  abortRequested: boolean;
  /**
   * Who started it: the user and the permissions of the starting session. Its Task states run with these
   * (narrowed to the tenant's policy). Absent on executions stored before starters were recorded.
   */
  startedBy?: Principal;
}

export interface HistoryEvent {
  seq: number;
  at: number;
  type: string;
  state: string | null;
  detail: Record<string, unknown> | null;
}

export interface ExecutionQuery {
  workflow?: string;
  status?: ExecutionStatus;
  limit: number;
  /** Continue strictly before this (startedAt, id) position: newest first. */
  before?: { startedAt: number; id: string };
}

/** Workflow definitions (versioned) and durable executions of a tenant, plus system-level leasing. */
export interface WorkflowStore {
  /** Adds the next version of a workflow; returns its number. */
  putWorkflow(session: TenantSession, name: string, definition: string, description: string, now: number): Promise<number>;
  getWorkflow(session: TenantSession, name: string, version?: number): Promise<WorkflowVersion | undefined>;
  listWorkflows(session: TenantSession): Promise<WorkflowVersion[]>;

  /**
   * Creates a RUNNING execution unless one of that workflow and name exists (then returns it, created false).
   * Throws quota_exceeded past session.limits.maxConcurrentExecutions running executions.
   */
  createExecution(session: TenantSession, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[]): Promise<{ execution: ExecutionRecord; created: boolean }>;
  getExecution(session: TenantSession, id: string): Promise<ExecutionRecord | undefined>;
  /** The execution of that workflow with that (execution) name, if any. */
  findExecution(session: TenantSession, workflow: string, name: string): Promise<ExecutionRecord | undefined>;
  listExecutions(session: TenantSession, query: ExecutionQuery): Promise<ExecutionRecord[]>;
  history(session: TenantSession, id: string, afterSeq?: number): Promise<HistoryEvent[]>;
  requestAbort(session: TenantSession, id: string): Promise<boolean>;

  // System-level: the runners of every process sharing the store.
  /** Leases up to `limit` RUNNING executions whose lease is free or expired, for `owner` until `until`. */
  claimExecutions(owner: string, now: number, until: number, limit: number, isOwnerAlive: (owner: string) => boolean): Promise<ExecutionRecord[]>;
  /** Extends the lease; false when `owner` no longer holds it. */
  renewLease(owner: string, id: string, until: number): Promise<boolean>;
  /**
   * Stores a new checkpoint and its history events atomically, only while `owner` holds the lease (a
   * fencing check: a runner that lost its lease can never write). False when it did not.
   */
  checkpoint(owner: string, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[]): Promise<boolean>;
  releaseLease(owner: string, id: string): Promise<void>;
}
