import type { DefinitionProblem } from './errors.js';
import { States, StatesError } from './errors.js';
import { invoke, type IntrinsicScope } from './intrinsics.js';
import { looksLikeInvocation, parseInvocation, type Invocation } from './intrinsic-parse.js';
import { deepFreeze, isObject, toJson } from './json.js';
import { parsePath, readPath, type Path } from './paths.js';

/**
 * Payload templates (Parameters, ItemSelector, ResultSelector): JSON in which every field whose name ends
 * in ".$", however deeply nested (arrays included), takes its value from a path, a context-object path
 * (`$$...`) or an intrinsic function, and loses the ".$" suffix. Parts without such fields are kept as
 * frozen literals and shared by every evaluation.
 */
export type Template =
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, Template])[] }
  | { readonly kind: 'array'; readonly items: readonly Template[] }
  | { readonly kind: 'path'; readonly field: string; readonly path: Path }
  | { readonly kind: 'call'; readonly field: string; readonly call: Invocation };

/** A value that is either a path or an intrinsic invocation (a ".$" field, ErrorPath, CausePath). */
export type Dynamic = { readonly kind: 'path'; readonly path: Path } | { readonly kind: 'call'; readonly call: Invocation };

export function compileDynamic(value: unknown, at: string, problems: DefinitionProblem[]): Dynamic | null {
  if (typeof value !== 'string') {
    problems.push({ path: at, message: `must be a string holding a path or an intrinsic function, not ${toJson(value)}` });
    return null;
  }
  if (looksLikeInvocation(value)) {
    const call = parseInvocation(value.trim());
    if (typeof call === 'string') {
      problems.push({ path: at, message: call });
      return null;
    }
    return { kind: 'call', call };
  }
  const path = parsePath(value, { context: true });
  if (typeof path === 'string') {
    problems.push({ path: at, message: `${path}; a field ending in ".$" must hold a path or an intrinsic function` });
    return null;
  }
  return { kind: 'path', path };
}

export function compileTemplate(value: unknown, at: string, problems: DefinitionProblem[]): Template {
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileTemplate(v, `${at}[${i}]`, problems));
    return items.every((t) => t.kind === 'literal') ? literal(value) : { kind: 'array', items };
  }
  if (!isObject(value)) return literal(value);
  const entries: [string, Template][] = [];
  const seen = new Set<string>();
  let dynamic = false;
  for (const [key, v] of Object.entries(value)) {
    const where = `${at}.${key}`;
    const isDynamic = key.endsWith('.$');
    const field = isDynamic ? key.slice(0, -2) : key;
    if (seen.has(field)) problems.push({ path: where, message: `field "${field}" appears twice once the ".$" suffix is removed` });
    seen.add(field);
    if (isDynamic) {
      dynamic = true;
      const d = compileDynamic(v, where, problems);
      entries.push([field, d === null ? literal(null) : d.kind === 'path' ? { kind: 'path', field, path: d.path } : { kind: 'call', field, call: d.call }]);
    } else {
      const t = compileTemplate(v, where, problems);
      if (t.kind !== 'literal') dynamic = true;
      entries.push([field, t]);
    }
  }
  return dynamic ? { kind: 'object', entries } : literal(value);
}

function literal(value: unknown): Template {
  return { kind: 'literal', value: deepFreeze(value) };
}

export function evaluateTemplate(template: Template, scope: IntrinsicScope): unknown {
  switch (template.kind) {
    case 'literal':
      return template.value;
    case 'array':
      return template.items.map((t) => evaluateTemplate(t, scope));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, t] of template.entries) {
        const v = evaluateTemplate(t, scope);
        if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
        else out[k] = v;
      }
      return out;
    }
    case 'path': {
      const found = readPath(template.path, scope.data, () => scope.context());
      if (!found.found) {
        const where = template.path.context ? 'the context object' : `the input ${toJson(scope.data)}`;
        throw new StatesError(States.ParameterPathFailure, `The JSONPath ${template.path.source} specified for the field ${template.field}.$ could not be found in ${where}`);
      }
      return found.value;
    }
    case 'call':
      return invoke(template.call, scope);
  }
}

/** Evaluates a path-or-intrinsic value; a path that matches nothing yields `undefined`. */
export function evaluateDynamic(dynamic: Dynamic, scope: IntrinsicScope): { found: boolean; value: unknown } {
  if (dynamic.kind === 'call') return { found: true, value: invoke(dynamic.call, scope) };
  const found = readPath(dynamic.path, scope.data, () => scope.context());
  return found.found ? found : { found: false, value: undefined };
}
