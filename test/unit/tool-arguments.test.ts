import { describe, expect, it } from 'vitest';
import { MeshError } from '../../src/errors.js';
import { toolError } from '../../src/mcp/errors.js';
import { MAX_ARGUMENT_DEPTH, parseToolArguments } from '../../src/mcp/tool-arguments.js';
import { artifactsPut } from '../../src/mcp/tools/artifacts.js';
import { kvSet } from '../../src/mcp/tools/kv.js';

const refusal = (run: () => unknown): MeshError => {
  try {
    run();
  } catch (error) {
    if (error instanceof MeshError) return error;
    throw error;
  }
  throw new Error('expected the arguments to be refused');
};

const nested = (depth: number): unknown => {
  let value: unknown = 'bottom';
  for (let level = 0; level < depth; level++) value = level % 2 ? { inner: value } : [value];
  return value;
};

describe('tool arguments', () => {
  it(`refuses a value nested more than ${MAX_ARGUMENT_DEPTH} levels deep, naming it, however deep it goes`, () => {
    expect(parseToolArguments(kvSet, { key: 'k', value: nested(MAX_ARGUMENT_DEPTH) })).toMatchObject({ key: 'k' });
    for (const depth of [MAX_ARGUMENT_DEPTH + 1, 5_000, 200_000]) {
      const error = refusal(() => parseToolArguments(kvSet, { key: 'k', value: nested(depth) }));
      expect(error).toMatchObject({ code: 'invalid_argument', message: `value: is nested more than ${MAX_ARGUMENT_DEPTH} levels deep` });
    }
  });

  it('names the limit the tool sets, not the safe-integer range zod checks first', () => {
    expect(refusal(() => parseToolArguments(kvSet, { key: 'k', value: 1, ttl_seconds: 1e16 })).message).toBe('ttl_seconds: must be at most 315360000');
    expect(refusal(() => parseToolArguments(kvSet, { key: 'k', value: 1, ttl_seconds: -1e20 })).message).toBe('ttl_seconds: must be at least 1');
  });

  it('keeps an error one line when a caller-supplied name holds line breaks or other control characters', () => {
    const result = toolError(refusal(() => parseToolArguments(kvSet, { key: 'k', value: 1, 'line\nbreak\u0007': 1 })));
    const text = (result.content[0] as { text: string }).text;
    expect(text).toBe('invalid_argument: line\\nbreak\\u0007: is not a known argument of this tool (its arguments: key, value, ttl_seconds, if_version, if_absent)');
    expect((result.structuredContent as { error: { message: string } }).error.message).not.toMatch(/[\n\u0007]/);
  });

  it('refuses a "__proto__" name that the schema would drop, and keeps one inside a JSON value', () => {
    const metadata = JSON.parse('{"__proto__": "x", "a": "b"}') as Record<string, string>;
    expect(refusal(() => parseToolArguments(artifactsPut, { key: 'k', content: 'c', metadata }))).toMatchObject({
      code: 'invalid_argument',
      message: 'metadata.__proto__: is not a name agent-mesh can store',
    });
    const value = JSON.parse('{"nested": {"__proto__": 1}}') as unknown;
    const parsed = parseToolArguments(kvSet, { key: 'k', value }) as { value: { nested: object } };
    expect(Object.hasOwn(parsed.value.nested, '__proto__')).toBe(true);
  });
});
