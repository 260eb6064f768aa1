import { randomUUID } from 'node:crypto';
import { DefinitionError, startExecution, validateDefinition, type Snapshot } from '../../engine/asl/index.js';
import { conflict, invalidArgument, notFound } from '../../errors.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { ExecutionRecord, ExecutionStatus, WorkflowStore } from '../../ports/workflow-store.js';
import { requirePermission } from '../../tenancy/permissions.js';
import { principalOf } from '../../tenancy/principal.js';
import type { TenantSession } from '../../tenancy/session.js';
import { validateName } from '../events/event-input.js';
import { toIso } from '../time.js';
import { decodePosition, encodePosition } from '../position-cursor.js';
import { historyOf } from './execution-record.js';
import type { MachineCache } from './machine-cache.js';
import type { ExecutionDriver } from './execution-listeners.js';
import { RemoteExecutionTracker } from './remote-execution-tracker.js';
import { taskResourceProblems } from './task-resources.js';
import type { RemoteWorkflowEngine } from '../../ports/workflow-engine.js';

export interface StartInput {
  name: string;
  input?: unknown;
  execution_name?: string;
  wait_seconds?: number;
}

const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_WAIT_SECONDS = 300;
const MAX_DEFINITION_BYTES = 1024 * 1024;

export const executionArn = (session: TenantSession, workflow: string, id: string) => `arn:agent-mesh:states:local:${session.tenantId}:execution:${workflow}:${id}`;

/** workflow_create / start / status / list / cancel. */
export class WorkflowService {
  constructor(
    private readonly store: WorkflowStore,
    private readonly machines: MachineCache,
    private readonly runner: ExecutionDriver,
    private readonly limiter: RateLimiter,
    /** The tools a Task may name as agent-mesh:<tool>. */
    private readonly taskTools: ReadonlySet<string>,
    /** Called once per new execution (the ExecutionStarted lifecycle event). */
    private readonly onStarted: (execution: ExecutionRecord) => void = () => {},
    /** When set, executions run there (Step Functions) and `runner` is the tracker that mirrors them. */
    private readonly remote?: RemoteWorkflowEngine,
    private readonly now: () => number = Date.now,
  ) {}

  async create(session: TenantSession, input: { name: string; definition: unknown; description?: string }) {
    requirePermission(session, 'workflow:write');
    const name = validateName(input.name);
    let definition = input.definition;
    if (typeof definition === 'string') {
      try {
        definition = JSON.parse(definition);
      } catch {
        throw invalidArgument('definition', 'is not valid JSON');
      }
    }
    const text = JSON.stringify(definition);
    if (Buffer.byteLength(text) > MAX_DEFINITION_BYTES) throw invalidArgument('definition', 'is larger than 1 MB (as on Step Functions)');
    // Every problem at once, Task resources included (taskResourceProblems skips what is not a state).
    const problems = validateDefinition(definition);
    for (const problem of taskResourceProblems(definition, this.taskTools)) {
      if (!problems.some((p) => p.path === problem.path && p.message === problem.message)) problems.push(problem);
    }
    if (problems.length > 0) {
      const listed = problems.slice(0, 20).map((p) => `${p.path}: ${p.message}`).join('; ');
      throw invalidArgument('definition', `${problems.length} problem${problems.length > 1 ? 's' : ''}: ${listed}`);
    }
    if ((input.description ?? '').length > 1024) throw invalidArgument('description', 'at most 1024 characters');
    await this.limiter.acquire(session, 'stepfunctions');
    // Deployed first: a definition the engine refuses is not stored either.
    await this.remote?.deploy(session, name, text);
    const version = await this.store.putWorkflow(session, name, text, input.description ?? '', this.now());
    return { name, version, created: version === 1 };
  }

