import type { DefinitionProblem } from './errors.js';
import { States, StatesError } from './errors.js';
import { isObject, toJson } from './json.js';
import { parsePath, readPath, type Path } from './paths.js';
import { compareInstants, parseTimestamp } from './timestamp.js';

/**
 * Choice Rules. Comparisons are type-sensitive and never coerce: a value of the wrong type simply does not
 * match. A Variable (or a ...Path operand) that selects nothing is a States.Runtime error ("The choice
 * state's condition path references an invalid value."), except under IsPresent, which tests exactly that;
 * And/Or stop at the first rule that settles them, so `And: [IsPresent, ...]` guards a comparison.
 */
export type Rule =
  | { readonly kind: 'and' | 'or'; readonly rules: readonly Rule[] }
  | { readonly kind: 'not'; readonly rule: Rule }
  | Test;

interface Test {
  readonly kind: 'test';
  readonly variable: Path;
  readonly operator: string;
  readonly compare: (value: unknown, operand: unknown) => boolean;
  readonly operand: unknown;
  readonly operandPath: Path | null;
}

type Kind = 'string' | 'number' | 'boolean' | 'timestamp';

const ORDER: Record<string, (c: number) => boolean> = {
  Equals: (c) => c === 0,
  LessThan: (c) => c < 0,
  GreaterThan: (c) => c > 0,
  LessThanEquals: (c) => c <= 0,
  GreaterThanEquals: (c) => c >= 0,
};

function comparator(kind: Kind, order: (c: number) => boolean): (a: unknown, b: unknown) => boolean {
  switch (kind) {
    case 'string':
      return (a, b) => typeof a === 'string' && typeof b === 'string' && order(a < b ? -1 : a > b ? 1 : 0);
    case 'number':
      return (a, b) => typeof a === 'number' && typeof b === 'number' && order(a < b ? -1 : a > b ? 1 : 0);
    case 'boolean':
      return (a, b) => typeof a === 'boolean' && typeof b === 'boolean' && a === b;
    case 'timestamp':
      return (a, b) => {
        const x = parseTimestamp(a);
        const y = parseTimestamp(b);
        return x !== null && y !== null && order(compareInstants(x, y));
      };
  }
}

interface OperatorSpec {
  readonly kind: Kind | 'type' | 'matches';
  readonly path: boolean;
  readonly compare: (value: unknown, operand: unknown) => boolean;
}

const OPERATORS = new Map<string, OperatorSpec>();
for (const [prefix, kind] of [['String', 'string'], ['Numeric', 'number'], ['Timestamp', 'timestamp']] as const) {
  for (const [suffix, order] of Object.entries(ORDER)) {
    const compare = comparator(kind, order);
    OPERATORS.set(`${prefix}${suffix}`, { kind, path: false, compare });
    OPERATORS.set(`${prefix}${suffix}Path`, { kind, path: true, compare });
  }
}
OPERATORS.set('BooleanEquals', { kind: 'boolean', path: false, compare: comparator('boolean', ORDER.Equals!) });
OPERATORS.set('BooleanEqualsPath', { kind: 'boolean', path: true, compare: comparator('boolean', ORDER.Equals!) });
OPERATORS.set('StringMatches', { kind: 'matches', path: false, compare: (a, re) => typeof a === 'string' && (re as RegExp).test(a) });
const TYPE_TESTS: Record<string, (v: unknown) => boolean> = {
  IsNull: (v) => v === null,
  IsPresent: () => true,
  IsNumeric: (v) => typeof v === 'number',
  IsString: (v) => typeof v === 'string',
  IsBoolean: (v) => typeof v === 'boolean',
  IsTimestamp: (v) => parseTimestamp(v) !== null,
};
for (const [name, test] of Object.entries(TYPE_TESTS)) OPERATORS.set(name, { kind: 'type', path: false, compare: (v, expected) => test(v) === expected });

/** StringMatches: "*" matches any run of characters; "\*" is a literal "*" and "\\" a literal "\". */
export function wildcardRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) {
      source += `\\${pattern[++i]}`;
    } else if (c === '*') {
      source += '.*';
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 's');
}

