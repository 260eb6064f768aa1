/**
 * Amazon EventBridge event patterns: compile once, match many events.
 *
 * Pure (no I/O). Semantics follow the EventBridge User Guide and aws/event-ruler, the engine behind
 * EventBridge; see compile.ts for the details that the guide leaves open.
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
