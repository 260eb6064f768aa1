import type { Logger } from '../../logging.js';
import type { Backend } from '../../ports/backend.js';
import type { RateLimitStore } from '../../ports/rate-limit-store.js';
import { checkAwsResources, type AwsNames } from './aws-checks.js';
import { createAwsClients } from './aws-clients.js';
import { DynamoApiKeyStore } from './dynamo-api-key-store.js';
import { DynamoAuditStore } from './dynamo-audit-store.js';
import { DynamoEventStore } from './dynamo-event-store.js';
import { DynamoIntegrationStore } from './dynamo-integration-store.js';
import { DynamoKvStore } from './dynamo-kv-store.js';
import { DynamoWorkflowStore } from './dynamo-workflow-store.js';
import { EventBridgeBus } from './eventbridge-bus.js';
import { S3ArtifactStore } from './s3-artifact-store.js';
import { SnsAlertSink } from './sns-alert-sink.js';
import { SnsAlertTopics } from './sns-alert-topics.js';
import { StepFunctionsEngine, StepFunctionsTaskWorker } from './sfn-workflow-engine.js';

export interface AwsBackendSettings extends AwsNames {
  account: string;
  /** With a role, workflows run on Step Functions; without, on agent-mesh's runner over the table. */
  stepFunctionsRoleArn: string | undefined;
  activityName: string;
  s3ForcePathStyle: boolean;
  ruleTargetArn: string | undefined;
  ruleTargetRoleArn: string | undefined;
  /** How long events and audit entries are kept (their TTL). */
  retentionMs: number;
}

const PURGE_EVERY_MS = 30_000;
const PURGE_BATCH = 200;
const ORPHAN_SWEEP_EVERY_MS = 3_600_000;
/** An object younger than this may belong to a put still in flight, so the sweep leaves it. */
const ORPHAN_MIN_AGE_MS = 3_600_000;

/** Every port on AWS: one DynamoDB table, one S3 bucket, one EventBridge bus, SNS for alerts. */
export function createAwsBackend(settings: AwsBackendSettings, logger: Logger, rateLimits: RateLimitStore): Backend {
  const clients = createAwsClients(settings);
  const { dynamo } = clients;
  const table = settings.kvTable;
  const kv = new DynamoKvStore(dynamo, table);
  const artifacts = new S3ArtifactStore(dynamo, table, clients.s3, settings.artifactsBucket);

  const purge = setInterval(() => {
    kv.purgeExpired(PURGE_BATCH).then(
      (purged) => purged > 0 && logger.debug({ purged }, 'purged expired keys'),
      (error: unknown) => logger.warn({ err: error }, 'purging expired keys failed'),
    );
  }, PURGE_EVERY_MS);
  purge.unref();
  const sweep = setInterval(() => {
    artifacts.sweepOrphans(ORPHAN_MIN_AGE_MS).then(
      (removed) => removed > 0 && logger.info({ removed }, 'removed artifact objects left by interrupted puts'),
      (error: unknown) => logger.warn({ err: error }, 'artifact orphan sweep failed'),
    );
  }, ORPHAN_SWEEP_EVERY_MS);
  sweep.unref();

  const stepFunctions = settings.stepFunctionsRoleArn
    ? new StepFunctionsEngine({ client: clients.sfn, region: settings.region, account: settings.account, roleArn: settings.stepFunctionsRoleArn, activityName: settings.activityName })
    : undefined;

  return {
    kind: 'aws',
    kv,
    artifacts,
    events: new DynamoEventStore(dynamo, table, { retentionMs: settings.retentionMs }),
    integrations: new DynamoIntegrationStore(dynamo, table),
    workflows: new DynamoWorkflowStore(dynamo, table),
    apiKeys: new DynamoApiKeyStore(dynamo, table),
    audit: new DynamoAuditStore(dynamo, table, { retentionMs: settings.retentionMs }),
    rateLimits,
    eventBus: new EventBridgeBus(clients.eventBridge, {
      eventBusName: settings.eventBus,
      ruleTargetArn: settings.ruleTargetArn,
      ruleTargetRoleArn: settings.ruleTargetRoleArn,
    }),
    alertSinks: [new SnsAlertSink((region) => clients.snsIn(region))],
    alertTopics: new SnsAlertTopics(clients.sns, settings.region, settings.account),
    ...(stepFunctions && { remoteWorkflows: { engine: stepFunctions, tasks: new StepFunctionsTaskWorker(clients.sfn, stepFunctions, logger) } }),
    check: () => checkAwsResources(clients, settings, stepFunctions),
    async close() {
      clearInterval(purge);
      clearInterval(sweep);
      await rateLimits.close();
      clients.destroy();
    },
  };
}
