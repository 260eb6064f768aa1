import type { ContextType } from '../config/config.js';
import type { RateLimitRules } from '../limits/services.js';
import type { ResourceLimits } from '../limits/resource-limits.js';
import type { Permission } from './tool-groups.js';

export interface TenantContext {
  readonly tenantId: string;
  readonly userId: string;
  readonly contextType: ContextType;
  readonly permissions: readonly Permission[];
  readonly limits: Readonly<ResourceLimits>;
  readonly rateLimits: Readonly<RateLimitRules>;
}

const issued = new WeakSet<object>();
declare const brand: unique symbol;

/**
 * The tenant every call acts for. Only the auth layer makes one (see ./auth/); every service and port
 * method takes it first, and drivers derive physical names from it. The brand keeps a plain object
 * from passing the type check, and `assertSession` catches a forged one at run time.
 */
export type TenantSession = TenantContext & { readonly [brand]: 'TenantSession' };

/** For the auth layer only: an architecture test fails if anything else imports it. */
export function issueSession(context: TenantContext): TenantSession {
  const session = Object.freeze({
    ...context,
    permissions: Object.freeze([...context.permissions]),
    limits: Object.freeze({ ...context.limits }),
    rateLimits: Object.freeze({ ...context.rateLimits }),
  });
  issued.add(session);
  return session as TenantSession;
}

export function assertSession(session: TenantSession): void {
  if (!issued.has(session)) throw new Error('not a TenantSession issued by the auth layer');
}
