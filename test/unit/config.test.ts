import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfigText } from '../../src/config/config.js';
import { DEFAULT_RATE_LIMITS } from '../../src/limits/services.js';

const EXAMPLE = {
  defaults: { rateLimits: { dynamodb: { capacity: 100, refillPerSecond: 50 } }, limits: { maxValueBytes: 65536 } },
  tenants: {
    acme: {
      permissions: ['kv:read', 'kv:write', 'artifacts:read'],
      rateLimits: { s3: { capacity: 5, refillPerSecond: 1 } },
      limits: { maxArtifactBytes: 1048576 },
    },
  },
};

function withFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'agent-mesh-config-')), name);
  writeFileSync(path, text);
  return path;
}

describe('config', () => {
  it('merges defaults and per-tenant overrides from a JSON file', () => {
    const config = loadConfig({ AGENT_MESH_CONFIG: withFile('mesh.json', JSON.stringify(EXAMPLE)), AGENT_MESH_TENANT_ID: 'acme' });
    const acme = config.policyFor('acme');
    expect(acme.permissions).toEqual(['kv:read', 'kv:write', 'artifacts:read']);
    expect(acme.rateLimits.dynamodb).toEqual({ capacity: 100, refillPerSecond: 50 });
    expect(acme.rateLimits.s3).toEqual({ capacity: 5, refillPerSecond: 1 });
    expect(acme.rateLimits.sns).toEqual(DEFAULT_RATE_LIMITS.sns);
    expect(acme.limits.maxValueBytes).toBe(65536);
    expect(acme.limits.maxArtifactBytes).toBe(1048576);
    const other = config.policyFor('someone-else');
    expect(other.permissions).toEqual(['*']);
    expect(other.rateLimits.s3).toEqual(DEFAULT_RATE_LIMITS.s3);
    expect(other.limits.maxValueBytes).toBe(65536);
  });

  it('reads the same policy from YAML', () => {
    const yaml = `defaults:\n  limits:\n    maxKeys: 10\ntenants:\n  acme:\n    permissions: ["kv:*"]\n`;
    const config = loadConfig({ AGENT_MESH_CONFIG: withFile('mesh.yaml', yaml) });
    expect(config.policyFor('acme')).toMatchObject({ permissions: ['kv:*'], limits: { maxKeys: 10 } });
  });

  it('keeps YAML tenant ids as written, so 0042 or 1e3 never hands a policy to tenant 42 or 1000', () => {
    const yaml = `tenants:\n  0042:\n    permissions: [kv:read]\n  1e3:\n    permissions: [events:read]\n  true:\n    permissions: [kv:write]\n`;
    const config = loadConfig({ AGENT_MESH_CONFIG: withFile('numeric.yaml', yaml) });
    expect(config.policyFor('0042').permissions).toEqual(['kv:read']);
    expect(config.policyFor('42').permissions).toEqual(['*']);
    expect(config.policyFor('1e3').permissions).toEqual(['events:read']);
    expect(config.policyFor('1000').permissions).toEqual(['*']);
    expect(config.policyFor('true').permissions).toEqual(['kv:write']);
  });

  it('expands a leading ~ in the data folder and the config path, as a shell would (MCP clients do not)', () => {
    expect(loadConfig({ AGENT_MESH_DATA_DIR: '~/mesh-data' }).dataDir).toBe(join(homedir(), 'mesh-data'));
    expect(loadConfig({ AGENT_MESH_DATA_DIR: '~' }).dataDir).toBe(homedir());
    expect(loadConfig({ AGENT_MESH_DATA_DIR: '/srv/~mesh' }).dataDir).toBe('/srv/~mesh');
    expect(() => loadConfig({ AGENT_MESH_CONFIG: '~/no-such-agent-mesh-config.json' })).toThrowError(
      `AGENT_MESH_CONFIG: cannot read ${join(homedir(), 'no-such-agent-mesh-config.json')}: ENOENT`,
    );
  });

  it('uses the seed defaults for identity, data folder and AWS names', () => {
    const config = loadConfig({});
    expect(config.stdio).toEqual({ tenantId: 'default', userId: 'local', contextType: 'user' });
    expect(config.dataDir).toMatch(/\.agent-mesh$/);
    expect(config.aws).toMatchObject({ region: 'us-west-2', kvTable: 'agent-mesh-kv', artifactsBucket: 'agent-mesh-artifacts', eventBus: 'agent-mesh-events' });
    expect(config.logLevel).toBe('info');
    expect([...config.enabledToolGroups]).toContain('kv');
  });

  it.each([
    ['a typo in a key', { defaults: { rateLimit: {} } }, /mesh\.json: defaults: unknown key "rateLimit"/],
    ['a wrong type', { tenants: { acme: { rateLimits: { s3: { capacity: 'five', refillPerSecond: 1 } } } } }, /tenants\.acme\.rateLimits\.s3\.capacity: must be a number, not a string/],
    ['an unknown service', { defaults: { rateLimits: { lambda: { capacity: 1, refillPerSecond: 1 } } } }, /defaults\.rateLimits/],
    ['a zero capacity', { defaults: { rateLimits: { s3: { capacity: 0, refillPerSecond: 1 } } } }, /defaults\.rateLimits\.s3\.capacity: must be more than 0/],
    ['a bad permission', { tenants: { acme: { permissions: ['kv:delete'] } } }, /tenants\.acme\.permissions\.0: not a permission/],
    ['a bad tenant id', { tenants: { '../x': {} } }, /tenants\.\.\.\/x: tenant ids are/],
    ['a negative limit', { defaults: { limits: { maxKeys: -1 } } }, /defaults\.limits\.maxKeys: must be more than 0/],
    ['a missing refill rate', { defaults: { rateLimits: { s3: { capacity: 5 } } } }, /defaults\.rateLimits\.s3\.refillPerSecond: is required/],
    ['a fractional limit', { defaults: { limits: { maxKeys: 1.5 } } }, /defaults\.limits\.maxKeys: must be a whole number, not 1\.5/],
  ])('refuses a file with %s, naming the place', (_name, body, message) => {
    const path = withFile('mesh.json', JSON.stringify(body));
    expect(() => loadConfig({ AGENT_MESH_CONFIG: path })).toThrowError(message);
  });

  it('refuses unreadable and unparsable files clearly', () => {
    expect(() => loadConfig({ AGENT_MESH_CONFIG: '/nonexistent/mesh.json' })).toThrowError(/AGENT_MESH_CONFIG: cannot read \/nonexistent\/mesh.json: ENOENT/);
    expect(() => parseConfigText('{"defaults":', 'mesh.json')).toThrowError(/mesh\.json: not valid JSON/);
    expect(() => parseConfigText('defaults: [unclosed', 'mesh.yaml')).toThrowError(/mesh\.yaml: not valid YAML/);
  });

  it('refuses bad identity and tool-group variables', () => {
    expect(() => loadConfig({ AGENT_MESH_TENANT_ID: '../etc' })).toThrowError(ConfigError);
    expect(() => loadConfig({ AGENT_MESH_TOOLS: 'kv,blobs' })).toThrowError(/AGENT_MESH_TOOLS: unknown tool group "blobs"/);
    expect(() => loadConfig({ AGENT_MESH_TOOLS: ' , ' })).toThrowError(/AGENT_MESH_TOOLS: names no tool group \(known: kv, artifacts/);
    expect(() => loadConfig({ AGENT_MESH_CONTEXT_TYPE: 'robot' })).toThrowError(/AGENT_MESH_CONTEXT_TYPE/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrowError(/LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent/);
    expect(loadConfig({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect([...loadConfig({ AGENT_MESH_TOOLS: 'kv' }).enabledToolGroups]).toEqual(['kv']);
  });
});
