import type { Config } from './config/config.js';
import { createLocalBackend } from './drivers/local/local-backend.js';
import { RateLimiter } from './limits/rate-limiter.js';
import type { Logger } from './logging.js';
import { ArtifactService } from './services/artifact-service.js';
import type { Services } from './services/index.js';
import { KvService } from './services/kv-service.js';

export interface App {
  services: Services;
  close(): Promise<void>;
}

/** The composition root: picks the drivers for every port and builds the services on them. */
export function createApp(config: Config, logger: Logger): App {
  const backend = createLocalBackend(config.dataDir, logger);
  const limiter = new RateLimiter(backend.rateLimits);
  limiter.onRejected((session, service, retryAfterMs) =>
    logger.info({ tenant: session.tenantId, service, retryAfterMs }, 'rate limited'),
  );
  return {
    services: {
      kv: new KvService(backend.kv, limiter),
      artifacts: new ArtifactService(backend.artifacts, limiter),
      limiter,
    },
    close: () => backend.close(),
  };
}
