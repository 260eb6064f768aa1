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
}

export interface FlatEvent {
  readonly slots: Map<string, Slot>;
  /** Whether any value is inside an array (if not, no array-consistency checks are needed). */
  readonly hasArrays: boolean;
}

/**
 * Flattens an event the way event-ruler does: object keys are joined with '.', arrays add one value per
 * element at the same path (so the path of `{"a": [{"b": 1}]}`'s 1 is `a.b`), and only scalars
 * (strings, numbers, booleans, null) are values; empty arrays and empty objects contribute nothing.
 * `wanted` limits the walk to paths that are a '.'-boundary prefix of some pattern path.
 */
export function flatten(event: object, wanted: ReadonlySet<string> | null): FlatEvent {
  const slots = new Map<string, Slot>();
  let arrays = 0;

  const add = (path: string, value: Scalar, membership: Membership | null): void => {
    let slot = slots.get(path);
    if (slot === undefined) {
      slot = { values: [], memberships: [] };
      slots.set(path, slot);
    }
    slot.values.push(value);
    slot.memberships.push(membership);
  };

  const walk = (node: unknown, path: string, membership: Membership | null): void => {
    if (node === null) {
      add(path, null, membership);
      return;
    }
    switch (typeof node) {
      case 'string':
      case 'boolean':
        add(path, node, membership);
        return;
      case 'number':
        if (Number.isFinite(node)) add(path, node, membership);
        return;
      case 'object':
        break;
      default:
        return; // undefined, functions, symbols, bigints are not JSON
    }
    if (Array.isArray(node)) {
      if (node.length === 0) return;
      const id = arrays++;
      for (let i = 0; i < node.length; i++) {
        walk(node[i], path, membership === null ? [id, i] : [...membership, id, i]);
      }
      return;
    }
    walkObject(node as Record<string, unknown>, path, membership);
  };

  const walkObject = (node: Record<string, unknown>, path: string, membership: Membership | null): void => {
    for (const key of Object.keys(node)) {
      const child = path === '' ? key : `${path}.${key}`;
      if (wanted !== null && !wanted.has(child)) continue;
      walk(node[key], child, membership);
    }
  };

  walkObject(event as Record<string, unknown>, '', null);
  return { slots, hasArrays: arrays > 0 };
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
