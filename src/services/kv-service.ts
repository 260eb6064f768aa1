import { invalidArgument, notFound, quotaExceeded } from '../errors.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { KvStore } from '../ports/kv-store.js';
import { requirePermission } from '../tenancy/permissions.js';
import type { TenantSession } from '../tenancy/session.js';
import { decodeCursor, encodeCursor, validateKey, validatePrefix } from './keys.js';
import { toIso } from './time.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface KvSetInput {
  key: string;
  value: JsonValue;
  ttl_seconds?: number;
  if_version?: number;
  if_absent?: boolean;
}

export interface KvListInput {
  prefix?: string;
  limit?: number;
  cursor?: string;
}

export const DEFAULT_PAGE_SIZE = 100;

/** The rules of the KV tool group: permission, validation, rate limit (service `dynamodb`), quotas. */
export class KvService {
  constructor(
    private readonly store: KvStore,
    private readonly limiter: RateLimiter,
    private readonly now: () => number = Date.now,
  ) {}

  async get(session: TenantSession, rawKey: string) {
    requirePermission(session, 'kv:read');
    const key = validateKey(rawKey);
    await this.limiter.acquire(session, 'dynamodb');
    const entry = await this.store.get(session, key);
    if (!entry) throw notFound(`key "${key}" not found`);
    return {
      key,
      value: JSON.parse(entry.valueJson) as JsonValue,
      version: entry.version,
      expires_at: toIso(entry.expiresAt),
      updated_at: toIso(entry.updatedAt)!,
    };
  }

  async set(session: TenantSession, input: KvSetInput) {
    requirePermission(session, 'kv:write');
    const key = validateKey(input.key);
    if (input.if_absent && input.if_version !== undefined) {
      throw invalidArgument('if_absent', 'cannot be combined with if_version');
    }
    if (input.value === undefined) throw invalidArgument('value', 'is required (any JSON value, null included)');
    const valueJson = JSON.stringify(input.value);
    const bytes = Buffer.byteLength(valueJson, 'utf8');
    const { maxValueBytes } = session.limits;
    if (bytes > maxValueBytes) {
      throw quotaExceeded('maxValueBytes', maxValueBytes, `value: ${bytes} bytes as JSON, over the limit maxValueBytes ${maxValueBytes}`);
    }
    await this.limiter.acquire(session, 'dynamodb');
    const expiresAt = input.ttl_seconds === undefined ? null : this.now() + input.ttl_seconds * 1000;
    const { version } = await this.store.set(session, key, {
      valueJson,
      expiresAt,
      ...(input.if_version !== undefined && { ifVersion: input.if_version }),
      ...(input.if_absent && { ifAbsent: true }),
    });
    return { key, version, expires_at: toIso(expiresAt) };
  }

  async delete(session: TenantSession, rawKey: string, ifVersion?: number) {
    requirePermission(session, 'kv:write');
    const key = validateKey(rawKey);
    await this.limiter.acquire(session, 'dynamodb');
    const deleted = await this.store.delete(session, key, ifVersion);
    if (!deleted) throw notFound(`key "${key}" not found`);
    return { key, deleted: true as const };
  }

  async list(session: TenantSession, input: KvListInput) {
    requirePermission(session, 'kv:read');
    const prefix = validatePrefix(input.prefix);
    const after = decodeCursor(input.cursor);
    await this.limiter.acquire(session, 'dynamodb');
    const page = await this.store.list(session, { prefix, limit: input.limit ?? DEFAULT_PAGE_SIZE, ...(after !== undefined && { after }) });
    return {
      keys: page.items.map((item) => ({
        key: item.key,
        version: item.version,
        expires_at: toIso(item.expiresAt),
        updated_at: toIso(item.updatedAt)!,
      })),
      next_cursor: encodeCursor(page.nextAfter),
    };
  }
}
