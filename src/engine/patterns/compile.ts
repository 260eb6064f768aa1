import { WILDCARD_COMPLEXITY_LIMIT, wildcardComplexity } from './complexity.js';
import { PatternError, describe } from './errors.js';
import { PathTree, consistent, eventRoot, flatten, merge, type FlatEvent, type Membership, type Slot } from './flatten.js';
import { inRange, ipHex, parseCidr } from './ip.js';
import {
  ignoreCaseRegex,
  numericEqualsPredicate,
  numericPredicate,
  numericProblem,
  parseWildcard,
  wildcardMatches,
  type Predicate,
  type Scalar,
} from './values.js';

/** What every compiled pattern offers. */
export interface CompiledPattern {
  matches(event: unknown): boolean;
}

export interface CompileOptions {
  /**
   * Largest pattern, in characters of its JSON text. EventBridge's default quota for the event pattern
   * size is 2048 characters (raisable to 4096).
   */
  readonly maxLength?: number;
  /** Largest product of the lengths of a pattern's `$or` arrays (AWS: 1000 rule combinations). */
  readonly maxAlternatives?: number;
}

export const DEFAULT_MAX_PATTERN_LENGTH = 2048;
export const DEFAULT_MAX_ALTERNATIVES = 1000;

/** One field (path) of one alternative of a pattern, with everything its match values accept. */
export interface Leaf {
  readonly path: string;
  /** Matches when the event has no (array-consistent) value at the path: `{"exists": false}`. */
  readonly absent: boolean;
  /** Matches one value present at the path. */
  readonly test: Predicate;
  /** When every match value is an exact scalar (and there is no exists:false): those values. */
  readonly exact: readonly Scalar[] | null;
  /**
   * When every match value is an exact string or a case-sensitive prefix (and there is no exists): those
   * strings; a matching value starts with one of them.
   */
  readonly prefixes: readonly string[] | null;
}

/** A field whose values are all exact in every alternative: rules can be indexed by it. */
export interface Anchor {
  readonly path: string;
  readonly values: readonly Scalar[];
}

/** A field whose values are all exact strings or prefixes in every alternative. */
export interface PrefixAnchor {
  readonly path: string;
  readonly prefixes: readonly string[];
}

/** Field names that may not be used inside `$or` (event-ruler's RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP). */
const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case', 'date-after', 'date-on-or-after',
  'date-before', 'date-on-or-before', 'in-date-range', 'ip-address-in-range', 'ip-address-not-in-range',
]);

const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists', 'cidr', 'exactly'];

export class CompiledEventPattern implements CompiledPattern {
  /** The alternatives ($or multiplied out); each is its fields sorted by path. */
  readonly branches: readonly (readonly Leaf[])[];
  /** Every path the pattern reads (once each). */
  readonly paths: readonly string[];
  /** The same paths as a tree: the only parts of an event worth walking. */
  private readonly tree = new PathTree();
  /** Fields that could index this pattern by exact value. */
  readonly anchors: readonly Anchor[];
  /** Fields that could index this pattern by prefix. */
  readonly prefixAnchors: readonly PrefixAnchor[];
  /** Paths every alternative needs a value at: the pattern cannot match an event without them. */
  readonly required: readonly string[];

  constructor(branches: Leaf[][]) {
    for (const b of branches) b.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
    this.branches = branches;
    this.paths = [...new Set(branches.flatMap((b) => b.map((leaf) => leaf.path)))];
    for (const path of this.paths) this.tree.add(path);
    this.anchors = findAnchors(branches, (leaf) => leaf.exact).map(([path, values]) => ({ path, values }));
    this.prefixAnchors = findAnchors(branches, (leaf) => leaf.prefixes).map(([path, prefixes]) => ({ path, prefixes }));
    this.required = findAnchors(branches, (leaf) => (leaf.absent ? null : [])).map(([path]) => path);
  }

  matches(event: unknown): boolean {
    const root = eventRoot(event);
    if (root === null) return false;
    return this.matchesFlat(flatten(root, this.tree));
  }

  /** Matches an already flattened event (which must include at least this pattern's paths). */
  matchesFlat(event: FlatEvent): boolean {
    const branches = this.branches;
    for (let b = 0; b < branches.length; b++) {
      const branch = branches[b]!;
      const plain = matchPlain(branch, event);
      if (plain === true || (plain === undefined && matchConsistent(branch, event))) return true;
    }
    return false;
  }
}

