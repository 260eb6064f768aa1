import type { AlertSink } from './alert-sink.js';
import type { AlertTopics } from './alert-topics.js';
import type { ApiKeyStore } from './api-key-store.js';
import type { ArtifactStore } from './artifact-store.js';
import type { AuditStore } from './audit-store.js';
import type { EventBus } from './event-bus.js';
import type { EventStore } from './event-store.js';
import type { IntegrationStore } from './integration-store.js';
import type { KvStore } from './kv-store.js';
import type { RateLimitStore } from './rate-limit-store.js';
import type { WorkflowStore } from './workflow-store.js';
import type { RemoteTaskWorker, RemoteWorkflowEngine } from './workflow-engine.js';

/** One finding of `agent-mesh doctor`. */
export interface BackendCheck {
  /** What was checked, e.g. "dynamodb table agent-mesh-kv". */
  subject: string;
  status: 'ok' | 'warn' | 'fail';
  /** One line: what was found, and for warn/fail what to do. */
  detail: string;
}

/** Every port, from one backend: the composition root picks one and builds the services on it. */
export interface Backend {
  readonly kind: 'local' | 'aws';
  kv: KvStore;
  artifacts: ArtifactStore;
  events: EventStore;
  integrations: IntegrationStore;
  workflows: WorkflowStore;
  apiKeys: ApiKeyStore;
  audit: AuditStore;
  rateLimits: RateLimitStore;
  /** An external bus mirrored from the event store (EventBridge on AWS); none on the embedded backend. */
  eventBus?: EventBus;
  /** Alert channels only this backend can reach (SNS on AWS). */
  alertSinks: AlertSink[];
  /** Topics made per alert (SNS on AWS); none on the embedded backend. */
  alertTopics?: AlertTopics;
  /** Where workflows run when not on agent-mesh's own runner (Step Functions on AWS), and its task worker. */
  remoteWorkflows?: { engine: RemoteWorkflowEngine; tasks: RemoteTaskWorker };
  /** Checks that every configured resource exists and is usable; for `agent-mesh doctor`. */
  check(): Promise<BackendCheck[]>;
  close(): Promise<void>;
}
