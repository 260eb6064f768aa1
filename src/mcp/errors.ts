import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ERROR_CODES, MeshError, invalidArgument } from '../errors.js';

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

/** The first problem zod found, as invalid_argument naming the field. */
export function fromZodError(error: z.ZodError): MeshError {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join('.') || 'arguments';
  if (issue.code === 'unrecognized_keys') {
    const [unknown] = issue.keys;
    return invalidArgument(field === 'arguments' ? unknown! : `${field}.${unknown}`, 'is not a known argument of this tool');
  }
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return invalidArgument(field, 'is required');
  return invalidArgument(field, issue.message.replace(/^Invalid input: /, ''));
}
