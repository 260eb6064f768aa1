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

/** The narrower of two permissions, if they overlap at all ('*' ⊇ 'kv:*' ⊇ 'kv:read'). */
function meet(a: Permission, b: Permission): Permission | undefined {
  if (a === '*') return b;
  if (b === '*') return a;
  const [groupA, actionA] = a.split(':');
  const [groupB, actionB] = b.split(':');
  if (groupA !== groupB) return undefined;
  if (actionA === '*') return b;
  if (actionB === '*' || actionA === actionB) return a;
  return undefined;
}

/** What both permission lists allow: a call passes both lists exactly when it passes the result. */
export function intersectPermissions(a: readonly Permission[], b: readonly Permission[]): Permission[] {
  const result = new Set<Permission>();
  for (const x of a) {
    for (const y of b) {
      const both = meet(x, y);
      if (both) result.add(both);
    }
  }
  return [...result];
}