/** Paths present in every branch whose leaf yields a list, with the union of those lists. */
function findAnchors<V>(branches: readonly (readonly Leaf[])[], of: (leaf: Leaf) => readonly V[] | null): [string, V[]][] {
  const first = branches[0];
  if (first === undefined) return [];
  const found: [string, V[]][] = [];
  for (const leaf of first) {
    const own = of(leaf);
    if (own === null) continue;
    const values = new Set<V>(own);
    let everywhere = true;
    for (let i = 1; i < branches.length && everywhere; i++) {
      const other = branches[i]!.find((l) => l.path === leaf.path);
      const list = other === undefined ? null : of(other);
      if (list === null) everywhere = false;
      else for (const v of list) values.add(v);
    }
    if (everywhere) found.push([leaf.path, [...values]]);
  }
  return found;
}

/**
 * Judges every field on its own: true or false when that settles it, undefined when array consistency has
 * to decide (two or more fields have values inside arrays, or an exists:false field has values that are
 * all inside arrays). A value field with no matching value at all fails either way.
 */
function matchPlain(branch: readonly Leaf[], event: FlatEvent): boolean | undefined {
  const slots = event.slots;
  let inArrays = 0;
  let undecided = false;
  for (let i = 0; i < branch.length; i++) {
    const leaf = branch[i]!;
    const slot = slots.get(leaf.path);
    if (slot === undefined) {
      if (!leaf.absent) return false;
      continue;
    }
    if (slot.inArray) inArrays++;
    const values = slot.values;
    const test = leaf.test;
    let ok = false;
    for (let k = 0; k < values.length; k++) {
      if (test(values[k]!)) {
        ok = true;
        break;
      }
    }
    if (!ok) {
      if (!(leaf.absent && slot.inArray)) return false;
      undecided = true; // absent in the elements chosen for the other fields, perhaps
    }
  }
  return undecided || inArrays > 1 ? undefined : true;
}

/**
 * Events with arrays: event-ruler's array-consistent matching (rulesForJSONEvent). The fields are taken
 * in path order; every value used must come from the same element of any array it shares with the values
 * used before it, and `exists: false` holds when no value at the path is consistent with those already
 * used. Failed (field, membership) states are remembered, and values are looked up by array element, so
 * fields of objects in one large array cost time linear in the array, not quadratic.
 */
function matchConsistent(branch: readonly Leaf[], event: FlatEvent): boolean {
  let failed: Set<string> | null = null;
  const search = (i: number, used: Membership | null): boolean => {
    if (i === branch.length) return true;
    const key = used === null ? `${i}` : `${i}:${used.join(',')}`;
    if (failed?.has(key)) return false;
    const leaf = branch[i]!;
    const slot = event.slots.get(leaf.path);
    const positions = slot === undefined ? NONE : candidates(slot, used);
    if (leaf.absent) {
      let present = false;
      for (const group of positions) {
        for (const k of group) {
          if (consistent(used, slot!.memberships[k]!)) {
            present = true;
            break;
          }
        }
        if (present) break;
      }
      if (!present && search(i + 1, used)) return true;
    }
    for (const group of positions) {
      for (const k of group) {
        const m = slot!.memberships[k]!;
        if (consistent(used, m) && leaf.test(slot!.values[k]!) && search(i + 1, merge(used, m))) return true;
      }
    }
    (failed ??= new Set()).add(key);
    return false;
  };
  return search(0, null);
}

const NONE: readonly (readonly number[])[] = [];
const EMPTY: readonly number[] = [];

/**
 * The positions of a slot's values that can be consistent with `used`: when `used` picked an element of
 * an array some of the slot's values are in, only that element's values and the values outside the
 * array. (Candidates are still checked for consistency with every array in `used`.)
 */
function candidates(slot: Slot, used: Membership | null): readonly (readonly number[])[] {
  if (used !== null && slot.inArray) {
    for (let u = 0; u < used.length; u += 2) {
      const index = arrayIndex(slot, used[u]!);
      if (index !== null) return [index.byElement.get(used[u + 1]!) ?? EMPTY, index.outside];
    }
  }
  return [allPositions(slot)];
}

interface ArrayIndex {
  readonly byElement: Map<number, number[]>;
  readonly outside: number[];
}

