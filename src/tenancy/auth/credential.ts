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

/**
 * A request's session with no more permissions than `ceiling` (those a long-lived session was opened with):
 * a later request on that session acts with its own credential's permissions, never more than at opening.
 */
export function narrowSession(session: TenantSession, ceiling: readonly Permission[]): TenantSession {
  const permissions = new Set<Permission>();
  for (const mine of session.permissions) {
    for (const allowed of ceiling) {
      const both = meet(mine, allowed);
      if (both) permissions.add(both);
    }
  }
  return issueSession({ ...session, permissions: [...permissions] });
}
