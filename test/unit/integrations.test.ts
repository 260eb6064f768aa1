import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/secrets/secret-box.js';
import { KEY_FILE, loadSecretKey } from '../../src/secrets/secret-key.js';
import { CircuitBreaker } from '../../src/services/integrations/circuit-breaker.js';
import { checkStdioCommand } from '../../src/services/integrations/stdio-allowlist.js';
import { INTEGRATION_NAME, namespaceTools } from '../../src/services/integrations/tool-names.js';
import { rng } from '../helpers/random.js';

const VALID = /^[a-zA-Z0-9_-]{1,64}$/;

describe('namespaced tool names', () => {
  it('keeps clean names and makes every name valid and unique', () => {
    const names = namespaceTools('github', ['create_issue', 'get.file', 'héllo wörld', 'x'.repeat(80), 'a/b', 'a?b', 'create_issue_2']);
    expect(names.get('create_issue')).toBe('github__create_issue');
    expect(names.get('create_issue_2')).toBe('github__create_issue_2');
    for (const name of names.values()) expect(name).toMatch(VALID);
    expect(names.get('get.file')).toMatch(/^github__get_file_[0-9a-f]{8}$/);
    expect(names.get('a/b')).not.toBe(names.get('a?b')); // both clean to a_b; the hash tells them apart
    expect(new Set(names.values()).size).toBe(names.size);
  });

  it('never collides, even with a literal name equal to another tool\'s hashed form, and is deterministic', () => {
    const first = namespaceTools('svc', ['a.b']);
    const hashedForm = first.get('a.b')!.slice('svc__'.length);
    const names = namespaceTools('svc', ['a.b', hashedForm]);
    expect(new Set(names.values()).size).toBe(2);
    expect(namespaceTools('svc', ['a.b', hashedForm])).toEqual(names);
  });

  it('holds on thousands of random names under the longest integration name', () => {
    const random = rng(11);
    const alphabet = 'aZ09_-./ é:#__';
    const tools = Array.from({ length: 3000 }, () =>
      Array.from({ length: 1 + Math.floor(random() * 90) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''),
    );
    const integration = 'a'.repeat(32);
    const names = namespaceTools(integration, [...new Set(tools)]);
    for (const name of names.values()) expect(name).toMatch(VALID);
    expect(new Set(names.values()).size).toBe(names.size);
  });

  it('accepts only integration names without "__", so a namespaced name splits one way', () => {
    for (const ok of ['github', 'my-server', 'a_b', 'A1']) expect(INTEGRATION_NAME.test(ok)).toBe(true);
    for (const bad of ['a__b', '_a', '', 'x'.repeat(33), 'a.b', 'a b']) expect(INTEGRATION_NAME.test(bad)).toBe(false);
  });
});

describe('circuit breaker', () => {
  it('opens after N failures in a row, lets one probe through after openMs, and closes on success', () => {
    let now = 0;
    const breaker = new CircuitBreaker(3, 1000, () => now);
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure();
    expect(breaker.status).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    now = 999;
    expect(breaker.tryAcquire()).toBe(false);
    now = 1000;
    expect(breaker.tryAcquire()).toBe(true); // the probe
    expect(breaker.tryAcquire()).toBe(false); // only one at a time
    breaker.failure();
    expect(breaker.status).toBe('open');
    now = 2000;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    expect(breaker.status).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
  });
});

describe('secrets at rest', () => {
  it('round-trips with AES-256-GCM and refuses another context, another key or a tampered value', () => {
    const key = Buffer.alloc(32, 7);
    const box = new SecretBox(key);
    const sealed = box.seal('ghp_secret', 'acme\u0000github\u0000header\u0000Authorization');
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('ghp_secret');
    expect(box.seal('ghp_secret', 'ctx')).not.toBe(box.seal('ghp_secret', 'ctx')); // fresh IV each time
    expect(box.open(sealed, 'acme\u0000github\u0000header\u0000Authorization')).toBe('ghp_secret');
    expect(() => box.open(sealed, 'other\u0000github\u0000header\u0000Authorization')).toThrow();
    expect(() => new SecretBox(Buffer.alloc(32, 8)).open(sealed, 'acme\u0000github\u0000header\u0000Authorization')).toThrow();
    const tampered = sealed.slice(0, -4) + (sealed.at(-4) === 'A' ? 'B' : 'A') + sealed.slice(-3); // always a different character
    expect(() => box.open(tampered, 'acme\u0000github\u0000header\u0000Authorization')).toThrow();
  });

  it('creates the key file once with mode 0600 and refuses one others can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-key-'));
    const first = loadSecretKey(undefined, dir);
    expect(first).toHaveLength(32);
    expect(statSync(join(dir, KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(loadSecretKey(undefined, dir).equals(first)).toBe(true);
    chmodSync(join(dir, KEY_FILE), 0o644);
    expect(() => loadSecretKey(undefined, dir)).toThrow(/readable by others/);
  });

  it('takes AGENT_MESH_SECRET_KEY as base64 or hex and refuses anything else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-key-'));
    const key = Buffer.alloc(32, 3);
    expect(loadSecretKey(key.toString('base64'), dir).equals(key)).toBe(true);
    expect(loadSecretKey(key.toString('hex'), dir).equals(key)).toBe(true);
    expect(() => loadSecretKey('too-short', dir)).toThrow(/AGENT_MESH_SECRET_KEY: expected 32 bytes/);
  });
});

describe('stdio allowlist', () => {
  const rules = ['/usr/bin/mcp-any', { command: 'node', args: ['/srv/server.js'] }, { command: 'npx', argsPrefix: ['-y', '@acme/mcp'] }];
  const allowed = (command: string, args: string[], env: Record<string, string> = {}) => () => checkStdioCommand(rules, command, args, env);

  it('allows only listed commands with the listed arguments', () => {
    expect(allowed('/usr/bin/mcp-any', ['--whatever'])).not.toThrow();
    expect(allowed('node', ['/srv/server.js'])).not.toThrow();
    expect(allowed('node', ['/srv/server.js', '--inspect'])).toThrow(/not on the server's list/);
    expect(allowed('node', ['-e', 'evil()'])).toThrow(/not on the server's list/);
    expect(allowed('npx', ['-y', '@acme/mcp', '--port', '1'])).not.toThrow();
    expect(allowed('npx', ['-y', '@evil/pkg'])).toThrow(/not on the server's list/);
    expect(allowed('/bin/sh', ['-c', 'id'])).toThrow(/not on the server's list/);
  });

  it('refuses environment variables that change what runs', () => {
    for (const name of ['NODE_OPTIONS', 'LD_PRELOAD', 'PATH', 'PYTHONPATH', 'DYLD_INSERT_LIBRARIES', 'npm_config_script_shell', 'BASH_ENV']) {
      expect(allowed('/usr/bin/mcp-any', [], { [name]: 'x' })).toThrow(new RegExp(`env\\.${name}`));
    }
    expect(allowed('/usr/bin/mcp-any', [], { API_TOKEN: 'x', GITHUB_TOKEN: 'y' })).not.toThrow();
    expect(allowed('/usr/bin/mcp-any', [], { 'BAD-NAME': 'x' })).toThrow(/not a valid environment variable name/);
  });
});
