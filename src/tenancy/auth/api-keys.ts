import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config/config.js';
import { TENANT_ID_PATTERN } from '../../config/file-schema.js';
import type { ApiKeyRecord, ApiKeyStore } from '../../ports/api-key-store.js';
import { intersectPermissions } from '../permissions.js';
import { issueSession, type TenantSession } from '../session.js';
import type { Authenticated } from './credential.js';
import { isPermission, type Permission } from '../tool-groups.js';

const TOKEN = /^amk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export class AuthError extends Error {
  override name = 'AuthError';
}

/** A new key: the token is shown once; only the hash of its secret is stored. */
export function newApiKey(tenantId: string, userId: string, permissions: string[], now: number): { record: ApiKeyRecord; token: string } {
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new AuthError(`--tenant: "${tenantId}" is not a tenant id`);
  if (!userId || userId.length > 128 || /\p{Cc}/u.test(userId)) throw new AuthError('--user: 1-128 characters, no control characters');
  for (const permission of permissions) {
    if (!isPermission(permission)) throw new AuthError(`--permissions: "${permission}" is not a permission (e.g. kv:read, events:*, *)`);
  }
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return {
    record: { id, tenantId, userId, permissions, secretHash: hashSecret(secret), createdAt: now, revokedAt: null },
    token: `amk_${id}_${secret}`,
  };
}

/**
 * The auth layer for HTTP: an `Authorization: Bearer amk_…` header into a tenant session. The secret is
 * compared in constant time; revoked keys and keys of unknown tenants are refused.
 */
export async function sessionFromApiKey(store: ApiKeyStore, config: Config, authorization: string | undefined): Promise<TenantSession> {
  return (await authenticateApiKey(store, config, authorization)).session;
}

/** Like sessionFromApiKey, also naming the credential ("key:<id>"): HTTP binds sessions and feeds to it. */
export async function authenticateApiKey(store: ApiKeyStore, config: Config, authorization: string | undefined): Promise<Authenticated> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) throw new AuthError('missing bearer token');
  const parts = TOKEN.exec(match[1]!);
  if (!parts) throw new AuthError('malformed API key');
  const record = await store.getKey(parts[1]!);
  const expected = Buffer.from(record?.secretHash ?? '0'.repeat(64), 'hex');
  const actual = Buffer.from(hashSecret(parts[2]!), 'hex');
  if (!record || !timingSafeEqual(expected, actual)) throw new AuthError('unknown API key');
  if (record.revokedAt !== null) throw new AuthError('revoked API key');
  const policy = config.policyFor(record.tenantId);
  const session = issueSession({
    tenantId: record.tenantId,
    userId: record.userId,
    contextType: 'agent',
    // The policy file is the ceiling: a key's own permissions narrow the tenant's, never widen them.
    permissions: record.permissions.length > 0 ? intersectPermissions(record.permissions as Permission[], policy.permissions) : policy.permissions,
    limits: policy.limits,
    rateLimits: policy.rateLimits,
  });
  return { session, credential: { id: `key:${record.id}` } };
}
