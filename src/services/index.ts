import type { RateLimiter } from '../limits/rate-limiter.js';
import type { ArtifactService } from './artifact-service.js';
import type { KvService } from './kv-service.js';

/** Everything the MCP layer may call. Later groups (events, workflows, integrations) join here. */
export interface Services {
  kv: KvService;
  artifacts: ArtifactService;
  limiter: RateLimiter;
}
