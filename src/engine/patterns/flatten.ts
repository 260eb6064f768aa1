import type { Scalar } from './values.js';

/**
 * Where a value sits among the arrays of the event: pairs of (array id, element index), one pair per
 * array it is nested in, outermost first. Every array instance in an event has its own id.
 */
export type Membership = readonly number[];

/** The values found at one path, with their array memberships (null = not inside any array). */
export interface Slot {
  readonly values: Scalar[];
  readonly memberships: (Membership | null)[];
  /** Whether any of the values is inside an array. */
  inArray: boolean;
}

export interface FlatEvent {
  readonly slots: Map<string, Slot>;
  /** Whether any value is inside an array (if not, no array-consistency checks are needed). */
  readonly hasArrays: boolean;
}

/** One '.'-separated step of the paths some pattern reads; `path` is the full dotted path to it. */
export class PathNode {
  children: Map<string, PathNode> | null = null;
  /** How many (pattern, path) registrations pass through this node. */
  count = 0;
  constructor(readonly path: string) {}
}

/**
 * The set of paths patterns read, as a tree of their '.'-separated steps, so flattening an event only
 * walks (and only builds path strings for) the parts some pattern can look at.
 */
export class PathTree {
  readonly root = new PathNode('');

  add(path: string): void {
    let node = this.root;
    node.count++;
    for (const step of path.split('.')) {
      node.children ??= new Map();
      let child = node.children.get(step);
      if (child === undefined) {
        child = new PathNode(node === this.root ? step : `${node.path}.${step}`);
        node.children.set(step, child);
      }
      child.count++;
      node = child;
    }
  }

  remove(path: string): void {
    let node = this.root;
    node.count--;
    for (const step of path.split('.')) {
      const child = node.children?.get(step);
      if (child === undefined) return;
      if (--child.count <= 0) {
        node.children!.delete(step);
        if (node.children!.size === 0) node.children = null;
        return;
      }
      node = child;
    }
  }
}

interface Walk {
  readonly slots: Map<string, Slot>;
  arrays: number;
}

/**
 * Values nested deeper than this (objects and arrays together) are ignored, so a hostile event cannot
 * exhaust the stack. AWS's JSON parser refuses events nested deeper than 1000 levels anyway.
 */
export const MAX_EVENT_DEPTH = 1000;

/**
 * Flattens an event the way event-ruler does: object keys are joined with '.', arrays add one value per
 * element at the same path (so the path of `{"a": [{"b": 1}]}`'s 1 is `a.b`), and only scalars
 * (strings, numbers, booleans, null) are values; empty arrays and empty objects contribute nothing.
 * Only paths in `wanted` are walked. A key that itself contains '.' continues the path just as nesting
 * does ({"a.b": 1} and {"a": {"b": 1}} both give a.b).
 */
export function flatten(event: object, wanted: PathTree): FlatEvent {
  const walk: Walk = { slots: new Map(), arrays: 0 };
  walkObject(walk, event as Record<string, unknown>, wanted.root, null, 1);
  return { slots: walk.slots, hasArrays: walk.arrays > 0 };
}

function walkObject(walk: Walk, node: Record<string, unknown>, at: PathNode, membership: Membership | null, depth: number): void {
  const children = at.children;
  if (children === null) return;
  for (const key of Object.keys(node)) {
    let child = children.get(key);
    if (child === undefined) {
      if (!key.includes('.')) continue;
      let deeper: PathNode | undefined = at;
      for (const step of key.split('.')) {
        deeper = deeper.children?.get(step);
        if (deeper === undefined) break;
      }
      if (deeper === undefined) continue;
      child = deeper;
    }
    walkValue(walk, node[key], child, membership, depth + 1);
  }
}

function walkValue(walk: Walk, value: unknown, at: PathNode, membership: Membership | null, depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      add(walk, at.path, value, membership);
      return;
    case 'number':
      if (Number.isFinite(value)) add(walk, at.path, value, membership);
      return;
    case 'object':
      break;
    default:
      return; // undefined, functions, symbols, bigints are not JSON
  }
  if (value === null) {
    add(walk, at.path, null, membership);
  } else if (depth > MAX_EVENT_DEPTH) {
    return;
  } else if (Array.isArray(value)) {
    if (value.length === 0) return;
    const id = walk.arrays++;
    for (let i = 0; i < value.length; i++) {
      walkValue(walk, value[i], at, membership === null ? [id, i] : [...membership, id, i], depth + 1);
    }
  } else {
    walkObject(walk, value as Record<string, unknown>, at, membership, depth + 1);
  }
}

function add(walk: Walk, path: string, value: Scalar, membership: Membership | null): void {
  let slot = walk.slots.get(path);
  if (slot === undefined) {
    slot = { values: [], memberships: [], inArray: false };
    walk.slots.set(path, slot);
  }
  slot.values.push(value);
  slot.memberships.push(membership);
  if (membership !== null) slot.inArray = true;
}

/** Whether two memberships can come from the same element of every array they share. */
export function consistent(a: Membership | null, b: Membership | null): boolean {
  if (a === null || b === null) return true;
  for (let i = 0; i < a.length; i += 2) {
    for (let j = 0; j < b.length; j += 2) {
      if (a[i] === b[j] && a[i + 1] !== b[j + 1]) return false;
    }
  }
  return true;
}

export function merge(a: Membership | null, b: Membership | null): Membership | null {
  if (a === null) return b;
  if (b === null) return a;
  const out = a.slice();
  outer: for (let j = 0; j < b.length; j += 2) {
    for (let i = 0; i < a.length; i += 2) if (a[i] === b[j]) continue outer;
    out.push(b[j]!, b[j + 1]!);
  }
  return out;
}

/** Turns what was passed as an event into its root object, or null when it is not a JSON object. */
export function eventRoot(event: unknown): object | null {
  let root = event;
  if (typeof root === 'string') {
    try {
      root = JSON.parse(root);
    } catch {
      return null;
    }
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return null;
  return root;
}
