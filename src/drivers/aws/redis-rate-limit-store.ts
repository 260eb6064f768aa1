import { Redis, ReplyError } from 'ioredis';
import { MeshError } from '../../errors.js';
import { RATE_LIMITED_SERVICES, type BucketRule, type RateLimitedService } from '../../limits/services.js';
import { refill, type BucketState } from '../../limits/token-bucket.js';
import type { BackendCheck } from '../../ports/backend.js';
import type { BucketSnapshot, RateLimitDecision, RateLimitStore } from '../../ports/rate-limit-store.js';
import { assertSession, type TenantSession } from '../../tenancy/session.js';

/**
 * limits/token-bucket.ts's take(), run inside Redis so refill, take and write are one atomic step for
 * every process sharing the server, on the server's own clock (TIME), so hosts with skewed clocks agree.
 * The bucket is a hash {tokens, at}; its PEXPIRE is the time it takes to refill to capacity, when it
 * behaves exactly like an absent bucket, so idle buckets evict themselves.
 * KEYS[1] bucket; ARGV capacity, refillPerSecond, cost. Returns {allowed 0|1, remaining, retryAfterMs}.
 */
const TAKE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = capacity
local at = now
if stored[1] and stored[2] then
  local before = tonumber(stored[2])
  tokens = math.min(capacity, tonumber(stored[1]) + (math.max(0, now - before) * rate) / 1000)
  at = math.max(now, before)
end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.max(1, math.ceil(((cost - tokens) * 1000) / rate))
end
local ttl = math.ceil(((capacity - tokens) * 1000) / rate)
if ttl >= 1 then
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  redis.call('DEL', KEYS[1])
end
return {allowed, math.floor(tokens), retry}
`;

export interface RedisRateLimitStoreOptions {
  /** Prefix of every key; tests use their own to stay apart. */
  keyPrefix?: string;
  /** Longest a call waits for Redis, connecting included, before failing with `unavailable`. */
  commandTimeoutMs?: number;
}

export const DEFAULT_RATE_LIMIT_KEY_PREFIX = 'agent-mesh:rl:';
const DEFAULT_COMMAND_TIMEOUT_MS = 2000;

type TakeReply = [number, number, number];
type RedisWithTake = Redis & {
  meshTakeToken(key: string, capacity: string, refillPerSecond: string, cost: string): Promise<TakeReply>;
};

/**
 * Token buckets in Redis, shared by every agent-mesh process using the same server (AGENT_MESH_REDIS_URL):
 * of N concurrent takes against a full bucket of capacity C, exactly C are allowed across all processes.
 * Keys are `agent-mesh:rl:{<tenant>}:<service>`; the hash tag keeps a tenant's buckets in one cluster slot.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: RedisWithTake;
  private readonly keyPrefix: string;
  private readonly where: string;
  private lastConnectionError: string | undefined;

  constructor(url: string, options: RedisRateLimitStoreOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? DEFAULT_RATE_LIMIT_KEY_PREFIX;
    this.where = describeUrl(url);
    const timeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeout,
      // Bounds every call, queued-while-disconnected ones included: a down Redis fails fast, never hangs.
      commandTimeout: timeout,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    });
    // Without a listener ioredis prints every reconnect failure; the next call reports it instead.
    redis.on('error', (error: Error) => {
      this.lastConnectionError = error.message;
    });
    redis.on('ready', () => {
      this.lastConnectionError = undefined;
    });
    redis.defineCommand('meshTakeToken', { lua: TAKE_LUA, numberOfKeys: 1 });
    this.redis = redis as RedisWithTake;
  }

  async take(session: TenantSession, service: RateLimitedService, rule: BucketRule): Promise<RateLimitDecision> {
    assertSession(session);
    const key = this.bucketKey(session.tenantId, service);
    const [allowed, remaining, retryAfterMs] = await this.call(() =>
      this.redis.meshTakeToken(key, String(rule.capacity), String(rule.refillPerSecond), '1'),
    );
    return { allowed: Number(allowed) === 1, remaining: Number(remaining), retryAfterMs: Number(retryAfterMs) };
  }

  async snapshot(session: TenantSession): Promise<BucketSnapshot[]> {
    assertSession(session);
    const replies = await this.call(async () => {
      const pipeline = this.redis.pipeline().time();
      for (const service of RATE_LIMITED_SERVICES) pipeline.hmget(this.bucketKey(session.tenantId, service), 'tokens', 'at');
      return (await pipeline.exec()) ?? [];
    });
    const failed = replies.find(([error]) => error);
    if (failed?.[0]) throw this.toMeshError(failed[0]);
    const [seconds, micros] = replies[0]?.[1] as [string, string];
    const now = Number(seconds) * 1000 + Number(micros) / 1000;
    return RATE_LIMITED_SERVICES.map((service, i) => {
      const rule = session.rateLimits[service];
      const [tokens, at] = replies[i + 1]?.[1] as [string | null, string | null];
      const state: BucketState | undefined = tokens !== null && at !== null ? { tokens: Number(tokens), updatedAt: Number(at) } : undefined;
      return { service, tokens: Math.floor(refill(state, rule, now).tokens), capacity: rule.capacity, refillPerSecond: rule.refillPerSecond };
    });
  }

  /** For `agent-mesh doctor`: Redis answers and runs the take script. */
  async check(): Promise<BackendCheck> {
    const subject = `redis ${this.where} (rate limits)`;
    try {
      const probe = `${this.keyPrefix}{doctor}:probe`;
      await this.call(() => this.redis.meshTakeToken(probe, '1', '1000', '1'));
      await this.call(() => this.redis.del(probe));
      return { subject, status: 'ok', detail: 'answers and runs the token-bucket script; rate limits are shared by every instance using it' };
    } catch (error) {
      return { subject, status: 'fail', detail: error instanceof Error ? error.message : String(error) };
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end' || this.redis.status === 'wait') {
      this.redis.disconnect();
      return;
    }
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  private bucketKey(tenantId: string, service: RateLimitedService): string {
    // Braces would move the hash tag; tenant ids never have them (config/file-schema.ts), so this is a guard.
    if (/[{}]/.test(tenantId)) throw new MeshError('internal', 'tenant id contains a brace');
    return `${this.keyPrefix}{${tenantId}}:${service}`;
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.toMeshError(error);
    }
  }

  private toMeshError(error: unknown): MeshError {
    if (error instanceof MeshError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof ReplyError && /^(NOAUTH|WRONGPASS|NOPERM)\b/.test(message)) {
      return new MeshError('unavailable', `rate limit store unavailable: Redis at ${this.where} refused agent-mesh's credentials (check AGENT_MESH_REDIS_URL)`);
    }
    // Any other reply error is Redis answering: the connection works, so it is ours to fix unless Redis is busy.
    if (error instanceof ReplyError && !/^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|OOM)\b/.test(message)) {
      return new MeshError('internal', `rate limit store (Redis at ${this.where}) refused the call: ${message}`);
    }
    // The socket's own error (ECONNREFUSED, ETIMEDOUT…) says more than ioredis's retry bookkeeping.
    const reason = this.lastConnectionError ?? message;
    return new MeshError(
      'unavailable',
      `rate limit store unavailable: Redis at ${this.where} (AGENT_MESH_REDIS_URL) did not answer (${reason})`,
      {},
      { retryable: true },
    );
  }
}

/** host:port/db of a Redis URL, without credentials, for error messages. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
  } catch {
    return 'an unparsable URL';
  }
}
