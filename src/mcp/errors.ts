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
  return {
    isError: true,
    content: [{ type: 'text', text: `${error.code}: ${error.message}` }],
    structuredContent: { error: { code: error.code, message: error.message, ...error.details } },
  };
}

/**
 * One problem zod found, as invalid_argument naming the field. An argument the tool does not know comes
 * first, with the ones it does: a misnamed argument is the likeliest cause of the rest (the one it was
 * meant to be is then missing).
 */
export function fromZodError(error: z.ZodError, input?: unknown, schema?: z.ZodObject): MeshError {
  const issue = error.issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? error.issues[0]!;
  const field = issue.path.map(String).join('.') || 'arguments';
  if (issue.code === 'unrecognized_keys') {
    const [unknown] = issue.keys;
    const known = schema && issue.path.length === 0 ? ` (its arguments: ${Object.keys(schema.shape).join(', ')})` : '';
    return invalidArgument(field === 'arguments' ? unknown! : `${field}.${unknown}`, `is not a known argument of this tool${known}`);
  }
  return invalidArgument(field, issueText(issue, valueAt(input, issue.path)));
}
