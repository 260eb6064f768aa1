import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderApiDocs, typeOf } from '../../scripts/api-docs.js';
import { ALL_TOOLS } from '../../src/mcp/tools/index.js';

describe('docs/API.md', () => {
  it('is up to date with the tool definitions (run `npm run docs` to refresh it)', () => {
    const checkedIn = readFileSync(resolve(import.meta.dirname, '../../docs/API.md'), 'utf8');
    expect(checkedIn).toBe(renderApiDocs());
  });

  it('documents every tool and every argument', () => {
    const docs = renderApiDocs();
    for (const tool of ALL_TOOLS) {
      expect(docs).toContain(`### \`${tool.name}\``);
      for (const argument of Object.keys((tool.inputSchema.properties ?? {}) as object)) expect(docs).toContain(`| \`${argument}\` |`);
    }
  });

  it('names each type as the schema accepts it', () => {
    expect(typeOf({ type: 'object', additionalProperties: {} })).toBe('object'); // any values, not "string values"
    expect(typeOf({ type: 'object', propertyNames: { type: 'string' }, additionalProperties: { type: 'string' } })).toBe('object (string values)');
    expect(typeOf({ type: 'object', additionalProperties: { type: 'number' } })).toBe('object (number values)');
    expect(typeOf({ type: ['string', 'null'] })).toBe('string \\| null');
    expect(typeOf({ anyOf: [{ type: 'object', properties: { a: {} } }, { type: 'object', properties: { b: {} } }] })).toBe('object');
    expect(typeOf({ type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'integer' }] } })).toBe('(string \\| integer)[]');
    expect(typeOf({ type: 'array', items: { enum: ['a', 'b'] } })).toBe('(`"a"` \\| `"b"`)[]');
    expect(typeOf({ type: 'number', minimum: 0, maximum: 300 })).toBe('number (≥ 0, ≤ 300)');
    expect(typeOf({})).toBe('any JSON');
  });

  it('says what the tools take: targets is an array, wait_seconds at most 300, workflows are targets now', () => {
    const docs = renderApiDocs();
    expect(docs).toMatch(/\| `targets` \| object\[\] \| yes \| An array, even of one target/);
    expect(docs).toContain('| `wait_seconds` | number (≥ 0, ≤ 300) | no |');
    expect(docs).toContain('With wait_seconds (at most 300)');
    expect(docs).not.toMatch(/once available/);
    expect(docs).toContain('| `expires_at` | string \\| null |');
  });
});
