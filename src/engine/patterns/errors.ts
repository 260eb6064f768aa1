/**
 * A refused event pattern. `path` names the place in the pattern document that is wrong, written like
 * `detail.price`, `detail.price[0]`, `detail.price[0].numeric` or `$or[1].source`; it is `""` when the
 * pattern as a whole is wrong. The message always starts with that place (or `pattern` for the whole).
 */
export class PatternError extends Error {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`${path === '' ? 'pattern' : path}: ${reason}`);
    this.name = 'PatternError';
    this.path = path;
    this.reason = reason;
  }
}

/** A short description of a JSON value's type, for error messages ("a number", "an array", "null"). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isFinite(value) ? 'a number' : `a non-finite number (${String(value)})`;
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    case 'undefined':
      return 'undefined';
    default:
      return `a ${typeof value}`;
  }
}
