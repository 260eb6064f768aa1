import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderApiDocs } from '../../scripts/api-docs.js';
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
});
