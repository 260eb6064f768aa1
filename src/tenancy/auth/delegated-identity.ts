import type { Config } from '../../config/config.js';
import { intersectPermissions } from '../permissions.js';
import type { Principal } from '../principal.js';
import { issueSession, type TenantSession } from '../session.js';
import { backgroundSessions } from './background-identity.js';

/**
 * Work done later on behalf of a user (a workflow execution's Task states, a rule's workflow starts) acts
 * as that user: the permissions their session held when they set it going, narrowed to the tenant's
 * current policy (so narrowing a tenant's policy applies to what is already running), with the tenant's
 * limits and rate limits, context type "workflow". With no principal — work stored before principals were
 * recorded — it keeps the old behaviour: the tenant's own permissions, as the service user "agent-mesh".
 */
export function delegatedSessions(config: Config): (tenantId: string, principal: Principal | undefined) => TenantSession {
  const background = backgroundSessions(config);
  return (tenantId, principal) => {
    if (!principal) return background(tenantId);
    const policy = config.policyFor(tenantId);
    return issueSession({
      tenantId,
      userId: principal.userId,
      contextType: 'workflow',
      permissions: intersectPermissions(principal.permissions, policy.permissions),
      limits: policy.limits,
      rateLimits: policy.rateLimits,
    });
  };
}