  async start(session: TenantSession, input: StartInput, progress?: (count: number, message: string) => void) {
    requirePermission(session, 'workflow:write');
    const name = validateName(input.name);
    const executionName = input.execution_name ?? randomUUID();
    if (!EXECUTION_NAME.test(executionName)) throw invalidArgument('execution_name', 'must be 1-80 letters, digits, "-" or "_"');
    if (input.wait_seconds !== undefined && (input.wait_seconds < 0 || input.wait_seconds > MAX_WAIT_SECONDS)) {
      throw invalidArgument('wait_seconds', `must be 0-${MAX_WAIT_SECONDS}`);
    }
    await this.limiter.acquire(session, 'stepfunctions');
    const workflow = await this.store.getWorkflow(session, name);
    if (!workflow) throw notFound(`no workflow named "${name}" (create it with workflow_create)`);
    const machine = await this.machines.get(session, name, workflow.version);
    const id = randomUUID();
    const now = this.now();
    let started;
    try {
      started = startExecution(machine, input.input ?? {}, {
        executionId: executionArn(session, name, id),
        executionName,
        stateMachineId: `arn:agent-mesh:states:local:${session.tenantId}:stateMachine:${name}`,
        stateMachineName: name,
        now,
        maxTransitions: session.limits.maxTransitionsPerExecution,
      });
    } catch (error) {
      if (error instanceof DefinitionError) throw invalidArgument('input', error.message);
      throw error;
    }
    // An input over the payload quota: refused like StartExecution refuses it, not started as a failed execution.
    if (started.snapshot.status === 'FAILED') throw invalidArgument('input', started.snapshot.cause ?? 'is over the payload size quota');
    const record: ExecutionRecord = {
      id,
      tenantId: session.tenantId,
      name: executionName,
      workflow: name,
      version: workflow.version,
      status: 'RUNNING',
      snapshot: this.remote ? RemoteExecutionTracker.initialSnapshot(input.input ?? {}) : JSON.stringify(started.snapshot),
      currentState: null,
      output: null,
      error: null,
      cause: null,
      startedAt: now,
      stoppedAt: null,
      abortRequested: false,
      // Its Task states run as the starter, never with more than this session may do itself.
      startedBy: principalOf(session),
    };
    // A remote execution's history is mirrored from the engine, from its first event.
    const created = await this.store.createExecution(session, record, this.remote ? [] : historyOf(started.transitions));
    if (!created.created) {
      // Idempotent like StartExecution: the same name and input give the same execution; other input is a conflict.
      const previous = (JSON.parse(created.execution.snapshot) as Snapshot).execution.input;
      if (JSON.stringify(previous) !== JSON.stringify(input.input ?? {})) {
        throw conflict(`execution "${executionName}" of workflow "${name}" already exists with different input`);
      }
    } else {
      this.onStarted(created.execution);
      this.runner.kick();
    }
    const execution = created.execution;
    if (input.wait_seconds) return this.wait(session, execution, input.wait_seconds, progress);
    return this.describe(execution, false);
  }