const arrayIndexes = new WeakMap<Slot, Map<number, ArrayIndex | null>>();
const allPositionsCache = new WeakMap<Slot, number[]>();

function allPositions(slot: Slot): number[] {
  let all = allPositionsCache.get(slot);
  if (all === undefined) {
    all = slot.values.map((_, k) => k);
    allPositionsCache.set(slot, all);
  }
  return all;
}

/** The slot's values grouped by their element of array `id`, or null when none is in that array. */
function arrayIndex(slot: Slot, id: number): ArrayIndex | null {
  let perArray = arrayIndexes.get(slot);
  if (perArray === undefined) {
    perArray = new Map();
    arrayIndexes.set(slot, perArray);
  }
  let index = perArray.get(id);
  if (index === undefined) {
    const byElement = new Map<number, number[]>();
    const outside: number[] = [];
    slot.memberships.forEach((m, k) => {
      let element = -1;
      if (m !== null) {
        for (let j = 0; j < m.length; j += 2) {
          if (m[j] === id) {
            element = m[j + 1]!;
            break;
          }
        }
      }
      if (element < 0) outside.push(k);
      else {
        const list = byElement.get(element);
        if (list === undefined) byElement.set(element, [k]);
        else list.push(k);
      }
    });
    index = byElement.size === 0 ? null : { byElement, outside };
    perArray.set(id, index);
  }
  return index;
}

// ---- parsing --------------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function join(where: string, key: string): string {
  return where === '' ? key : `${where}.${key}`;
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Compiles an event pattern (a JSON object, or its JSON text); throws PatternError when it is invalid. */
export function compilePattern(pattern: unknown, options: CompileOptions = {}): CompiledEventPattern {
  const maxLength = options.maxLength ?? DEFAULT_MAX_PATTERN_LENGTH;
  let document: unknown = pattern;
  let length: number;
  if (typeof pattern === 'string') {
    length = pattern.length;
    if (length > maxLength) {
      throw new PatternError('', `is ${length} characters long; the event pattern size limit is ${maxLength}`);
    }
    try {
      document = JSON.parse(pattern);
    } catch (e) {
      throw new PatternError('', `is not valid JSON (${(e as Error).message})`);
    }
  } else {
    let text: string | undefined;
    try {
      text = JSON.stringify(pattern);
    } catch (e) {
      throw new PatternError('', `cannot be written as JSON (${(e as Error).message})`);
    }
    length = text === undefined ? 0 : text.length;
  }
  if (!isPlainObject(document)) {
    throw new PatternError('', `must be a JSON object, got ${describe(document)}`);
  }
  if (length > maxLength) {
    throw new PatternError('', `is ${length} characters long; the event pattern size limit is ${maxLength}`);
  }
  checkCombinations(document, options.maxAlternatives ?? DEFAULT_MAX_ALTERNATIVES);
  let branches: Branch[];
  try {
    branches = new Parser(true).object(document, '', '', [], false);
  } catch (error) {
    if (!(error instanceof PatternError)) throw error;
    // EventBridge compiles with its $or-aware compiler and, when that fails, retries with the older one
    // that reads "$or" as an ordinary field name (event-ruler README, "backward compatibility of using
    // $or as field name"). Only if both refuse is the pattern invalid; the $or-aware reason is reported.
    try {
      branches = new Parser(false).object(document, '', '', [], false);
    } catch {
      throw error;
    }
  }
  return new CompiledEventPattern(branches.map((b) => [...b.values()]));
}

/**
 * AWS refuses patterns whose $or arrays multiply out to more than 1000 rule combinations (the product
 * of the lengths of all $or arrays, nested ones included).
 */
function checkCombinations(document: Record<string, unknown>, limit: number): void {
  let product = 1;
  const visit = (node: Record<string, unknown>, where: string): void => {
    for (const [key, value] of Object.entries(node)) {
      const here = join(where, key);
      if (key === '$or' && Array.isArray(value)) {
        product *= Math.max(value.length, 1);
        if (product > limit) {
          throw new PatternError(here, `the $or alternatives multiply out to more than ${limit} rule combinations`);
        }
        value.forEach((member, i) => {
          if (isPlainObject(member)) visit(member, `${here}[${i}]`);
        });
      } else if (isPlainObject(value)) {
        visit(value, here);
      }
    }
  };
  visit(document, '');
}

type Branch = Map<string, Leaf>;

