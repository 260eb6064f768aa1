import { compilePattern, PatternError, type CompiledPattern } from '../../engine/patterns/index.js';
import { invalidArgument } from '../../errors.js';

/** Compiles a pattern given by a tool (an object or JSON text) into its canonical JSON and a matcher. */
export function compileInputPattern(pattern: unknown, field: string): { json: string; compiled: CompiledPattern } {
  let value = pattern;
  if (typeof pattern === 'string') {
    try {
      value = JSON.parse(pattern);
    } catch {
      throw invalidArgument(field, 'is not valid JSON');
    }
  }
  try {
    return { json: JSON.stringify(value), compiled: compilePattern(value) };
  } catch (error) {
    // The field stands for the pattern itself: "event_pattern: must be …", "event_pattern: detail.x: …".
    if (error instanceof PatternError) throw invalidArgument(field, error.path === '' ? error.reason : error.message);
    throw error;
  }
}
