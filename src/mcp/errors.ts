import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ERROR_CODES, MeshError, invalidArgument } from '../errors.js';
import { issueText, valueAt } from '../config/issue-text.js';

export const errorOutputSchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    field: z.string().optional(),
    retry_after_ms: z.number().int().optional(),
    limit: z.string().optional(),
    limit_value: z.number().optional(),
  }),
});

/** A tool error: isError, a one-line text for the model, and the same in structuredContent. */
export function toolError(error: MeshError): CallToolResult {
  const message = oneLine(error.message);
  return {
    isError: true,
    content: [{ type: 'text', text: `${error.code}: ${message}` }],
    structuredContent: { error: { code: error.code, message, ...error.details } },
  };
}

/** Control characters (a caller's name with a newline in it) written as JSON escapes, so a message stays one line. */
function oneLine(message: string): string {
  const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  return message.replace(/[\u0000-\u001f\u007f]/g, (char) => named[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * One problem zod found, as invalid_argument naming the field. An argument the tool does not know comes
 * first, with the ones it does: a misnamed argument is the likeliest cause of the rest (the one it was
 * meant to be is then missing).
 */
export function fromZodError(error: z.ZodError, input?: unknown, schema?: z.ZodObject): MeshError {
  const issue = tightestBound(error.issues, error.issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? error.issues[0]!);
  const field = issue.path.map(String).join('.') || 'arguments';
  if (issue.code === 'unrecognized_keys') {
    const [unknown] = issue.keys;
    const known = schema && issue.path.length === 0 ? ` (its arguments: ${Object.keys(schema.shape).join(', ')})` : '';
    return invalidArgument(field === 'arguments' ? unknown! : `${field}.${unknown}`, `is not a known argument of this tool${known}`);
  }
  return invalidArgument(field, issueText(issue, valueAt(input, issue.path)));
}

/**
 * Of several bounds one value breaks, the one the tool sets: zod checks that an integer is a safe one
 * first, and "must be at most 9007199254740991" would hide the real limit (ttl_seconds: at most 315360000).
 */
function tightestBound(issues: readonly z.core.$ZodIssue[], issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'too_big' && issue.code !== 'too_small') return issue;
  const samePath = (other: z.core.$ZodIssue) => other.code === issue.code && other.path.join('\u0000') === issue.path.join('\u0000');
  const bound = (other: z.core.$ZodIssue) => Number(other.code === 'too_big' ? other.maximum : other.code === 'too_small' ? other.minimum : NaN);
  return issues.filter(samePath).reduce((tightest, other) =>
    issue.code === 'too_big' ? (bound(other) < bound(tightest) ? other : tightest) : bound(other) > bound(tightest) ? other : tightest,
  );
}