class Parser {
  /** expandOr=false is the older compiler: "$or" is just a field name. */
  constructor(private readonly expandOr: boolean) {}

  /** Adds an object's fields to every branch (or forks them at `$or`), in document order. */
  object(node: Record<string, unknown>, fieldPath: string, where: string, branches: Branch[], insideOr: boolean): Branch[] {
    const keys = Object.keys(node);
    if (keys.length === 0) throw new PatternError(where, 'empty objects are not allowed');
    for (const key of keys) {
      const value = node[key];
      const here = join(where, key);
      if (key === '$or' && this.expandOr) {
        branches = this.or(value, fieldPath, here, branches);
        continue;
      }
      if (insideOr && RESERVED_IN_OR.has(key)) {
        throw new PatternError(here, `"${key}" is a reserved operator name and cannot be used as a field name inside $or`);
      }
      const path = join(fieldPath, key);
      if (isPlainObject(value)) {
        branches = this.object(value, path, here, branches, insideOr);
      } else if (Array.isArray(value)) {
        const leaf = compileLeaf(value, path, here);
        if (branches.length === 0) branches = [new Map()];
        for (const b of branches) b.set(path, leaf);
      } else {
        throw new PatternError(
          here,
          `a leaf must be an array of match values, got ${describe(value)}` +
            (value !== null && typeof value === 'object' ? '' : ` (write ${show([value])})`),
        );
      }
    }
    return branches;
  }

  or(value: unknown, fieldPath: string, where: string, branches: Branch[]): Branch[] {
    if (!Array.isArray(value)) {
      throw new PatternError(where, `must be an array of at least two pattern objects, got ${describe(value)}`);
    }
    if (value.length < 2) {
      throw new PatternError(where, `needs at least two alternatives, got ${value.length}`);
    }
    const out: Branch[] = [];
    value.forEach((alternative, i) => {
      const here = `${where}[${i}]`;
      if (!isPlainObject(alternative)) {
        throw new PatternError(here, `each alternative must be a pattern object, got ${describe(alternative)}`);
      }
      const copies = branches.length === 0 ? [new Map<string, Leaf>()] : branches.map((b) => new Map(b));
      out.push(...this.object(alternative, fieldPath, here, copies, true));
    });
    return out;
  }
}

// ---- leaves ---------------------------------------------------------------------------------------

interface LeafParts {
  strings: Set<string>;
  numbers: Set<number>;
  literals: Set<boolean | null>;
  predicates: Predicate[];
  wildcards: string[][];
  existsTrue: boolean;
  existsFalse: boolean;
  inexact: boolean;
  /** case-sensitive prefix operands */
  prefixes: string[];
  /** some match value is neither an exact string nor a case-sensitive prefix */
  unprefixable: boolean;
}

function compileLeaf(values: unknown[], path: string, where: string): Leaf {
  if (values.length === 0) {
    throw new PatternError(where, 'empty arrays are not allowed; a leaf needs at least one match value');
  }
  const parts: LeafParts = {
    strings: new Set(),
    numbers: new Set(),
    literals: new Set(),
    predicates: [],
    wildcards: [],
    existsTrue: false,
    existsFalse: false,
    inexact: false,
    prefixes: [],
    unprefixable: false,
  };
  values.forEach((value, i) => addMatchValue(parts, value, `${where}[${i}]`));

  if (parts.wildcards.length > 0 && wildcardComplexity(parts.wildcards) > WILDCARD_COMPLEXITY_LIMIT) {
    throw new PatternError(
      where,
      'rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character',
    );
  }

  const { strings, numbers, literals, predicates, existsTrue, existsFalse } = parts;
  const hasTrue = literals.has(true);
  const hasFalse = literals.has(false);
  const hasNull = literals.has(null);
  const exacts = strings.size + numbers.size + literals.size;
  let test: Predicate;
  if (existsTrue) {
    test = () => true;
  } else if (exacts === 0) {
    const only = predicates[0];
    test = predicates.length === 1 && only !== undefined ? only : anyOf(predicates);
  } else if (predicates.length === 0 && exacts === 1 && literals.size === 0) {
    // One exact string or number: strict equality (also makes 0 equal -0).
    const value = strings.size === 1 ? [...strings][0]! : [...numbers][0]!;
    test = (v) => v === value;
  } else if (predicates.length === 0 && numbers.size === 0 && literals.size === 0) {
    test = (v) => typeof v === 'string' && strings.has(v);
  } else {
    const rest = anyOf(predicates);
    test = (v) => {
      switch (typeof v) {
        case 'string':
          if (strings.has(v)) return true;
          break;
        case 'number':
          if (numbers.has(v)) return true;
          break;
        case 'boolean':
          if (v ? hasTrue : hasFalse) return true;
          break;
        default:
          if (hasNull) return true;
      }
      return rest(v);
    };
  }
  const exact =
    parts.inexact || existsTrue || existsFalse || predicates.length > 0
      ? null
      : ([...strings, ...numbers, ...literals] as Scalar[]);
  const prefixes = parts.unprefixable || existsTrue || existsFalse ? null : [...strings, ...parts.prefixes];
  return { path, absent: existsFalse, test, exact, prefixes };
}

