import { intersectPermissions } from '../permissions.js';
import { issueSession, type TenantSession } from '../session.js';
import type { Permission } from '../tool-groups.js';

/** Who presented a request: one API key, one JWT subject of one issuer, or the local single tenant (`--auth none`). */
export interface Credential {
  /** The same for every request made with this credential: "key:<id>", `jwt:["<issuer>","<subject>"]` or "local". */
  readonly id: string;
  /** When it stops being accepted (a JWT's `exp`), in ms since the epoch; none for API keys. */
  readonly expiresAt?: number;
}

/** What the auth layer makes of one request: the session it acts as and the credential it came with. */
export interface Authenticated {
  session: TenantSession;
  credential: Credential;
}

/**
 * A request's session with no more permissions than `ceiling` (those a long-lived session was opened with):
 * a later request on that session acts with its own credential's permissions, never more than at opening.
 */
export function narrowSession(session: TenantSession, ceiling: readonly Permission[]): TenantSession {
  return issueSession({ ...session, permissions: intersectPermissions(session.permissions, ceiling) });
}
