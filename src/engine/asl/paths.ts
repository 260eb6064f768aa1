import { JSONPath } from 'jsonpath-plus';

/**
 * Paths (the States language's JsonPath subset). A Reference Path can identify only one node: it uses
 * `.name`, `['name']` and `[index]` steps only, and we walk it ourselves. Any other path (wildcards,
 * `..`, slices, filters, unions) may select several nodes; like Jayway JsonPath (which AWS follows) it
 * always yields an array of the matches, evaluated by jsonpath-plus.
 */

export type Segment = string | number;

export interface ReferencePath {
  readonly kind: 'reference';
  readonly source: string;
  /** Starts with `$$`: applies to the context object, not the state's data. */
  readonly context: boolean;
  readonly segments: readonly Segment[];
}

export interface QueryPath {
  readonly kind: 'query';
  readonly source: string;
  readonly context: boolean;
  /** The path for jsonpath-plus, starting with a single `$`. */
  readonly query: string;
}

export type Path = ReferencePath | QueryPath;

export interface PathOptions {
  /** `$$...` (the context object) is accepted. */
  readonly context?: boolean;
  /** Only Reference Paths are accepted. */
  readonly reference?: boolean;
}

const FORBIDDEN_IN_NAME = /[\s*@,:?()'"\]]/;

/** Parses a path, returning it or the reason it is not one. */
export function parsePath(source: unknown, options: PathOptions = {}): Path | string {
  if (typeof source !== 'string') return 'must be a string';
  if (!source.startsWith('$')) return `"${source}" is not a path (paths start with "$")`;
  const context = source.startsWith('$$');
  if (context && options.context !== true) return `"${source}" may not refer to the context object`;
  const body = context ? source.slice(1) : source;
  const segments = referenceSegments(body);
  if (segments !== null) return { kind: 'reference', source, context, segments };
  if (options.reference === true) return `"${source}" is not a reference path (one that selects a single node)`;
  if (!validQuery(body)) return `"${source}" is not a valid JSONPath`;
  return { kind: 'query', source, context, query: body };
}

/** The steps of a path made only of `.name`, `['name']` and `[n]`, or null when it is not one. */
function referenceSegments(path: string): Segment[] | null {
  const out: Segment[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      let j = i + 1;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      const name = path.slice(i + 1, j);
      if (name === '' || FORBIDDEN_IN_NAME.test(name)) return null;
      out.push(name);
      i = j;
    } else if (c === '[') {
      const q = path[i + 1];
      if (q === "'" || q === '"') {
        let j = i + 2;
        let name = '';
        while (j < path.length && path[j] !== q) {
          if (path[j] === '\\' && j + 1 < path.length) j++;
          name += path[j];
          j++;
        }
        if (path[j] !== q || path[j + 1] !== ']') return null;
        out.push(name);
        i = j + 2;
      } else {
        const j = path.indexOf(']', i);
        if (j < 0) return null;
        const digits = path.slice(i + 1, j).trim();
        if (!/^\d+$/.test(digits)) return null;
        out.push(Number(digits));
        i = j + 1;
      }
    } else {
      return null;
    }
  }
  return out;
}

function validQuery(path: string): boolean {
  if (path.length < 2 || !/^\$[.[]/.test(path)) return false;
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (quote !== null) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      if (--depth < 0) return false;
    }
  }
  if (depth !== 0 || quote !== null) return false;
  try {
    JSONPath({ path, json: {}, wrap: true, eval: 'safe' });
    return true;
  } catch {
    return false;
  }
}

export type Lookup = { readonly found: true; readonly value: unknown } | { readonly found: false };

const NOT_FOUND: Lookup = { found: false };

/** Reads a path from the data (or from the context object for `$$` paths). */
export function readPath(path: Path, data: unknown, context: () => unknown): Lookup {
  const root = path.context ? context() : data;
  if (path.kind === 'reference') return walk(root, path.segments);
  const matches: unknown = JSONPath({ path: path.query, json: root as object, wrap: true, eval: 'safe' });
  return { found: true, value: Array.isArray(matches) ? matches : [] };
}

export function walk(root: unknown, segments: readonly Segment[]): Lookup {
  let node = root;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (typeof s === 'number') {
      if (!Array.isArray(node) || s >= node.length) return NOT_FOUND;
      node = node[s];
    } else {
      if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.prototype.hasOwnProperty.call(node, s)) return NOT_FOUND;
      node = (node as Record<string, unknown>)[s];
    }
  }
  return { found: true, value: node };
}

/** A path as Jayway JsonPath prints it in AWS's messages: `$['a']['b'][0]`. */
export function bracketed(path: Path): string {
  if (path.kind === 'query') return path.source;
  return `$${path.segments.map((s) => (typeof s === 'number' ? `[${s}]` : `['${s}']`)).join('')}`;
}

export const IDENTITY: ReferencePath = Object.freeze({ kind: 'reference', source: '$', context: false, segments: Object.freeze([]) as readonly Segment[] });