function anyOf(predicates: readonly Predicate[]): Predicate {
  if (predicates.length === 0) return () => false;
  return (v) => {
    for (let i = 0; i < predicates.length; i++) if (predicates[i]!(v)) return true;
    return false;
  };
}

function addMatchValue(parts: LeafParts, value: unknown, where: string): void {
  if (typeof value === 'string') {
    const hex = ipHex(value);
    if (hex !== null) {
      // event-ruler turns an IP literal into a one-address range, so other spellings of it match too.
      parts.inexact = true;
      parts.unprefixable = true;
      parts.predicates.push((v) => typeof v === 'string' && (v === value || ipHex(v) === hex));
    } else {
      parts.strings.add(value);
    }
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new PatternError(where, `${String(value)} is not a JSON number`);
    parts.numbers.add(value);
    parts.unprefixable = true;
    return;
  }
  if (typeof value === 'boolean' || value === null) {
    parts.literals.add(value);
    parts.unprefixable = true;
    return;
  }
  if (!isPlainObject(value)) {
    throw new PatternError(
      where,
      `a match value must be a string, number, boolean, null or an operator object, got ${describe(value)}`,
    );
  }
  addOperator(parts, value, where);
}

function addOperator(parts: LeafParts, node: Record<string, unknown>, where: string): void {
  const keys = Object.keys(node);
  const op = keys[0];
  if (op === undefined) {
    throw new PatternError(where, `an operator object needs exactly one operator (one of ${OPERATORS.join(', ')}), got {}`);
  }
  const here = `${where}.${op}`;
  const operand = node[op];
  parts.inexact = true;
  if (op === 'prefix' && typeof operand === 'string') parts.prefixes.push(operand);
  else parts.unprefixable = true;
  switch (op) {
    case 'prefix':
    case 'suffix':
      parts.predicates.push(affixPredicate(op, operand, here));
      break;
    case 'equals-ignore-case': {
      const text = requireString(operand, here, 'equals-ignore-case');
      const re = ignoreCaseRegex(text, 'equals');
      parts.predicates.push((v) => typeof v === 'string' && re.test(v));
      break;
    }
    case 'wildcard': {
      const segments = wildcardSegments(requireString(operand, here, 'wildcard'), here);
      parts.wildcards.push(segments);
      parts.predicates.push((v) => typeof v === 'string' && wildcardMatches(segments, v));
      break;
    }
    case 'exactly': {
      const text = requireString(operand, here, 'exactly');
      parts.predicates.push((v) => v === text);
      break;
    }
    case 'anything-but':
      parts.predicates.push(anythingBut(operand, here, parts));
      break;
    case 'numeric':
      parts.predicates.push(numeric(operand, here));
      break;
    case 'exists':
      if (typeof operand !== 'boolean') {
        throw new PatternError(here, `must be true or false, got ${describe(operand)}`);
      }
      if (operand) parts.existsTrue = true;
      else parts.existsFalse = true;
      break;
    case 'cidr': {
      const text = requireString(operand, here, 'cidr');
      const range = parseCidr(text);
      if (typeof range === 'string') throw new PatternError(here, `${range} (in ${show(text)})`);
      parts.predicates.push((v) => {
        if (typeof v !== 'string') return false;
        const hex = ipHex(v);
        return hex !== null && inRange(range, hex);
      });
      break;
    }
    default:
      throw new PatternError(
        where,
        `unknown operator ${show(op)} (operators are case-sensitive: ${OPERATORS.join(', ')})`,
      );
  }
  if (keys.length > 1) {
    throw new PatternError(
      where,
      `an operator object must have exactly one key, got ${keys.map((k) => show(k)).join(', ')}`,
    );
  }
}

