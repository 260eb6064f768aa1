import type { Config } from './config/config.js';
import { createLocalBackend } from './drivers/local/local-backend.js';
import { MemoryRateLimitStore } from './drivers/local/memory-rate-limit-store.js';
import type { Logger } from './logging.js';
import type { Backend } from './ports/backend.js';

const DAY_MS = 86_400_000;

/**
 * Picks the drivers for every port: AGENT_MESH_BACKEND chooses the store, AGENT_MESH_REDIS_URL makes rate
 * limits shared by every instance (with either backend). The AWS SDK and the Redis client are loaded only
 * when configured: a laptop's stdio server starts without them.
 */
export async function createBackend(config: Config, logger: Logger): Promise<Backend> {
  const redis = config.redisUrl ? new (await import('./drivers/aws/redis-rate-limit-store.js')).RedisRateLimitStore(config.redisUrl) : undefined;
  const rateLimits = redis ?? new MemoryRateLimitStore();
  const backend =
    config.backend === 'aws'
      ? (await import('./drivers/aws/aws-backend.js')).createAwsBackend({ ...config.aws, retentionMs: config.events.retentionDays * DAY_MS }, logger, rateLimits)
      : createLocalBackend(config.dataDir, logger, rateLimits);
  if (!redis) return backend;
  return { ...backend, check: async () => [...(await backend.check()), await redis.check()] };
}
