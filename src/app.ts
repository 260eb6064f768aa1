import type { Config } from './config/config.js';
import { createBackend } from './backend.js';
import { SdkUpstreamConnector } from './drivers/mcp/sdk-upstream-connector.js';
import { SmtpAlertSink } from './drivers/net/smtp-alert-sink.js';
import { WebhookAlertSink } from './drivers/net/webhook-alert-sink.js';
import { RateLimiter } from './limits/rate-limiter.js';
import type { Logger } from './logging.js';
import { createEgressPolicy } from './net/egress-policy.js';
import type { AlertSink } from './ports/alert-sink.js';
import { ArtifactService } from './services/artifact-service.js';
import { AlertService } from './services/events/alert-service.js';
import { EventAnalyticsService } from './services/events/analytics-service.js';
import { DeliveryDispatcher } from './services/events/delivery-dispatcher.js';
import { EventService } from './services/events/event-service.js';
import { HealthService } from './services/events/health-service.js';
import { LiveListeners } from './services/events/live-listeners.js';
import { RuleIndexCache } from './services/events/rule-index.js';
import { RuleService } from './services/events/rule-service.js';
import { attemptWorkflowStart, WORKFLOW_EVENTS_SOURCE, type WorkflowStarter } from './services/events/rule-workflow-starts.js';
import type { Services } from './services/index.js';
import { ConnectionPool } from './services/integrations/connection-pool.js';
import { IntegrationService } from './services/integrations/integration-service.js';
import { ProxyService } from './services/integrations/proxy-service.js';
import { KvService } from './services/kv-service.js';
import { SecretBox } from './secrets/secret-box.js';
import { loadSecretKey } from './secrets/secret-key.js';
import { backgroundSessions } from './tenancy/auth/background-identity.js';
import { delegatedSessions } from './tenancy/auth/delegated-identity.js';
import { asMeshError } from './errors.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { VERSION } from './version.js';
import { toolInvoker } from './mcp/tool-invoker.js';
import { ALL_TOOLS } from './mcp/tools/index.js';
import type { ExecutionRecord } from './ports/workflow-store.js';
import type { EventBus } from './ports/event-bus.js';
import type { EventEnvelope } from './ports/event-store.js';
import type { TenantSession } from './tenancy/session.js';
import type { ApiKeyStore } from './ports/api-key-store.js';
import type { BackendCheck } from './ports/backend.js';
import { MachineCache } from './services/workflows/machine-cache.js';
import { WorkflowRunner } from './services/workflows/workflow-runner.js';
import { RemoteExecutionTracker } from './services/workflows/remote-execution-tracker.js';
import type { ExecutionDriver, ExecutionListener } from './services/workflows/execution-listeners.js';
import { runTask } from './services/workflows/task-runner.js';
import { WorkflowService } from './services/workflows/workflow-service.js';
import { AuditService } from './services/audit/audit-service.js';