function requireString(operand: unknown, where: string, op: string): string {
  if (typeof operand !== 'string') {
    throw new PatternError(where, `the ${op} operand must be a string, got ${describe(operand)}`);
  }
  return operand;
}

function wildcardSegments(text: string, where: string): string[] {
  const segments = parseWildcard(text);
  if (typeof segments === 'string') throw new PatternError(where, `${segments} (in ${show(text)})`);
  return segments;
}

/** `{"prefix": "x"}`, `{"prefix": {"equals-ignore-case": "x"}}`, and the same for suffix. */
function affixPredicate(op: 'prefix' | 'suffix', operand: unknown, where: string): Predicate {
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    const inner = keys[0];
    if (inner !== 'equals-ignore-case') {
      throw new PatternError(
        where,
        inner === undefined
          ? `an object operand must be {"equals-ignore-case": "..."}, got {}`
          : `unsupported ${op} operator ${show(inner)}; only "equals-ignore-case" can be nested in ${op}`,
      );
    }
    const text = requireString(operand[inner], `${where}.${inner}`, 'equals-ignore-case');
    if (keys.length > 1) {
      throw new PatternError(where, `an operator object must have exactly one key, got ${keys.map((k) => show(k)).join(', ')}`);
    }
    const re = ignoreCaseRegex(text, op);
    return (v) => typeof v === 'string' && re.test(v);
  }
  const text = requireString(operand, where, op);
  const n = text.length;
  // substring + === is several times faster than startsWith/endsWith in V8.
  return op === 'prefix'
    ? (v) => typeof v === 'string' && v.length >= n && v.substring(0, n) === text
    : (v) => typeof v === 'string' && v.length >= n && v.substring(v.length - n) === text;
}

/**
 * anything-but: a string, a number, a list of only strings or only numbers, or an object with one of
 * equals-ignore-case / prefix / suffix / wildcard holding a string or a list of strings. It matches every
 * present value (of any type, null included) that is not excluded; a missing field never matches it.
 * Numbers are compared numerically, strings exactly.
 */
function anythingBut(operand: unknown, where: string, parts: LeafParts): Predicate {
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    const kind = keys[0];
    if (kind === undefined) {
      throw new PatternError(where, 'an anything-but object needs one of equals-ignore-case, prefix, suffix or wildcard, got {}');
    }
    if (kind !== 'equals-ignore-case' && kind !== 'prefix' && kind !== 'suffix' && kind !== 'wildcard') {
      throw new PatternError(
        where,
        `unsupported anything-but operator ${show(kind)}; use equals-ignore-case, prefix, suffix or wildcard`,
      );
    }
    const here = `${where}.${kind}`;
    const inner = operand[kind];
    let texts: string[];
    if (typeof inner === 'string') {
      texts = [inner];
    } else if (Array.isArray(inner)) {
      // AWS accepts an empty list here but then cannot evaluate the rule; excluding nothing would make
      // the rule match every event, so it is refused.
      if (inner.length === 0) throw new PatternError(here, 'needs at least one value');
      texts = inner.map((t, i) => {
        if (typeof t !== 'string') {
          throw new PatternError(`${here}[${i}]`, `anything-but ${kind} values must be strings, got ${describe(t)}`);
        }
        return t;
      });
    } else {
      throw new PatternError(here, `must be a string or an array of strings, got ${describe(inner)}`);
    }
    if ((kind === 'prefix' || kind === 'suffix') && texts.some((t) => t === '')) {
      throw new PatternError(here, `an empty ${kind} is not allowed`);
    }
    if (keys.length > 1) {
      throw new PatternError(where, `an operator object must have exactly one key, got ${keys.map((k) => show(k)).join(', ')}`);
    }
    let excluded: Predicate;
    switch (kind) {
      case 'prefix':
        excluded = (v) => typeof v === 'string' && texts.some((t) => v.startsWith(t));
        break;
      case 'suffix':
        excluded = (v) => typeof v === 'string' && texts.some((t) => v.endsWith(t));
        break;
      case 'equals-ignore-case': {
        const res = texts.map((t) => ignoreCaseRegex(t, 'equals'));
        excluded = (v) => typeof v === 'string' && res.some((re) => re.test(v));
        break;
      }
      default: {
        const all = texts.map((t, i) => wildcardSegments(t, Array.isArray(inner) ? `${here}[${i}]` : here));
        parts.wildcards.push(...all);
        excluded = (v) => typeof v === 'string' && all.some((segments) => wildcardMatches(segments, v));
      }
    }
    return (v) => !excluded(v);
  }

  const list = Array.isArray(operand) ? operand : [operand];
  if (!Array.isArray(operand) && typeof operand !== 'string' && typeof operand !== 'number') {
    throw new PatternError(where, `must be a string, a number, an array of them, or an object, got ${describe(operand)}`);
  }
  const strings = new Set<string>();
  const numbers = new Set<number>();
  list.forEach((item, i) => {
    const here = Array.isArray(operand) ? `${where}[${i}]` : where;
    if (typeof item === 'string') {
      strings.add(item);
    } else if (typeof item === 'number') {
      const problem = numericProblem(item);
      if (problem !== null) throw new PatternError(here, problem);
      numbers.add(item);
    } else {
      throw new PatternError(here, `anything-but values must be strings or numbers, got ${describe(item)}`);
    }
  });
  if (strings.size > 0 && numbers.size > 0) {
    throw new PatternError(where, 'an anything-but list must contain only strings or only numbers, not both');
  }
  if (strings.size === 0 && numbers.size === 0) {
    throw new PatternError(where, 'an anything-but list needs at least one value');
  }
  return (v) => (typeof v === 'string' ? !strings.has(v) : typeof v === 'number' ? !numbers.has(v) : true);
}