  /** Waits for the end of an execution (or the wait), reporting each transition as progress. */
  private async wait(session: TenantSession, execution: ExecutionRecord, seconds: number, progress?: (count: number, message: string) => void) {
    let latest = execution;
    let count = 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, seconds * 1000);
      const poll = setInterval(() => {
        void this.store.getExecution(session, execution.id).then((record) => {
          if (record && record.status !== 'RUNNING') (latest = record), finish();
        });
      }, 250);
      const unwatch = this.runner.watch(execution.id, (record, transitions) => {
        latest = record;
        for (const transition of transitions) progress?.(++count, `${transition.type}${transition.state ? ` ${transition.state}` : ''}`);
        if (record.status !== 'RUNNING') finish();
      });
      function finish(): void {
        clearTimeout(timer);
        clearInterval(poll);
        unwatch();
        resolve();
      }
      if (latest.status !== 'RUNNING') finish();
    });
    return this.describe(latest, false);
  }

  async status(session: TenantSession, id: string) {
    requirePermission(session, 'workflow:read');
    await this.limiter.acquire(session, 'stepfunctions');
    const execution = await this.store.getExecution(session, id);
    if (!execution) throw notFound(`no execution "${id}"`);
    const history = await this.store.history(session, id);
    return {
      ...this.describe(execution, true),
      history: history.map((event) => ({
        seq: event.seq,
        at: toIso(event.at)!,
        type: event.type,
        ...(event.state !== null && { state: event.state }),
        ...(event.detail !== null && { detail: event.detail }),
      })),
    };
  }

  async list(session: TenantSession, input: { name?: string; status?: ExecutionStatus; limit?: number; cursor?: string }) {
    requirePermission(session, 'workflow:read');
    await this.limiter.acquire(session, 'stepfunctions');
    const limit = input.limit ?? 50;
    const position = decodePosition(input.cursor, 'string');
    const before = position && { startedAt: position.time, id: position.tie };
    const workflows = (await this.store.listWorkflows(session)).filter((w) => input.name === undefined || w.name === input.name);
    const executions = await this.store.listExecutions(session, {
      ...(input.name !== undefined && { workflow: input.name }),
      ...(input.status !== undefined && { status: input.status }),
      limit: limit + 1,
      ...(before && { before }),
    });
    const page = executions.slice(0, limit);
    const last = page[page.length - 1];
    return {
      workflows: workflows.map((w) => ({ name: w.name, version: w.version, description: w.description, created_at: toIso(w.createdAt)! })),
      executions: page.map((execution) => this.describe(execution, false)),
      next_cursor: executions.length > limit && last ? encodePosition(last.startedAt, last.id) : null,
    };
  }

  /**
   * Calls `listener` after each checkpoint of a tenant's execution driven in this process (live status for
   * resource subscriptions). Returns the unsubscribe function; not_found for another tenant's execution.
   */
  async watch(session: TenantSession, id: string, listener: () => void): Promise<() => void> {
    requirePermission(session, 'workflow:read');
    if (!(await this.store.getExecution(session, id))) throw notFound(`no execution "${id}"`);
    return this.runner.watch(id, () => listener());
  }

  /** Each transition of the tenant's executions (driven in this process), for the live feed. */
  watchTenant(session: TenantSession, listener: (execution: { id: string; workflow: string; status: string; currentState: string | null }, transitions: { type: string; state?: string; at: number }[]) => void): () => void {
    requirePermission(session, 'workflow:read');
    return this.runner.watchTenant(session.tenantId, (record, transitions) =>
      listener({ id: record.id, workflow: record.workflow, status: record.status, currentState: record.currentState }, transitions),
    );
  }

  async cancel(session: TenantSession, id: string) {
    requirePermission(session, 'workflow:write');
    await this.limiter.acquire(session, 'stepfunctions');
    const execution = await this.store.getExecution(session, id);
    if (!execution) throw notFound(`no execution "${id}"`);
    if (execution.status !== 'RUNNING') throw conflict(`execution "${id}" has already ended (${execution.status})`);
    await this.store.requestAbort(session, id);
    this.runner.abort(id);
    this.runner.kick();
    const ended = await this.wait(session, execution, 5);
    return { ...ended, cancel_requested: true as const };
  }

  private describe(execution: ExecutionRecord, withInput: boolean) {
    const snapshot = withInput ? (JSON.parse(execution.snapshot) as Snapshot) : undefined;
    return {
      execution_id: execution.id,
      execution_name: execution.name,
      workflow: execution.workflow,
      version: execution.version,
      status: execution.status,
      current_state: execution.currentState,
      started_at: toIso(execution.startedAt)!,
      stopped_at: toIso(execution.stoppedAt),
      ...(snapshot && { input: snapshot.execution.input }),
      ...(execution.output !== null && { output: JSON.parse(execution.output) as unknown }),
      ...(execution.error !== null && { error: execution.error }),
      ...(execution.cause !== null && { cause: execution.cause }),
    };
  }
}
