import type { Config } from '../../config/config.js';
import { issueSession, type TenantSession } from '../session.js';

/** A stdio process acts for one tenant, named by its environment (AGENT_MESH_TENANT_ID, AGENT_MESH_USER_ID). */
export function sessionFromStdioEnvironment(config: Config): TenantSession {
  const { tenantId, userId, contextType } = config.stdio;
  const policy = config.policyFor(tenantId);
  return issueSession({
    tenantId,
    userId,
    contextType,
    permissions: policy.permissions,
    limits: policy.limits,
    rateLimits: policy.rateLimits,
  });
}
