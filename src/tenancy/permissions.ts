import { MeshError } from '../errors.js';
import type { TenantSession } from './session.js';
import type { Permission } from './tool-groups.js';

export function hasPermission(session: TenantSession, needed: Permission): boolean {
  if (session.permissions.includes('*') || session.permissions.includes(needed)) return true;
  const group = needed.split(':')[0];
  return session.permissions.includes(`${group}:*` as Permission);
}

export function requirePermission(session: TenantSession, needed: Permission): void {
  if (!hasPermission(session, needed)) {
    throw new MeshError('permission_denied', `tenant "${session.tenantId}" user "${session.userId}" lacks permission ${needed}`);
  }
}
