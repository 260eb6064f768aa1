import type { RateLimiter } from '../limits/rate-limiter.js';
import type { ArtifactService } from './artifact-service.js';
import type { AuditService } from './audit/audit-service.js';
import type { AlertService } from './events/alert-service.js';
import type { EventAnalyticsService } from './events/analytics-service.js';
import type { EventService } from './events/event-service.js';
import type { HealthService } from './events/health-service.js';
import type { LiveListeners } from './events/live-listeners.js';
import type { RuleService } from './events/rule-service.js';
import type { IntegrationService } from './integrations/integration-service.js';
import type { ProxyService } from './integrations/proxy-service.js';
import type { KvService } from './kv-service.js';
import type { WorkflowService } from './workflows/workflow-service.js';

/** Everything the MCP layer (and later the HTTP layer) may call. */
export interface Services {
  kv: KvService;
  artifacts: ArtifactService;
  events: EventService;
  eventAnalytics: EventAnalyticsService;
  rules: RuleService;
  alerts: AlertService;
  health: HealthService;
  listeners: LiveListeners;
  integrations: IntegrationService;
  proxy: ProxyService;
  workflows: WorkflowService;
  audit: AuditService;
  limiter: RateLimiter;
}
