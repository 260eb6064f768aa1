import { createHash } from 'node:crypto';
import { States, StatesError } from './errors.js';
import type { Argument, Invocation } from './intrinsic-parse.js';
import { deepEqual, isInteger, isObject, jsonSize, toJson, typeOf } from './json.js';
import { readPath } from './paths.js';

/** What an intrinsic can see: the data its paths read, the context object and the host's randomness. */
export interface IntrinsicScope {
  readonly data: unknown;
  context(): unknown;
  random(): number;
  uuid(): string;
}

/** AWS: Base64Encode/Base64Decode/Hash accept at most 10,000 characters. */
const MAX_TEXT = 10_000;
/** AWS: "The new array can contain up to 1000 elements." */
const MAX_RANGE = 1000;
const PAYLOAD_LIMIT = 262_144;
const HASHES: Readonly<Record<string, string>> = { MD5: 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

function fail(call: Invocation, reason: string): never {
  throw new StatesError(States.IntrinsicFailure, `${call.name}: ${reason} (in ${call.source})`);
}

/** Evaluates an invocation; any failure is a States.IntrinsicFailure. */
export function invoke(call: Invocation, scope: IntrinsicScope): unknown {
  const args = call.args.map((a) => argument(call, a, scope));
  switch (call.name) {
    case 'States.Format':
      return format(call, args);
    case 'States.StringToJson': {
      const text = string(call, args[0], 'the argument');
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return fail(call, `the argument is not JSON text: ${toJson(text)}`);
      }
    }
    case 'States.JsonToString':
      return toJson(args[0]);
    case 'States.Array':
      return args;
    case 'States.ArrayPartition': {
      const list = array(call, args[0]);
      const size = args[1];
      if (!isInteger(size) || size <= 0) fail(call, `the chunk size must be a positive integer, not ${toJson(size)}`);
      if (jsonSize(list) > PAYLOAD_LIMIT) fail(call, 'the input array exceeds the payload size limit of 256 KB');
      const out: unknown[][] = [];
      for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
      return out;
    }
    case 'States.ArrayContains': {
      const list = array(call, args[0]);
      return list.some((v) => deepEqual(v, args[1]));
    }
    case 'States.ArrayRange':
      return range(call, args);
    case 'States.ArrayGetItem': {
      const list = array(call, args[0]);
      const index = args[1];
      if (!isInteger(index) || index < 0) fail(call, `the index must be a non-negative integer, not ${toJson(index)}`);
      if (index >= list.length) fail(call, `index ${index} is out of bounds for an array of length ${list.length}`);
      return list[index];
    }
    case 'States.ArrayLength':
      return array(call, args[0]).length;
    case 'States.ArrayUnique': {
      const out: unknown[] = [];
      for (const v of array(call, args[0])) if (!out.some((u) => deepEqual(u, v))) out.push(v);
      return out;
    }
    case 'States.Base64Encode':
      return Buffer.from(text(call, args[0]), 'utf8').toString('base64');
    case 'States.Base64Decode': {
      const encoded = text(call, args[0]);
      if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) fail(call, `${toJson(encoded)} is not valid Base64`);
      return Buffer.from(encoded, 'base64').toString('utf8');
    }
    case 'States.Hash': {
      const data = text(call, args[0]);
      const algorithm = HASHES[string(call, args[1], 'the algorithm')];
      if (algorithm === undefined) fail(call, `the algorithm must be one of ${Object.keys(HASHES).join(', ')}, not ${toJson(args[1])}`);
      return createHash(algorithm).update(data, 'utf8').digest('hex');
    }
    case 'States.JsonMerge': {
      const [a, b, deep] = args;
      if (!isObject(a) || !isObject(b)) fail(call, `both values to merge must be JSON objects, not ${typeOf(a)} and ${typeOf(b)}`);
      if (typeof deep !== 'boolean') fail(call, `the third argument must be a boolean, not ${toJson(deep)}`);
      if (deep) fail(call, 'only the shallow merging mode is supported: the third argument must be false');
      return { ...a, ...b };
    }
    case 'States.MathRandom':
      return mathRandom(call, args, scope);
    case 'States.MathAdd': {
      const sum = int32(call, args[0]) + int32(call, args[1]);
      if (sum < -2147483648 || sum > 2147483647) fail(call, `the sum ${sum} is outside the integer range -2147483648 to 2147483647`);
      return sum;
    }
    case 'States.StringSplit': {
      const value = string(call, args[0], 'the string to split');
      const delimiters = string(call, args[1], 'the delimiter');
      if (delimiters === '') return value === '' ? [] : [value];
      const set = new Set(delimiters);
      const out: string[] = [];
      let piece = '';
      for (const c of value) {
        if (set.has(c)) {
          if (piece !== '') out.push(piece);
          piece = '';
        } else piece += c;
      }
      if (piece !== '') out.push(piece);
      return out;
    }
    case 'States.UUID':
      return scope.uuid();
    default:
      return fail(call, 'unknown intrinsic function');
  }
}

