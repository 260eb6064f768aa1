import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { TenantSession } from '../tenancy/session.js';

/** Where a transport puts the session of one request in `AuthInfo.extra` (see requestAuth). */
const KEY = 'agentMeshSession';

/**
 * The AuthInfo a transport attaches to a request (`req.auth` for the SDK's Streamable HTTP transport) so
 * the call acts as this request's own session (HTTP re-authenticates every request of a session).
 */
export const requestAuth = (credentialId: string, session: TenantSession): AuthInfo => ({
  token: '',
  clientId: credentialId,
  scopes: [...session.permissions],
  extra: { [KEY]: session },
});

/** The session a request acts as: the one its transport authenticated, else the one the MCP server was made for. */
export function callerSession(session: TenantSession, extra: { authInfo?: AuthInfo }): TenantSession {
  const own = extra.authInfo?.extra?.[KEY];
  return own ? (own as TenantSession) : session;
}
