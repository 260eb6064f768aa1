import { parsePath, type Path } from './paths.js';

/**
 * Parses intrinsic function invocations: `States.Name(arg, ...)` where an argument is a string literal in
 * single quotes, a number, true, false, null, a path (`$...` or `$$...`) or another invocation.
 *
 * Inside string literals `\'`, `\{`, `\}` and `\\` stand for the character after the backslash. Any other
 * backslash is an "open escape", which the AWS guide says makes the interpreter throw at run time: such a
 * literal is kept with the reason and fails when evaluated.
 */

export type Argument =
  | { readonly kind: 'literal'; readonly value: unknown; readonly template?: readonly string[]; readonly broken?: string }
  | { readonly kind: 'path'; readonly path: Path }
  | { readonly kind: 'call'; readonly call: Invocation };

export interface Invocation {
  readonly name: string;
  readonly args: readonly Argument[];
  readonly source: string;
}

/** AWS: "You can nest up to 10 intrinsic functions within a field." */
export const MAX_NESTING = 10;

/** Arity of every intrinsic: [min, max]. */
export const ARITY: Readonly<Record<string, readonly [number, number]>> = {
  'States.Format': [1, Infinity],
  'States.StringToJson': [1, 1],
  'States.JsonToString': [1, 1],
  'States.Array': [0, Infinity],
  'States.ArrayPartition': [2, 2],
  'States.ArrayContains': [2, 2],
  'States.ArrayRange': [3, 3],
  'States.ArrayGetItem': [2, 2],
  'States.ArrayLength': [1, 1],
  'States.ArrayUnique': [1, 1],
  'States.Base64Encode': [1, 1],
  'States.Base64Decode': [1, 1],
  'States.Hash': [2, 2],
  'States.JsonMerge': [3, 3],
  'States.MathRandom': [2, 3],
  'States.MathAdd': [2, 2],
  'States.StringSplit': [2, 2],
  'States.UUID': [0, 0],
};

export function looksLikeInvocation(text: string): boolean {
  return /^\s*States\.[A-Za-z0-9]+\s*\(/.test(text);
}

/** Parses one invocation (the whole text), returning it or the reason it is not a valid one. */
export function parseInvocation(text: string): Invocation | string {
  const parser = new Parser(text);
  try {
    parser.space();
    const call = parser.call(1);
    parser.space();
    if (!parser.done()) return parser.fail('unexpected text after the closing parenthesis');
    return call;
  } catch (error) {
    if (error instanceof SyntaxProblem) return error.message;
    throw error;
  }
}

class SyntaxProblem extends Error {}

class Parser {
  private i = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.i >= this.text.length;
  }

  fail(reason: string): never {
    throw new SyntaxProblem(`invalid intrinsic function call "${this.text}": ${reason} (at character ${this.i + 1})`);
  }

  space(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i]!)) this.i++;
  }

  call(depth: number): Invocation {
    if (depth > MAX_NESTING) this.fail(`intrinsic functions may be nested at most ${MAX_NESTING} deep`);
    const start = this.i;
    const m = /^States\.[A-Za-z0-9]+/.exec(this.text.slice(this.i));
    if (m === null) this.fail('expected an intrinsic function name (States.Name)');
    const name = m[0];
    const arity = ARITY[name];
    if (arity === undefined) this.fail(`unknown intrinsic function ${name}`);
    this.i += name.length;
    this.space();
    if (this.text[this.i] !== '(') this.fail(`expected "(" after ${name}`);
    this.i++;
    const args: Argument[] = [];
    this.space();
    if (this.text[this.i] === ')') {
      this.i++;
    } else {
      for (;;) {
        this.space();
        args.push(this.argument(depth));
        this.space();
        const c = this.text[this.i];
        if (c === ',') {
          this.i++;
          continue;
        }
        if (c === ')') {
          this.i++;
          break;
        }
        this.fail('expected "," or ")"');
      }
    }
    if (args.length < arity[0] || args.length > arity[1]) {
      const expected = arity[0] === arity[1] ? `${arity[0]}` : arity[1] === Infinity ? `at least ${arity[0]}` : `${arity[0]} to ${arity[1]}`;
      this.fail(`${name} takes ${expected} argument${expected === '1' ? '' : 's'}, not ${args.length}`);
    }
    if (name === 'States.JsonToString' && args[0]!.kind !== 'path') this.fail('the argument of States.JsonToString must be a path');
    return { name, args, source: this.text.slice(start, this.i) };
  }

  argument(depth: number): Argument {
    const rest = this.text.slice(this.i);
    const c = rest[0];
    if (c === "'") return this.string();
    if (c === '$') return this.path();
    if (rest.startsWith('States.')) return { kind: 'call', call: this.call(depth + 1) };
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(rest);
    if (number !== null) {
      this.i += number[0].length;
      return { kind: 'literal', value: Number(number[0]) };
    }
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (rest.startsWith(word) && !/[A-Za-z0-9_]/.test(rest[word.length] ?? '')) {
        this.i += word.length;
        return { kind: 'literal', value };
      }
    }
    return this.fail('expected a string, number, boolean, null, path or intrinsic function');
  }

  string(): Argument {
    this.i++;
    let value = '';
    let piece = '';
    const template: string[] = [];
    let broken: string | undefined;
    for (;;) {
      if (this.i >= this.text.length) this.fail('unterminated string literal');
      const c = this.text[this.i]!;
      if (c === "'") {
        this.i++;
        break;
      }
      if (c === '\\') {
        const next = this.text[this.i + 1];
        if (next === "'" || next === '{' || next === '}' || next === '\\') {
          value += next;
          piece += next;
          this.i += 2;
          continue;
        }
        broken ??= `open escape backslash at character ${this.i + 1} of "${this.text}"`;
        value += c;
        piece += c;
        this.i++;
        continue;
      }
      if (c === '{' && this.text[this.i + 1] === '}') {
        template.push(piece);
        piece = '';
        value += '{}';
        this.i += 2;
        continue;
      }
      value += c;
      piece += c;
      this.i++;
    }
    template.push(piece);
    return broken === undefined ? { kind: 'literal', value, template } : { kind: 'literal', value, template, broken };
  }

  path(): Argument {
    const start = this.i;
    let depth = 0;
    let quote: string | null = null;
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (quote !== null) {
        if (c === '\\') this.i++;
        else if (c === quote) quote = null;
      } else if (c === "'" || c === '"') {
        if (depth === 0) break;
        quote = c;
      } else if (c === '[' || c === '(') depth++;
      else if (c === ']' || c === ')') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
      this.i++;
    }
    const source = this.text.slice(start, this.i).trim();
    const path = parsePath(source, { context: true });
    if (typeof path === 'string') this.fail(path);
    return { kind: 'path', path };
  }
}