/** Compiles a rule; `top` rules carry the Next (checked by the caller), nested ones must not. */
export function compileRule(value: unknown, at: string, top: boolean, problems: DefinitionProblem[]): Rule | null {
  if (!isObject(value)) {
    problems.push({ path: at, message: 'a choice rule must be an object' });
    return null;
  }
  const allowed = new Set(['Comment', ...(top ? ['Next'] : [])]);
  if (!top && 'Next' in value) problems.push({ path: `${at}.Next`, message: 'only top-level choice rules may have a Next field' });
  for (const k of ['Assign', 'Condition', 'Output']) {
    if (k in value) problems.push({ path: `${at}.${k}`, message: `${k} is not supported (JSONata and variables are not available)` });
  }
  for (const combinator of ['And', 'Or'] as const) {
    if (combinator in value) {
      const list = value[combinator];
      checkOnly(value, new Set([...allowed, combinator]), at, problems);
      if (!Array.isArray(list) || list.length === 0) {
        problems.push({ path: `${at}.${combinator}`, message: `must be a non-empty array of choice rules` });
        return null;
      }
      const rules = list.map((r, i) => compileRule(r, `${at}.${combinator}[${i}]`, false, problems));
      return rules.every((r): r is Rule => r !== null) ? { kind: combinator === 'And' ? 'and' : 'or', rules } : null;
    }
  }
  if ('Not' in value) {
    checkOnly(value, new Set([...allowed, 'Not']), at, problems);
    const rule = compileRule(value.Not, `${at}.Not`, false, problems);
    return rule === null ? null : { kind: 'not', rule };
  }
  const operators = Object.keys(value).filter((k) => OPERATORS.has(k));
  if (operators.length !== 1) {
    problems.push({ path: at, message: operators.length === 0 ? 'a choice rule needs And, Or, Not or a comparison operator' : `a choice rule has exactly one comparison operator, not ${operators.join(', ')}` });
    return null;
  }
  const operator = operators[0]!;
  checkOnly(value, new Set([...allowed, 'Variable', operator]), at, problems);
  const variable = parsePath(value.Variable, { context: true });
  if (typeof variable === 'string') {
    problems.push({ path: `${at}.Variable`, message: 'Variable' in value ? variable : 'is required' });
    return null;
  }
  const spec = OPERATORS.get(operator)!;
  const raw = value[operator];
  const where = `${at}.${operator}`;
  if (spec.path) {
    const operandPath = parsePath(raw, { context: true });
    if (typeof operandPath === 'string') {
      problems.push({ path: where, message: operandPath });
      return null;
    }
    return { kind: 'test', variable, operator, compare: spec.compare, operand: undefined, operandPath };
  }
  let operand: unknown = raw;
  const bad = (expected: string): null => {
    problems.push({ path: where, message: `must be ${expected}, not ${toJson(raw)}` });
    return null;
  };
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string') return bad('a string');
      break;
    case 'number':
      if (typeof raw !== 'number') return bad('a number');
      break;
    case 'boolean':
    case 'type':
      if (typeof raw !== 'boolean') return bad('a boolean');
      break;
    case 'timestamp':
      if (parseTimestamp(raw) === null) return bad('a timestamp like "2016-03-14T01:59:00Z"');
      break;
    case 'matches':
      if (typeof raw !== 'string') return bad('a string');
      operand = wildcardRegex(raw);
      break;
  }
  return { kind: 'test', variable, operator, compare: spec.compare, operand, operandPath: null };
}

function checkOnly(value: Record<string, unknown>, allowed: Set<string>, at: string, problems: DefinitionProblem[]): void {
  for (const k of Object.keys(value)) {
    if (!allowed.has(k) && !['Assign', 'Condition', 'Output', 'Next'].includes(k)) problems.push({ path: `${at}.${k}`, message: `unexpected field "${k}" in this choice rule` });
  }
}

function invalidPath(path: Path): StatesError {
  return new StatesError(States.Runtime, `Invalid path '${path.source}': The choice state's condition path references an invalid value.`);
}

export function evaluateRule(rule: Rule, data: unknown, context: () => unknown): boolean {
  switch (rule.kind) {
    case 'and':
      return rule.rules.every((r) => evaluateRule(r, data, context));
    case 'or':
      return rule.rules.some((r) => evaluateRule(r, data, context));
    case 'not':
      return !evaluateRule(rule.rule, data, context);
    case 'test': {
      const found = readPath(rule.variable, data, context);
      if (rule.operator === 'IsPresent') return found.found === rule.operand;
      if (!found.found) throw invalidPath(rule.variable);
      let operand = rule.operand;
      if (rule.operandPath !== null) {
        const other = readPath(rule.operandPath, data, context);
        if (!other.found) throw invalidPath(rule.operandPath);
        operand = other.value;
      }
      return rule.compare(found.value, operand);
    }
  }
}
