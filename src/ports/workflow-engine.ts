import type { ExecutionStatus } from './workflow-store.js';
import type { TenantSession } from '../tenancy/session.js';

/** How an execution ended on the remote engine. */
export interface RemoteEnding {
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  /** JSON text of the output, for SUCCEEDED. */
  output: string | null;
  error: string | null;
  cause: string | null;
  at: number;
}

/** One history event, in the vocabulary of agent-mesh's own engine (StateEntered, TaskScheduled, …). */
export interface RemoteTransition {
  type: string;
  at: number;
  state?: string;
  detail?: Record<string, unknown>;
}

export interface RemoteHistoryPage {
  /** The events after the cursor, in order. */
  transitions: RemoteTransition[];
  /** Pass back as `after` next time. */
  cursor: number;
  ended?: RemoteEnding;
}

/**
 * A workflow engine outside this process (Step Functions on AWS): it runs the tenant's deployed
 * definitions, and agent-mesh mirrors each execution's history into its own store. Executions are named
 * by (workflow, execution name), which the engine keeps unique per tenant.
 */
export interface RemoteWorkflowEngine {
  /** Creates or updates the tenant's workflow; throws invalid_argument (field `definition`) if refused. */
  deploy(session: TenantSession, workflow: string, definition: string): Promise<void>;
  /** Starts the execution; idempotent for the same name and input. */
  start(session: TenantSession, workflow: string, executionName: string, inputJson: string): Promise<void>;
  history(session: TenantSession, workflow: string, executionName: string, after: number): Promise<RemoteHistoryPage>;
  stop(session: TenantSession, workflow: string, executionName: string, error: string, cause: string): Promise<void>;
}

/** A Task state's result, or the ASL error it fails with (agent-mesh.<code>, mcp.ToolError, States.Timeout…). */
export type RemoteTaskOutcome = { ok: true; output: unknown } | { ok: false; error: string; cause: string };

/**
 * Runs the Task states of remote executions here (agent-mesh tools and MCP calls), for their tenant, as the
 * starter of `execution` (the workflow and execution name; absent for tasks of definitions deployed before
 * tasks named their execution).
 */
export type RemoteTaskRunner = (
  tenantId: string,
  resource: string,
  input: unknown,
  signal: AbortSignal,
  execution?: { workflow: string; name: string },
) => Promise<RemoteTaskOutcome>;

/** Takes Task states of remote executions from the engine and runs them (Step Functions activities). */
export interface RemoteTaskWorker {
  start(run: RemoteTaskRunner): void;
  stop(): Promise<void>;
}