/** `{"numeric": ["=", 5]}`, `[">", 0]`, `[">", 0, "<=", 5]` and so on. */
function numeric(operand: unknown, where: string): Predicate {
  if (!Array.isArray(operand)) {
    throw new PatternError(where, `must be an array like [">", 0, "<=", 5], got ${describe(operand)}`);
  }
  const number = (index: number, op: string): number => {
    const value: unknown = operand[index];
    if (index >= operand.length) {
      throw new PatternError(where, `a number must follow "${op}"`);
    }
    if (typeof value !== 'number') {
      throw new PatternError(`${where}[${index}]`, `the value after "${op}" must be a number, got ${describe(value)}`);
    }
    const problem = numericProblem(value);
    if (problem !== null) throw new PatternError(`${where}[${index}]`, problem);
    return value;
  };
  const first: unknown = operand[0];
  if (typeof first !== 'string') {
    throw new PatternError(
      operand.length === 0 ? where : `${where}[0]`,
      operand.length === 0 ? 'needs an operator and a number, got an empty array' : `expected an operator (=, <, <=, >, >=), got ${show(first)}`,
    );
  }
  const tooMany = (): never => {
    throw new PatternError(where, `too many elements; a numeric match is [op, n] or [">"|">=", low, "<"|"<=", high], got ${show(operand)}`);
  };
  const range = (low: number, lowOpen: boolean, high: number, highOpen: boolean): Predicate => {
    if (low >= high) {
      throw new PatternError(where, `the range is empty: the lower bound ${low} must be less than the upper bound ${high}`);
    }
    return numericPredicate({ low, lowOpen, high, highOpen });
  };
  switch (first) {
    case '=': {
      const n = number(1, first);
      if (operand.length > 2) tooMany();
      return numericEqualsPredicate(n);
    }
    case '<':
    case '<=': {
      const n = number(1, first);
      if (operand.length > 2) tooMany();
      return numericPredicate({ low: -Infinity, lowOpen: false, high: n, highOpen: first === '<' });
    }
    case '>':
    case '>=': {
      const low = number(1, first);
      if (operand.length === 2) return numericPredicate({ low, lowOpen: first === '>', high: Infinity, highOpen: false });
      const second: unknown = operand[2];
      if (second !== '<' && second !== '<=') {
        throw new PatternError(
          `${where}[2]`,
          `a range's upper bound must start with "<" or "<=", got ${show(second)}`,
        );
      }
      const high = number(3, second);
      if (operand.length > 4) tooMany();
      return range(low, first === '>', high, second === '<');
    }
    default:
      throw new PatternError(`${where}[0]`, `unknown numeric operator ${show(first)}; use =, <, <=, > or >=`);
  }
}
