/**
 * Amazon EventBridge event patterns: compile once, match many events. Pure (no I/O).
 *
 * The language is the EventBridge User Guide's ("Amazon EventBridge event patterns", "Content filtering",
 * "Matching null values and empty strings", "Arrays in event patterns"); where the guide is silent the
 * behaviour is that of aws/event-ruler, the library EventBridge runs, and of answers recorded from AWS:
 *
 * - Paths: keys are joined with "." (so `{"a.b": ...}` and `{"a": {"b": ...}}` are the same field).
 *   Only scalar leaves are values; an object, an empty array or a missing key is "no value".
 * - Arrays: an event array offers each element as a value, and a field matches when any value does.
 *   Fields under arrays of objects must be matched by values from the same array element
 *   (event-ruler's array-consistent rulesForJSONEvent): `{"a": {"b": [1], "c": [4]}}` does not match
 *   `{"a": [{"b": 1, "c": 2}, {"b": 3, "c": 4}]}`.
 * - Numbers compare numerically (300 matches 300.0 and 3.0e2); numeric ranges take any finite double
 *   and only ever match JSON numbers.
 * - anything-but matches any present value (null included, any type) that is not excluded, element by
 *   element for arrays; it never matches a missing field.
 * - exists:false holds when no (array-consistent) value is present at the path.
 * - $or is multiplied out into alternatives (later writes to a field win, in document order), limited
 *   to 1000 combinations; a "$or" that is not a valid $or is read as an ordinary field name, as AWS does.
 * - Patterns are limited to 2048 characters (EventBridge's default event pattern size quota).
 */
export { PatternError } from './errors.js';
export {
  compilePattern,
  DEFAULT_MAX_ALTERNATIVES,
  DEFAULT_MAX_PATTERN_LENGTH,
  type CompileOptions,
  type CompiledPattern,
} from './compile.js';
export { PatternIndex } from './pattern-index.js';
