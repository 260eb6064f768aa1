import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  UpdateStateMachineCommand,
  type ExecutionStatus,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { asMeshError, conflict, dependencyProblem, invalidArgument, MeshError, notFound } from '../../errors.js';
import { stateMachineName, stateMachinePrefix, toStepFunctionsDefinition } from './sfn-definition.js';

export interface StepFunctionsWorkflowsOptions {
  client: SFNClient;
  region: string;
  accountId: string;
  /** The role every tenant's state machine runs as; it needs no permission beyond the shared activity. */
  roleArn: string;
  /** The shared activity agent-mesh's workers poll. */
  activityName?: string;
  partition?: string;
}

export interface SfnExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  /** Epoch milliseconds. */
  startedAt: number;
  stoppedAt: number | null;
  input?: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
}

export type SfnExecutionSummary = Omit<SfnExecution, 'input' | 'output' | 'error' | 'cause'>;

const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const PAGE = 1000;

const partitionOf = (region: string): string => (region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws');
const ms = (date: Date | undefined): number | null => (date === undefined ? null : date.getTime());
const parsed = (text: string | undefined): unknown => (text === undefined ? undefined : JSON.parse(text));

/**
 * Tenants' workflows as Step Functions state machines, one per (tenant, workflow), named by
 * stateMachineName() — never from client input directly. Their agent-mesh/mcp Task states run on the shared
 * activity (see sfn-definition.ts and SfnActivityWorker). Methods that take an execution ARN also take the
 * tenant and answer not_found for an ARN that is not of one of the tenant's state machines, before any call.
 * Step Functions keeps the history, so live status means polling history(…, afterEventId).
 */
export class StepFunctionsWorkflows {
  readonly activityArn: string;
  private readonly client: SFNClient;
  private readonly activityName: string;
  private readonly arnBase: string;

  constructor(private readonly options: StepFunctionsWorkflowsOptions) {
    this.client = options.client;
    this.activityName = options.activityName ?? 'agent-mesh-tasks';
    this.arnBase = `arn:${options.partition ?? partitionOf(options.region)}:states:${options.region}:${options.accountId}`;
    this.activityArn = `${this.arnBase}:activity:${this.activityName}`;
  }

  stateMachineArn(tenantId: string, workflow: string): string {
    return `${this.arnBase}:stateMachine:${stateMachineName(tenantId, workflow)}`;
  }

  executionArn(tenantId: string, workflow: string, executionName: string): string {
    return `${this.arnBase}:execution:${stateMachineName(tenantId, workflow)}:${checkExecutionName(executionName)}`;
  }

  /** Creates the shared activity (CreateActivity is idempotent) and returns its ARN. */
  async ensureActivity(): Promise<string> {
    const created = await this.call(() => this.client.send(new CreateActivityCommand({ name: this.activityName })));
    return created.activityArn ?? this.activityArn;
  }

  /** Creates the tenant's state machine for the workflow, or updates its definition. */
  async deploy(tenantId: string, workflow: string, definition: unknown): Promise<{ stateMachineArn: string; created: boolean }> {
    const name = stateMachineName(tenantId, workflow);
    const text = JSON.stringify(toStepFunctionsDefinition(definition, { tenantId, activityArn: this.activityArn, workflow }));
    const stateMachineArn = `${this.arnBase}:stateMachine:${name}`;
    try {
      await this.client.send(
        new CreateStateMachineCommand({
          name,
          definition: text,
          roleArn: this.options.roleArn,
          type: 'STANDARD',
          tags: [
            { key: 'agent-mesh:tenant', value: tenantId },
            { key: 'agent-mesh:workflow', value: workflow },
          ],
        }),
      );
      return { stateMachineArn, created: true };
    } catch (error) {
      if ((error as Error).name !== 'StateMachineAlreadyExists') throw toMeshError(error, { workflow });
    }
    await this.call(() => this.client.send(new UpdateStateMachineCommand({ stateMachineArn, definition: text, roleArn: this.options.roleArn })), { workflow });
    return { stateMachineArn, created: false };
  }

  /**
   * Starts an execution. Idempotent as on the embedded backend: the same name and input give the same
   * execution even after it ended (Step Functions itself refuses a closed one); other input is a conflict.
   */
  async start(tenantId: string, workflow: string, executionName: string, input: unknown): Promise<{ executionArn: string; startedAt: number; created: boolean }> {
    const stateMachineArn = this.stateMachineArn(tenantId, workflow);
    const name = checkExecutionName(executionName);
    const text = JSON.stringify(input === undefined ? {} : input);
    try {
      const started = await this.client.send(new StartExecutionCommand({ stateMachineArn, name, input: text }));
      return { executionArn: started.executionArn!, startedAt: ms(started.startDate) ?? Date.now(), created: true };
    } catch (error) {
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw toMeshError(error, { workflow });
    }
    const existing = await this.describe(tenantId, this.executionArn(tenantId, workflow, name));
    if (JSON.stringify(existing.input) !== JSON.stringify(JSON.parse(text))) {
      throw conflict(`execution "${name}" of workflow "${workflow}" already exists with different input`);
    }
    return { executionArn: existing.executionArn, startedAt: existing.startedAt, created: false };
  }

  async describe(tenantId: string, executionArn: string): Promise<SfnExecution> {
    this.checkOwned(tenantId, executionArn);
    const e = await this.call(() => this.client.send(new DescribeExecutionCommand({ executionArn })), { execution: executionArn });
    return {
      executionArn,
      stateMachineArn: e.stateMachineArn!,
      name: e.name!,
      status: e.status!,
      startedAt: ms(e.startDate)!,
      stoppedAt: ms(e.stopDate),
      ...(e.input !== undefined && { input: parsed(e.input) }),
      ...(e.output !== undefined && { output: parsed(e.output) }),
      ...(e.error !== undefined && { error: e.error }),
      ...(e.cause !== undefined && { cause: e.cause }),
    };
  }

  /**
   * Every history event after `afterEventId` (all of them without it), in order. After a cursor it reads
   * newest first and stops at the cursor, so following a long execution does not re-read its whole history.
   */
  async history(tenantId: string, executionArn: string, afterEventId = 0): Promise<HistoryEvent[]> {
    this.checkOwned(tenantId, executionArn);
    const reverseOrder = afterEventId > 0;
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call(
        () => this.client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: PAGE, includeExecutionData: true, reverseOrder, ...(nextToken && { nextToken }) })),
        { execution: executionArn },
      );
      const fresh = (page.events ?? []).filter((event) => (event.id ?? 0) > afterEventId);
      events.push(...fresh);
      nextToken = reverseOrder && fresh.length < (page.events ?? []).length ? undefined : page.nextToken;
    } while (nextToken);
    return reverseOrder ? events.reverse() : events;
  }

  async stop(tenantId: string, executionArn: string, error?: string, cause?: string): Promise<{ stoppedAt: number }> {
    this.checkOwned(tenantId, executionArn);
    const stopped = await this.call(
      () => this.client.send(new StopExecutionCommand({ executionArn, ...(error !== undefined && { error: error.slice(0, 256) }), ...(cause !== undefined && { cause: cause.slice(0, 32_768) }) })),
      { execution: executionArn },
    );
    return { stoppedAt: ms(stopped.stopDate) ?? Date.now() };
  }

  /** The workflow's executions, newest first, across pages. */
  async list(tenantId: string, workflow: string, status?: ExecutionStatus): Promise<SfnExecutionSummary[]> {
    const stateMachineArn = this.stateMachineArn(tenantId, workflow);
    const out: SfnExecutionSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call(() => this.client.send(new ListExecutionsCommand({ stateMachineArn, maxResults: PAGE, ...(status && { statusFilter: status }), ...(nextToken && { nextToken }) })), { workflow });
      for (const e of page.executions ?? []) {
        out.push({ executionArn: e.executionArn!, stateMachineArn: e.stateMachineArn!, name: e.name!, status: e.status!, startedAt: ms(e.startDate)!, stoppedAt: ms(e.stopDate) });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  }

  /** An execution ARN of one of the tenant's state machines (in this account and region), else not_found. */
  private checkOwned(tenantId: string, executionArn: string): void {
    const base = `${this.arnBase}:execution:`;
    const rest = executionArn.startsWith(base) ? executionArn.slice(base.length) : '';
    const match = /^([A-Za-z0-9_-]{1,80}):([A-Za-z0-9_-]{1,80})$/.exec(rest);
    if (!match || !match[1]!.startsWith(stateMachinePrefix(tenantId))) throw notFound(`no execution "${executionArn}"`);
  }

  private async call<T>(send: () => Promise<T>, about: ErrorContext = {}): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw toMeshError(error, about);
    }
  }
}

