import { DEFAULT_RATE_LIMITS, type RateLimitRules } from '../../src/limits/services.js';
import { DEFAULT_RESOURCE_LIMITS, type ResourceLimits } from '../../src/limits/resource-limits.js';
import { issueSession, type TenantSession } from '../../src/tenancy/session.js';
import type { Permission } from '../../src/tenancy/tool-groups.js';

/** Tests stand in for the auth layer. */
export function testSession(
  tenantId: string,
  options: { permissions?: Permission[]; limits?: Partial<ResourceLimits>; rateLimits?: Partial<RateLimitRules> } = {},
): TenantSession {
  return issueSession({
    tenantId,
    userId: 'tester',
    contextType: 'user',
    permissions: options.permissions ?? ['*'],
    limits: { ...DEFAULT_RESOURCE_LIMITS, ...options.limits },
    rateLimits: { ...DEFAULT_RATE_LIMITS, ...options.rateLimits },
  });
}
