import { invalidArgument, type MeshError } from '../errors.js';
import { fromZodError } from './errors.js';
import type { Tool } from './tool.js';

/**
 * Deeper arguments are refused up front: validating, storing or serializing them recurses, and past a few
 * thousand levels that overflows the stack and could only be answered `internal`. (DynamoDB, behind KV on
 * AWS, allows 32 levels; EventBridge and Step Functions accept what fits their sizes.)
 */
export const MAX_ARGUMENT_DEPTH = 100;

/** The tool's arguments, checked against its schema; a MeshError naming the field when they do not fit. */
export function parseToolArguments(tool: Tool, args: unknown): unknown {
  const tooDeep = argumentNestedTooDeep(args);
  if (tooDeep !== undefined) throw tooDeep;
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) throw fromZodError(parsed.error, args, tool.input);
  return parsed.data;
}

/** invalid_argument naming the top-level argument holding objects or arrays nested over the limit. */
function argumentNestedTooDeep(args: unknown): MeshError | undefined {
  if (typeof args !== 'object' || args === null) return undefined;
  for (const [name, value] of Object.entries(args)) {
    // Iterative: the check itself must not recurse.
    const stack: [unknown, number][] = [[value, 1]];
    while (stack.length > 0) {
      const [node, depth] = stack.pop()!;
      if (typeof node !== 'object' || node === null) continue;
      if (depth > MAX_ARGUMENT_DEPTH) return invalidArgument(name, `is nested more than ${MAX_ARGUMENT_DEPTH} levels deep`);
      for (const child of Object.values(node)) stack.push([child, depth + 1]);
    }
  }
  return undefined;
}
