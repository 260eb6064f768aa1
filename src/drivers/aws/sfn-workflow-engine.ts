import type { HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import type { Logger } from '../../logging.js';
import type { RemoteEnding, RemoteHistoryPage, RemoteTaskRunner, RemoteTaskWorker, RemoteTransition, RemoteWorkflowEngine } from '../../ports/workflow-engine.js';
import { assertSession, type TenantSession } from '../../tenancy/session.js';
import { ActivityTaskFailure, SfnActivityWorker } from './sfn-activity-worker.js';
import { StepFunctionsWorkflows } from './sfn-workflows.js';

export interface StepFunctionsSettings {
  client: SFNClient;
  region: string;
  account: string;
  roleArn: string;
  activityName: string;
}

/** Tenants' workflows on Step Functions, their histories in the words of agent-mesh's own engine. */
export class StepFunctionsEngine implements RemoteWorkflowEngine {
  readonly workflows: StepFunctionsWorkflows;
  private activity: Promise<string> | undefined;

  constructor(settings: StepFunctionsSettings) {
    this.workflows = new StepFunctionsWorkflows({
      client: settings.client,
      region: settings.region,
      accountId: settings.account,
      roleArn: settings.roleArn,
      activityName: settings.activityName,
    });
  }

  /** The shared activity must exist before a state machine may name it; made once per process. */
  ensureActivity(): Promise<string> {
    this.activity ??= this.workflows.ensureActivity().catch((error: unknown) => {
      this.activity = undefined;
      throw error;
    });
    return this.activity;
  }

  async deploy(session: TenantSession, workflow: string, definition: string): Promise<void> {
    assertSession(session);
    await this.ensureActivity();
    await this.workflows.deploy(session.tenantId, workflow, JSON.parse(definition) as unknown);
  }

  async start(session: TenantSession, workflow: string, executionName: string, inputJson: string): Promise<void> {
    assertSession(session);
    await this.workflows.start(session.tenantId, workflow, executionName, JSON.parse(inputJson) as unknown);
  }

  async history(session: TenantSession, workflow: string, executionName: string, after: number): Promise<RemoteHistoryPage> {
    assertSession(session);
    const arn = this.workflows.executionArn(session.tenantId, workflow, executionName);
    const events = await this.workflows.history(session.tenantId, arn, after);
    const transitions: RemoteTransition[] = [];
    let ended: RemoteEnding | undefined;
    for (const event of events) {
      const transition = toTransition(event);
      if (transition) transitions.push(transition);
      ended ??= toEnding(event);
    }
    return { transitions, cursor: events.reduce((last, event) => Math.max(last, event.id ?? 0), after), ...(ended && { ended }) };
  }

  async stop(session: TenantSession, workflow: string, executionName: string, error: string, cause: string): Promise<void> {
    assertSession(session);
    await this.workflows.stop(session.tenantId, this.workflows.executionArn(session.tenantId, workflow, executionName), error, cause);
  }
}

/** Polls the shared activity for agent-mesh's Task states and runs them here. */
export class StepFunctionsTaskWorker implements RemoteTaskWorker {
  private worker: SfnActivityWorker | undefined;

  constructor(
    private readonly client: SFNClient,
    private readonly engine: StepFunctionsEngine,
    private readonly logger: Logger,
    private readonly concurrency = 4,
  ) {}

  start(run: RemoteTaskRunner): void {
    if (this.worker) return;
    this.worker = new SfnActivityWorker({
      client: this.client,
      activityArn: this.engine.workflows.activityArn,
      run: async (tenantId, resource, input, signal, execution) => {
        const outcome = await run(tenantId, resource, input, signal, execution);
        if (outcome.ok) return outcome.output;
        throw new ActivityTaskFailure(outcome.error, outcome.cause);
      },
      concurrency: this.concurrency,
      logger: this.logger,
    });
    // The activity is created on first use; polling an activity that does not exist yet only backs off.
    this.engine.ensureActivity().catch((error: unknown) => this.logger.warn({ err: error }, 'creating the Step Functions activity failed'));
    this.worker.start();
  }

  async stop(): Promise<void> {
    await this.worker?.stop();
    this.worker = undefined;
  }
}

const STATE_ENTERED = /StateEntered$/;
const STATE_EXITED = /StateExited$/;

function toTransition(event: HistoryEvent): RemoteTransition | undefined {
  const at = event.timestamp?.getTime() ?? Date.now();
  const type = event.type ?? '';
  if (STATE_ENTERED.test(type)) return { type: 'StateEntered', at, state: event.stateEnteredEventDetails?.name ?? '' };
  if (STATE_EXITED.test(type)) return { type: 'StateExited', at, state: event.stateExitedEventDetails?.name ?? '' };
  switch (type) {
    case 'ExecutionStarted':
      return { type, at };
    case 'ActivityScheduled':
    case 'TaskScheduled':
      return { type: 'TaskScheduled', at };
    case 'ActivitySucceeded':
    case 'TaskSucceeded':
      return { type: 'TaskSucceeded', at };
    case 'ActivityFailed':
      return { type: 'TaskFailed', at, detail: errorDetail(event.activityFailedEventDetails) };
    case 'ActivityTimedOut':
      return { type: 'TaskFailed', at, detail: errorDetail(event.activityTimedOutEventDetails) };
    case 'ActivityScheduleFailed':
      return { type: 'TaskFailed', at, detail: errorDetail(event.activityScheduleFailedEventDetails) };
    case 'MapStateStarted':
      return { type: 'MapStarted', at };
    case 'MapIterationStarted':
      return { type: 'MapIterationStarted', at };
    case 'ParallelStateStarted':
      return { type: 'ParallelStarted', at };
    case 'ExecutionSucceeded':
    case 'ExecutionFailed':
    case 'ExecutionAborted':
    case 'ExecutionTimedOut':
      return { type, at };
    default:
      return undefined;
  }
}

function toEnding(event: HistoryEvent): RemoteEnding | undefined {
  const at = event.timestamp?.getTime() ?? Date.now();
  switch (event.type) {
    case 'ExecutionSucceeded':
      return { status: 'SUCCEEDED', output: event.executionSucceededEventDetails?.output ?? 'null', error: null, cause: null, at };
    case 'ExecutionFailed':
      return { status: 'FAILED', output: null, error: event.executionFailedEventDetails?.error ?? null, cause: event.executionFailedEventDetails?.cause ?? null, at };
    case 'ExecutionAborted':
      return { status: 'ABORTED', output: null, error: event.executionAbortedEventDetails?.error ?? null, cause: event.executionAbortedEventDetails?.cause ?? null, at };
    case 'ExecutionTimedOut':
      return { status: 'TIMED_OUT', output: null, error: event.executionTimedOutEventDetails?.error ?? 'States.Timeout', cause: event.executionTimedOutEventDetails?.cause ?? null, at };
    default:
      return undefined;
  }
}

const errorDetail = (details: { error?: string; cause?: string } | undefined): Record<string, unknown> => ({
  ...(details?.error !== undefined && { error: details.error }),
  ...(details?.cause !== undefined && { cause: details.cause }),
});