function argument(call: Invocation, arg: Argument, scope: IntrinsicScope): unknown {
  switch (arg.kind) {
    case 'literal':
      if (arg.broken !== undefined) fail(call, arg.broken);
      return arg.value;
    case 'call':
      return invoke(arg.call, scope);
    case 'path': {
      const found = readPath(arg.path, scope.data, () => scope.context());
      if (!found.found) fail(call, `the JSONPath ${arg.path.source} could not be found in the input ${toJson(scope.data)}`);
      return found.value;
    }
  }
}

function array(call: Invocation, value: unknown): unknown[] {
  if (!Array.isArray(value)) fail(call, `expected an array, not ${typeOf(value)}`);
  return value;
}

function string(call: Invocation, value: unknown, what: string): string {
  if (typeof value !== 'string') fail(call, `${what} must be a string, not ${typeOf(value)}`);
  return value;
}

function text(call: Invocation, value: unknown): string {
  const s = string(call, value, 'the argument');
  if (s.length > MAX_TEXT) fail(call, `the argument has ${s.length} characters; at most ${MAX_TEXT} are allowed`);
  return s;
}

/** Java's Math.round: AWS rounds non-integer arguments of MathAdd and MathRandom "to the nearest integer". */
function rounded(call: Invocation, value: unknown): number {
  if (typeof value !== 'number') fail(call, `expected a number, not ${typeOf(value)}`);
  return Math.floor(value + 0.5);
}

function int32(call: Invocation, value: unknown): number {
  const n = rounded(call, value);
  if (n < -2147483648 || n > 2147483647) fail(call, `${n} is outside the integer range -2147483648 to 2147483647`);
  return n;
}

function format(call: Invocation, args: unknown[]): string {
  const first = call.args[0]!;
  const template = first.kind === 'literal' && first.template !== undefined ? first.template : string(call, args[0], 'the format string').split('{}');
  const values = args.slice(1);
  const slots = template.length - 1;
  if (slots !== values.length) fail(call, `the format string has ${slots} placeholder${slots === 1 ? '' : 's'} but ${values.length} value${values.length === 1 ? ' was' : 's were'} given`);
  let out = template[0]!;
  for (let i = 0; i < values.length; i++) out += formatValue(values[i]) + template[i + 1]!;
  return out;
}

/** How AWS (a Java service) writes values into a format string: objects come out as `{a=1, b=[x, y]}`. */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (isObject(value)) return `{${Object.entries(value).map(([k, v]) => `${k}=${formatValue(v)}`).join(', ')}}`;
  return toJson(value);
}

function range(call: Invocation, args: unknown[]): number[] {
  const [first, last, step] = args;
  if (!isInteger(first) || !isInteger(last) || !isInteger(step)) fail(call, `all three arguments must be integers, not ${toJson(args)}`);
  if (step === 0) fail(call, 'the step must not be zero');
  const count = (last - first) / step < 0 ? 0 : Math.floor((last - first) / step) + 1;
  if (count > MAX_RANGE) fail(call, `the array would have ${count} elements; at most ${MAX_RANGE} are allowed`);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(first + i * step);
  return out;
}

function mathRandom(call: Invocation, args: unknown[], scope: IntrinsicScope): number {
  const start = int32(call, args[0]);
  const end = int32(call, args[1]);
  if (end <= start) fail(call, `the end (${end}) must be greater than the start (${start})`);
  const bound = end - start;
  if (args.length === 3) return start + new JavaRandom(rounded(call, args[2])).nextInt(bound);
  return start + Math.floor(scope.random() * bound);
}

/** java.util.Random, so a seeded MathRandom gives the same number every time (as the Java service does). */
class JavaRandom {
  private static readonly MULTIPLIER = 0x5deece66dn;
  private static readonly MASK = (1n << 48n) - 1n;
  private seed: bigint;

  constructor(seed: number) {
    this.seed = (BigInt.asIntN(64, BigInt(seed)) ^ JavaRandom.MULTIPLIER) & JavaRandom.MASK;
  }

  private next(bits: number): number {
    this.seed = (this.seed * JavaRandom.MULTIPLIER + 0xbn) & JavaRandom.MASK;
    return Number(BigInt.asIntN(32, this.seed >> BigInt(48 - bits)));
  }

  nextInt(bound: number): number {
    if ((bound & -bound) === bound) return Number((BigInt(bound) * BigInt(this.next(31))) >> 31n);
    for (;;) {
      const bits = this.next(31);
      const value = bits % bound;
      if (((bits - value + (bound - 1)) | 0) >= 0) return value;
    }
  }
}
