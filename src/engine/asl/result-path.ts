import { States, StatesError } from './errors.js';
import { isObject, toJson } from './json.js';
import type { ReferencePath, Segment } from './paths.js';

/**
 * Places a result into the state's raw input at a ResultPath (null: the input unchanged). Missing objects
 * along the path are created; an existing field is replaced in place (keeping the key order) and a new one
 * is added last. Only the nodes on the path are copied: the rest is shared with the input.
 */
export function applyResultPath(input: unknown, path: ReferencePath | null, result: unknown): unknown {
  if (path === null) return input;
  if (path.segments.length === 0) return result;
  const out = place(input, path.segments, 0, result);
  if (out === FAILED) {
    throw new StatesError(States.ResultPathMatchFailure, `Unable to apply ReferencePath ${path.source} to input ${toJson(input)}`);
  }
  return out;
}

const FAILED = Symbol('failed');

function place(node: unknown, segments: readonly Segment[], i: number, result: unknown): unknown {
  const s = segments[i]!;
  const last = i === segments.length - 1;
  if (typeof s === 'number') {
    if (!Array.isArray(node) || s >= node.length) return FAILED;
    const child = last ? result : place(node[s], segments, i + 1, result);
    if (child === FAILED) return FAILED;
    const copy = node.slice();
    copy[s] = child;
    return copy;
  }
  if (!isObject(node)) return FAILED;
  let child: unknown = result;
  if (!last) {
    const existing = Object.prototype.hasOwnProperty.call(node, s) ? node[s] : undefined;
    if (existing === undefined && typeof segments[i + 1] === 'number') return FAILED;
    child = place(existing === undefined ? {} : existing, segments, i + 1, result);
    if (child === FAILED) return FAILED;
  }
  return { ...node, [s]: child };
}
