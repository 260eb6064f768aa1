import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Every relative import of every source file, as paths relative to src/. */
const imports = sourceFiles(SRC).map((file) => {
  const text = readFileSync(file, 'utf8');
  const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
  return { file: relative(SRC, file), targets, text };
});

const layer = (path: string): string => path.split('/')[0]!;

/** Which top-level folders each layer may import (design.md: imports point down, never up or sideways). */
const ALLOWED: Record<string, string[]> = {
  engine: ['engine'],
  limits: ['limits', 'errors.ts', 'ports', 'tenancy'],
  // The auth layer reads API keys through their port.
  tenancy: ['tenancy', 'config', 'limits', 'errors.ts', 'ports'],
  http: ['http', 'logging.ts', 'tenancy', 'services'],
  config: ['config', 'limits', 'tenancy', 'net', 'secrets'],
  ports: ['cancellation.ts', 'ports', 'tenancy', 'limits'],
  drivers: ['cancellation.ts', 'drivers', 'ports', 'tenancy', 'limits', 'errors.ts', 'logging.ts', 'net'],
  services: ['cancellation.ts', 'services', 'ports', 'tenancy', 'limits', 'errors.ts', 'config', 'engine', 'logging.ts', 'secrets'],
  secrets: ['secrets'],
  mcp: ['cancellation.ts', 'mcp', 'services', 'tenancy', 'limits', 'errors.ts', 'logging.ts', 'config'],
  transport: ['transport'],
  net: ['net', 'errors.ts'],
};

describe('architecture', () => {
  it('imports point down the layers of design.md', () => {
    const violations: string[] = [];
    for (const { file, targets } of imports) {
      const allowed = ALLOWED[layer(file)];
      if (!allowed) continue; // composition roots (cli/, app.ts) may import anything
      for (const target of targets) {
        if (!allowed.includes(layer(target))) violations.push(`${file} -> ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('drivers of one backend never import another backend', () => {
    const violations = imports
      .filter(({ file }) => file.startsWith('drivers/'))
      .flatMap(({ file, targets }) => targets.filter((t) => t.startsWith('drivers/') && t.split('/')[1] !== file.split('/')[1]).map((t) => `${file} -> ${t}`));
    expect(violations).toEqual([]);
  });

  it('only the auth layer issues tenant sessions', () => {
    const issuers = imports.filter(({ text }) => /\bissueSession\b/.test(text)).map(({ file }) => file);
    expect(issuers.every((file) => file === 'tenancy/session.ts' || file.startsWith('tenancy/auth/'))).toBe(true);
    expect(issuers).toContain('tenancy/auth/stdio-identity.ts');
  });

  it('nothing in src writes to stdout, which belongs to the stdio protocol', () => {
    const writers = imports.filter(({ text }) => /process\.stdout\.write|console\.log\(/.test(text)).map(({ file }) => file);
    // The admin commands (tenants, keys, doctor), --help and --version are not stdio servers: their output is for the shell.
    expect(writers.sort()).toEqual(['cli/admin.ts', 'cli/doctor.ts', 'cli/main.ts']);
  });
});