function checkExecutionName(name: string): string {
  if (!EXECUTION_NAME.test(name)) throw invalidArgument('execution_name', 'must be 1-80 letters, digits, "-" or "_"');
  return name;
}

interface ErrorContext {
  workflow?: string;
  execution?: string;
}

/** Step Functions' errors as agent-mesh's; the message names what the client named, not physical names. */
export function toMeshError(error: unknown, about: ErrorContext = {}): MeshError {
  if (error instanceof MeshError) return error;
  const e = error as Error;
  const name = e.name ?? '';
  const what = about.workflow !== undefined ? `workflow "${about.workflow}"` : 'the workflow';
  switch (name) {
    case 'StateMachineDoesNotExist':
    case 'StateMachineDeleting':
      return notFound(`no workflow named "${about.workflow ?? ''}" (create it with workflow_create)`);
    case 'ExecutionDoesNotExist':
      return notFound(`no execution "${about.execution ?? ''}"`);
    case 'ExecutionAlreadyExists':
      return conflict(`an execution of ${what} with this name already exists`);
    case 'InvalidDefinition':
      return invalidArgument('definition', e.message);
    case 'InvalidExecutionInput':
      return invalidArgument('input', e.message);
    case 'InvalidName':
      return invalidArgument('execution_name', e.message);
    case 'ExecutionLimitExceeded':
    case 'StateMachineLimitExceeded':
    case 'ActivityLimitExceeded':
      return new MeshError('quota_exceeded', `Step Functions refused: ${e.message}`, { limit: name });
  }
  const problem = dependencyProblem(error);
  if (problem === 'unreachable' || problem === 'throttled') {
    return new MeshError('unavailable', 'Step Functions is unavailable or throttling; retry shortly', {}, { retryable: true });
  }
  return asMeshError(error);
}
