/** The one error type of agent-mesh. Every layer throws it; the MCP layer turns it into a tool result. */
export const ERROR_CODES = [
  'invalid_argument',
  'not_found',
  'permission_denied',
  'rate_limited',
  'quota_exceeded',
  'conflict',
  'unavailable',
  'timeout',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorDetails {
  /** The input field the error is about, as a dotted path. */
  field?: string;
  /** For rate_limited: how long until a call can succeed. */
  retry_after_ms?: number;
  /** For quota_exceeded: the name of the quota and its value. */
  limit?: string;
  limit_value?: number;
}

export class MeshError extends Error {
  /** Internal only (not sent to clients): trying again may succeed, e.g. nothing reached an upstream. */
  readonly retryable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options: { retryable?: boolean } = {},
  ) {
    super(message);
    this.name = 'MeshError';
    this.retryable = options.retryable ?? false;
  }
}

export const invalidArgument = (field: string, message: string): MeshError =>
  new MeshError('invalid_argument', `${field}: ${message}`, { field });

export const notFound = (message: string): MeshError => new MeshError('not_found', message);

export const conflict = (message: string): MeshError => new MeshError('conflict', message);

export const quotaExceeded = (limit: string, limitValue: number, message: string): MeshError =>
  new MeshError('quota_exceeded', message, { limit, limit_value: limitValue });

/** What went wrong with a service agent-mesh stands on (AWS, Redis, an SMTP server), seen from its client. */
export type DependencyProblem = 'unreachable' | 'throttled' | 'credentials' | 'denied' | 'missing';

const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EPIPE|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)$/;
const CREDENTIAL_ERRORS = /CredentialsProviderError|ExpiredToken|InvalidClientTokenId|UnrecognizedClient|InvalidSignature|SignatureDoesNotMatch|InvalidAccessKeyId/;
const DENIED_ERRORS = /AccessDenied|Unauthorized|Forbidden|NotAuthorized/i;
const THROTTLING_ERRORS = /Throttl|TooManyRequests|RequestLimitExceeded|ProvisionedThroughputExceeded|SlowDown|ServiceUnavailable|InternalFailure|InternalServerError/;
const MISSING_RESOURCE_ERRORS = /^(ResourceNotFoundException|NoSuchBucket)$/;

/**
 * Classifies a client library's error by its shape (Node's socket codes, the AWS SDK's error names and
 * `$metadata`) without importing the library; undefined when it is not a dependency failing.
 */
export function dependencyProblem(error: unknown): DependencyProblem | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number }; $fault?: unknown };
  const name = typeof e.name === 'string' ? e.name : '';
  if ((typeof e.code === 'string' && NETWORK_CODES.test(e.code)) || name === 'TimeoutError' || name === 'RequestTimeout' || /socket hang up/.test(String(e.message))) {
    return 'unreachable';
  }
  if (CREDENTIAL_ERRORS.test(name)) return 'credentials';
  if (typeof e.$metadata !== 'object' || e.$metadata === null) return undefined; // the rest are AWS SDK service errors
  const status = e.$metadata.httpStatusCode;
  if (DENIED_ERRORS.test(name) || status === 403) return 'denied';
  if (THROTTLING_ERRORS.test(name) || (status !== undefined && status >= 500) || e.$fault === 'server') return 'throttled';
  if (MISSING_RESOURCE_ERRORS.test(name)) return 'missing';
  return undefined;
}

/** What a tenant is told: nothing of the deployment (endpoints, account, role names); the log has the detail. */
const DEPENDENCY_MESSAGES: Record<DependencyProblem, string> = {
  unreachable: 'a service agent-mesh depends on did not answer; retry later (the operator can run agent-mesh doctor)',
  throttled: 'a service agent-mesh depends on is throttling or failing; retry shortly',
  credentials: 'agent-mesh has no usable credentials for its backend (the operator can run agent-mesh doctor)',
  denied: 'agent-mesh\'s backend refused it access (the operator can run agent-mesh doctor)',
  missing: 'a table, bucket or bus agent-mesh needs does not exist (the operator can run agent-mesh doctor)',
};

/** The embedded store's own troubles (SQLite's result codes, the file system's), for the local user to fix. */
function embeddedStoreProblem(error: unknown): string | undefined {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  if (/^SQLITE_(BUSY|LOCKED)/.test(code) || /database is locked/i.test(message)) return 'the embedded store is busy; retry shortly';
  if (/^SQLITE_FULL/.test(code) || code === 'ENOSPC' || code === 'EDQUOT') return 'the data folder\'s disk is full; free some space and retry';
  if (/^SQLITE_READONLY/.test(code) || code === 'EROFS') return 'the data folder is read-only';
  return undefined;
}

export function asMeshError(error: unknown): MeshError {
  if (error instanceof MeshError) return error;
  const embedded = embeddedStoreProblem(error);
  if (embedded) return new MeshError('unavailable', embedded);
  const problem = dependencyProblem(error);
  if (problem) return new MeshError('unavailable', DEPENDENCY_MESSAGES[problem]);
  return new MeshError('internal', 'internal error');
}
