import { randomUUID } from 'node:crypto';
import type { ExecutionRecord } from '../../src/ports/workflow-store.js';
import type { TenantSession } from '../../src/tenancy/session.js';

/** The time store tests start executions at. */
export const T0 = 1_700_000_000_000;

/** A running execution of workflow "wf" version 1 for the session's tenant, with a fresh id and name. */
export function runningExecution(session: TenantSession, overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    id: randomUUID(),
    tenantId: session.tenantId,
    name: `run-${randomUUID().slice(0, 8)}`,
    workflow: 'wf',
    version: 1,
    status: 'RUNNING',
    snapshot: JSON.stringify({ step: 0 }),
    currentState: 'Start',
    output: null,
    error: null,
    cause: null,
    startedAt: T0,
    stoppedAt: null,
    abortRequested: false,
    ...overrides,
  };
}