export interface App {
  services: Services;
  /** What `agent-mesh doctor` reports: every configured resource, checked. */
  check(): Promise<BackendCheck[]>;
  /** Tenants and API keys, for the HTTP auth layer and the admin CLI. */
  apiKeys: ApiKeyStore;
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;
/** Detail types of the workflow lifecycle events on the bus (source agent-mesh.workflows). */
const LIFECYCLE: Partial<Record<string, string>> = {
  ExecutionSucceeded: 'ExecutionSucceeded',
  ExecutionFailed: 'ExecutionFailed',
  ExecutionTimedOut: 'ExecutionTimedOut',
  ExecutionAborted: 'ExecutionAborted',
};

/**
 * The composition root: picks the drivers for every port and builds the services on them. `background`
 * (the default) also starts the workflow runner, alert delivery and pruning; the admin CLI leaves them off,
 * so a short command never claims an execution or a delivery.
 */
export async function createApp(config: Config, logger: Logger, options: { background?: boolean } = {}): Promise<App> {
  const backend = await createBackend(config, logger);
  const limiter = new RateLimiter(backend.rateLimits);
  limiter.onRejected((session, service, retryAfterMs) =>
    logger.info({ tenant: session.tenantId, service, retryAfterMs }, 'rate limited'),
  );

  let services!: Services;
  // Task states act as their execution's starter (see delegated-identity.ts); lifecycle events and the
  // engine's own bookkeeping stay with the service identity (`sessionFor`).
  const actingAs = delegatedSessions(config);
  const egress = createEgressPolicy(config.networkAllow);
  const { timeoutMs } = config.events.delivery;
  const sinks: AlertSink[] = [new WebhookAlertSink({ policy: egress, timeoutMs, userAgent: `agent-mesh/${VERSION}` })];
  const smtp = config.smtp ? new SmtpAlertSink({ url: config.smtp.url, from: config.smtp.from, timeoutMs }) : undefined;
  if (smtp) sinks.push(smtp);
  sinks.push(...backend.alertSinks);
  // A rule starts its workflow as the rule's creator (rules stored before creators were recorded: the tenant).
  const startRuleWorkflow: WorkflowStarter = (tenantId, createdBy, workflow, input, executionName) =>
    services.workflows.start(actingAs(tenantId, createdBy), { name: workflow, input, execution_name: executionName });
  const dispatcher = new DeliveryDispatcher({
    store: backend.events,
    sinks,
    sessionFor: backgroundSessions(config),
    startWorkflow: (tenantId, target, event) => attemptWorkflowStart(startRuleWorkflow, tenantId, target, event),
    delivery: config.events.delivery,
    logger,
  });

  const connector = new SdkUpstreamConnector({ policy: egress, clientInfo: { name: 'agent-mesh', version: VERSION } });
  const pool = new ConnectionPool(connector, config.integrations, logger);
  const integrations = new IntegrationService({
    store: backend.integrations,
    pool,
    connector,
    limiter,
    secrets: new SecretBox(() => loadSecretKey(config.secretKey, config.dataDir)),
    settings: config.integrations,
    checkUrl: (url, field) => egress.checkUrl(url, field),
  });

  const sessionFor = backgroundSessions(config);
  const workflowStore = backend.workflows;
  const machines = new MachineCache(workflowStore);
  const onTransitions: ExecutionListener = (execution, transitions) => {
    const end = transitions.find((t) => LIFECYCLE[t.type] !== undefined);
    if (end) void announce(execution, LIFECYCLE[end.type]!);
  };
  const callTool = toolInvoker(ALL_TOOLS, () => services);
  const invoke = {
    tool: (session: TenantSession, tool: string, args: Record<string, unknown>, signal: AbortSignal) =>
      audited(session, tool, () => callTool(session, tool, args, signal)),
    upstream: (session: TenantSession, integration: string, tool: string, args: Record<string, unknown>, signal: AbortSignal) =>
      audited(session, 'mcp_proxy', () => services.proxy.call(session, integration, tool, args, { signal })),
  };
  /** Task calls land in the audit log like a client's calls, under the user the task ran as. */
  const audited = async (session: TenantSession, tool: string, call: () => Promise<CallToolResult>): Promise<CallToolResult> => {
    const started = performance.now();
    try {
      const result = await call();
      const code = (result.structuredContent as { error?: { code?: string } } | undefined)?.error?.code;
      services.audit.record(session, tool, !result.isError ? 'ok' : (code ?? 'tool_error'), performance.now() - started);
      return result;
    } catch (error) {
      services.audit.record(session, tool, asMeshError(error).code, performance.now() - started);
      throw error;
    }
  };
  /**
   * The session a Step Functions task runs as: its execution's starter, looked up by (workflow, execution
   * name) and kept, as it never changes. Tasks of definitions deployed before tasks named their execution
   * carry none and keep the old behaviour (the tenant's permissions); re-create such a workflow to fix that.
   */
  const starters = new Map<string, ExecutionRecord['startedBy'] | null>();
  const remoteTaskSession = async (tenantId: string, execution: { workflow: string; name: string } | undefined): Promise<TenantSession> => {
    if (!execution) return sessionFor(tenantId);
    const key = JSON.stringify([tenantId, execution.workflow, execution.name]);
    let startedBy = starters.get(key);
    if (startedBy === undefined) {
      const record = await workflowStore.findExecution(sessionFor(tenantId), execution.workflow, execution.name);
      // Fail closed: a task of an execution this store does not know runs with no permissions at all.
      startedBy = record ? (record.startedBy ?? null) : { userId: 'unknown', permissions: [] };
      if (record) {
        if (starters.size >= 1000) starters.delete(starters.keys().next().value!);
        starters.set(key, startedBy);
      }
    }
    return actingAs(tenantId, startedBy ?? undefined);
  };
  const remoteWorkflows = backend.remoteWorkflows;
  // On Step Functions the executions run there, and this process follows them; else its own runner drives them.
  const runner: ExecutionDriver = remoteWorkflows
    ? new RemoteExecutionTracker({ store: workflowStore, engine: remoteWorkflows.engine, sessionFor, logger, onTransitions })
    : new WorkflowRunner({ store: workflowStore, machines, sessionFor: actingAs, invoke, logger, onTransitions });
  const announce = async (execution: ExecutionRecord, detailType: string): Promise<void> => {
    const detail = {
      execution_id: execution.id,
      execution_name: execution.name,
      workflow: execution.workflow,
      version: execution.version,
      status: execution.status,
      ...(execution.output !== null && { output: JSON.parse(execution.output) as unknown }),
      ...(execution.error !== null && { error: execution.error }),
      ...(execution.cause !== null && { cause: execution.cause.slice(0, 4096) }),
    };
    await services.events
      .announce(sessionFor(execution.tenantId), { source: WORKFLOW_EVENTS_SOURCE, detail_type: detailType, detail })
      .catch((error: unknown) => logger.warn({ err: error, execution: execution.id }, 'workflow lifecycle event not sent'));
  };

  const bus = backend.eventBus;
  const listeners = new LiveListeners(logger);
  const ruleIndex = new RuleIndexCache(backend.events, logger);
  services = {
    kv: new KvService(backend.kv, limiter),
    artifacts: new ArtifactService(backend.artifacts, limiter),
    events: new EventService(
      backend.events,
      limiter,
      ruleIndex,
      listeners,
      { region: config.aws.region, account: config.aws.account, ...(bus && { mirror: mirrorTo(bus, logger) }) },
      () => dispatcher.kick(),
    ),
    eventAnalytics: new EventAnalyticsService(backend.events, limiter),
    rules: new RuleService(backend.events, limiter, async (session, name) => (await workflowStore.getWorkflow(session, name)) !== undefined, bus),
    alerts: new AlertService(backend.events, limiter, {
      checkUrl: (url, field) => egress.checkUrl(url, field),
      ...(backend.alertTopics && { topics: backend.alertTopics }),
      unavailable: {
        ...(!smtp && { email: 'the server has no AGENT_MESH_SMTP_URL to send email through' }),
        ...(!sinks.some((sink) => sink.type === 'sns') && {
          sns: 'SNS topics are reached through the AWS backend (AGENT_MESH_BACKEND=aws); this server runs the embedded one',
        }),
      },
    }),
    health: new HealthService(backend.events, limiter, VERSION, backend.kind),
    listeners,
    integrations,
    proxy: new ProxyService(backend.integrations, integrations, pool, limiter, config.integrations.callTimeoutMs),
    audit: new AuditService(backend.audit, limiter, logger),
    workflows: new WorkflowService(workflowStore, machines, runner, limiter, new Set(ALL_TOOLS.map((tool) => tool.name)), (execution) => void announce(execution, 'ExecutionStarted'), remoteWorkflows?.engine),
    limiter,
  };
  const background = options.background ?? true;
  if (background) {
    runner.start();
    dispatcher.start();
    remoteWorkflows?.tasks.start(async (tenantId, resource, input, signal, execution) =>
      runTask(await remoteTaskSession(tenantId, execution), resource, input, undefined, invoke, signal),
    );
  }
  const retentionMs = config.events.retentionDays * DAY_MS;
  const prune = () =>
    Promise.all([backend.events.prune(Date.now() - retentionMs), backend.audit.prune(Date.now() - retentionMs)]).then(
      ([removed]) => removed > 0 && logger.info({ removed }, 'pruned events past retention'),
      (error: unknown) => logger.warn({ err: error }, 'pruning events failed'),
    );
  const pruneTimer = background ? setInterval(prune, Math.min(3_600_000, Math.max(1_000, retentionMs / 10))) : undefined;
  pruneTimer?.unref();
  if (background) void prune();

  return {
    services,
    apiKeys: backend.apiKeys,
    check: () => backend.check(),
    async close() {
      clearInterval(pruneTimer);
      await remoteWorkflows?.tasks.stop();
      await runner.stop();
      await services.audit.close();
      await dispatcher.stop();
      await pool.closeAll();
      await smtp?.close();
      await backend.close();
    },
  };
}


/** Publishing to the external bus happens after the event is stored, so a failure is logged, not thrown. */
function mirrorTo(bus: EventBus, logger: Logger) {
  return (session: TenantSession, envelope: EventEnvelope) =>
    bus.publish(session, [envelope]).catch((error: unknown) => logger.warn({ err: error, event: envelope.id, tenant: session.tenantId }, 'event not published to the bus'));
}
