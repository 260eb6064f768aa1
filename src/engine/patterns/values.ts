/**
 * Matching of single event values. Every event leaf value is one of these scalars; objects are
 * flattened into paths and arrays into several values for the same path (see flatten.ts).
 */
export type Scalar = string | number | boolean | null;
export type Predicate = (value: Scalar) => boolean;

/**
 * Numeric matching works on JSON numbers only, compared as IEEE-754 doubles over their whole finite range.
 * event-ruler 1.8 (aws/event-ruler#188, "Improve Numeric matching to support full range of float64",
 * 2024-09) replaced the -5.0e9..+5.0e9 / six-decimal range the older User Guide states; the refusals AWS
 * returns today ("Cannot compare number") are the new implementation's.
 */

/** Why a pattern number cannot be used for numeric matching, or null when it can. */
export function numericProblem(n: number): string | null {
  return Number.isFinite(n) ? null : `${String(n)} is not a finite JSON number`;
}

export interface NumericRange {
  readonly low: number;
  readonly lowOpen: boolean;
  readonly high: number;
  readonly highOpen: boolean;
}

export function numericPredicate(range: NumericRange): Predicate {
  const { low, lowOpen, high, highOpen } = range;
  return (v) => {
    if (typeof v !== 'number') return false;
    if (lowOpen ? v <= low : v < low) return false;
    if (highOpen ? v >= high : v > high) return false;
    return true;
  };
}

export function numericEqualsPredicate(n: number): Predicate {
  return (v) => v === n;
}

// ---- wildcard -------------------------------------------------------------------------------------

/**
 * Parses a wildcard expression into the literal segments around its `*` characters. `\*` is a literal
 * asterisk and `\\` a literal backslash; any other backslash, and two consecutive `*`, are refused.
 * Positions in the reasons are the UTF-8 byte offsets AWS reports: event-ruler parses the value with its
 * JSON quotes around it, so the first character is at position 1.
 */
export function parseWildcard(text: string): string[] | string {
  const segments: string[] = [];
  let current = '';
  let bytePos = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '*') {
      if (text[i + 1] === '*') return `consecutive wildcard characters ("**") at position ${bytePos} are not allowed`;
      segments.push(current);
      current = '';
    } else if (c === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') {
        return `invalid escape at position ${bytePos}: a backslash may only escape '*' or '\\'`;
      }
      current += next;
      i++;
      bytePos++;
    } else {
      current += c;
    }
    bytePos += utf8Length(text, i);
  }
  segments.push(current);
  return segments;
}

function utf8Length(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code >= 0xd800 && code <= 0xdbff) return 2; // half of a 4-byte pair
  if (code >= 0xdc00 && code <= 0xdfff) return 2;
  return 3;
}

/** Matches a string against wildcard segments (`*` = zero or more characters). */
export function wildcardMatches(segments: readonly string[], value: string): boolean {
  const last = segments.length - 1;
  const first = segments[0]!;
  if (last === 0) return value === first;
  const tail = segments[last]!;
  if (value.length < first.length + tail.length) return false;
  if (!value.startsWith(first) || !value.endsWith(tail)) return false;
  let pos = first.length;
  const end = value.length - tail.length;
  for (let s = 1; s < last; s++) {
    const seg = segments[s]!;
    if (seg.length === 0) continue;
    const at = value.indexOf(seg, pos);
    if (at < 0 || at + seg.length > end) return false;
    pos = at + seg.length;
  }
  return true;
}

// ---- case-insensitive matching --------------------------------------------------------------------

const REGEX_META = /[\\^$.*+?()[\]{}|/]/g;

/**
 * event-ruler's equals-ignore-case: each UTF-16 unit c of the pattern accepts exactly the text of
 * lower(c) or upper(c) (Locale.ROOT); the event value itself is not case-folded. A lone surrogate unit is
 * encoded by Java as '?', so it accepts only '?'.
 */
export function ignoreCaseRegex(pattern: string, mode: 'equals' | 'prefix' | 'suffix'): RegExp {
  let source = mode === 'suffix' ? '' : '^';
  for (let i = 0; i < pattern.length; i++) {
    const code = pattern.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdfff) {
      source += '\\?';
      continue;
    }
    const c = pattern[i]!;
    const lower = c.toLowerCase().replace(REGEX_META, '\\$&');
    const upper = c.toUpperCase().replace(REGEX_META, '\\$&');
    source += lower === upper ? lower : `(?:${lower}|${upper})`;
  }
  if (mode !== 'prefix') source += '$';
  return new RegExp(source);
}
