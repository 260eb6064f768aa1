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
  // The common case, arguments neither deep nor holding "__proto__", costs one quick pass and no paths.
  const { tooDeep, protoPaths } = needsALook(args) ? walkArguments(args) : { tooDeep: undefined, protoPaths: [] };
  if (tooDeep !== undefined) throw tooDeep;
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) throw fromZodError(parsed.error, args, tool.input);
  // zod rebuilds objects and records without a "__proto__" key: refused, not silently dropped (metadata).
  for (const path of protoPaths) {
    const rebuilt = valueAtPath(parsed.data, path);
    if (typeof rebuilt === 'object' && rebuilt !== null && !Object.hasOwn(rebuilt, '__proto__')) {
      throw invalidArgument([...path, '__proto__'].join('.'), 'is not a name agent-mesh can store');
    }
  }
  return parsed.data;
}

/** Whether the arguments nest over the limit or hold a "__proto__" key anywhere: then walkArguments says where. */
function needsALook(args: unknown): boolean {
  const nodes: unknown[] = [args];
  const depths: number[] = [0];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > MAX_ARGUMENT_DEPTH || Object.hasOwn(node, '__proto__')) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child !== 'object' || child === null) continue;
      nodes.push(child);
      depths.push(depth + 1);
    }
  }
  return false;
}

type Path = readonly string[];
/** A place in the arguments, linked to its parent: paths are spelled out only for the rare "__proto__". */
interface Place {
  key: string;
  depth: number;
  parent?: Place;
}

const pathOf = (place: Place): Path => (place.parent ? [...pathOf(place.parent), place.key] : [place.key]);

/**
 * One iterative pass (it must not recurse itself): invalid_argument naming the top-level argument that
 * holds objects or arrays nested over the limit, and where objects have an own "__proto__" key.
 */
function walkArguments(args: unknown): { tooDeep?: MeshError; protoPaths: Path[] } {
  const protoPaths: Path[] = [];
  if (typeof args !== 'object' || args === null) return { protoPaths };
  const stack: [unknown, Place][] = Object.entries(args).map(([key, value]) => [value, { key, depth: 1 }]);
  while (stack.length > 0) {
    const [node, place] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (place.depth > MAX_ARGUMENT_DEPTH) return { tooDeep: invalidArgument(pathOf(place)[0]!, `is nested more than ${MAX_ARGUMENT_DEPTH} levels deep`), protoPaths };
    if (Object.hasOwn(node, '__proto__')) protoPaths.push(pathOf(place));
    for (const [key, child] of Object.entries(node)) stack.push([child, { key, depth: place.depth + 1, parent: place }]);
  }
  return { protoPaths };
}

function valueAtPath(value: unknown, path: Path): unknown {
  let node = value;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
