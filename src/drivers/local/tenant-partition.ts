import { join } from 'node:path';
import { assertSession, type TenantSession } from '../../tenancy/session.js';

/**
 * The one place the embedded drivers turn a session into physical names: the `tenant` column of every
 * table and the tenant's artifact folder. Tenant ids are validated by the auth layer (letters, digits,
 * `_.-`, starting with a letter or digit), so they are safe as folder names.
 */
export function tenantPartition(session: TenantSession): string {
  assertSession(session);
  return session.tenantId;
}

export function tenantArtifactDir(artifactsRoot: string, session: TenantSession): string {
  return join(artifactsRoot, tenantPartition(session));
}
