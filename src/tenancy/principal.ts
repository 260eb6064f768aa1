import type { TenantSession } from './session.js';
import { isPermission, type Permission } from './tool-groups.js';

/**
 * Who acts: a user and the permissions their session held. Stored with what they set going (the starter
 * of a workflow execution, the creator of an event rule), so work done later on their behalf has no more
 * rights than they had.
 */
export interface Principal {
  userId: string;
  permissions: Permission[];
}

/** The principal of a session: its user and permissions. */
export const principalOf = (session: TenantSession): Principal => ({ userId: session.userId, permissions: [...session.permissions] });

/** A principal as JSON text for a text column (null when there is none); parsePrincipal reads it back. */
export const principalJson = (principal: Principal | undefined): string | null =>
  principal ? JSON.stringify({ userId: principal.userId, permissions: principal.permissions }) : null;

/** A stored principal read back (JSON text or an item attribute); undefined when absent or malformed. */
export function parsePrincipal(value: unknown): Principal | undefined {
  const parsed = typeof value === 'string' ? safeJson(value) : value;
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { userId, permissions } = parsed as Record<string, unknown>;
  if (typeof userId !== 'string' || !Array.isArray(permissions)) return undefined;
  return { userId, permissions: permissions.filter((p): p is Permission => typeof p === 'string' && isPermission(p)) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
