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

export function asMeshError(error: unknown): MeshError {
  if (error instanceof MeshError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/SQLITE_BUSY|database is locked/i.test(message)) {
    return new MeshError('unavailable', 'the embedded store is busy; retry shortly');
  }
  return new MeshError('internal', 'internal error');
}
