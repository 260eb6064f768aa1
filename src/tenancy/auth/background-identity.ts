import type { Config } from '../../config/config.js';
import { issueSession, type TenantSession } from '../session.js';

const MAX_CACHED = 1000;

/**
 * Work the server does later on a tenant's behalf (alert deliveries, workflow steps) acts as that tenant,
 * with its configured permissions and limits, as the service user "agent-mesh".
 */
export function backgroundSessions(config: Config): (tenantId: string) => TenantSession {
  const cache = new Map<string, TenantSession>();
  return (tenantId) => {
    let session = cache.get(tenantId);
    if (!session) {
      const policy = config.policyFor(tenantId);
      session = issueSession({
        tenantId,
        userId: 'agent-mesh',
        contextType: 'service',
        permissions: policy.permissions,
        limits: policy.limits,
        rateLimits: policy.rateLimits,
      });
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(tenantId, session);
    }
    return session;
  };
}
