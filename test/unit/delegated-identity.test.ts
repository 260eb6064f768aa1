import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { delegatedSessions } from '../../src/tenancy/auth/delegated-identity.js';
import { hasPermission } from '../../src/tenancy/permissions.js';
import { intersectPermissions } from '../../src/tenancy/permissions.js';
import { parsePrincipal } from '../../src/tenancy/principal.js';
import { PERMISSION_ACTIONS, TOOL_GROUPS, type Permission } from '../../src/tenancy/tool-groups.js';
import { testSession } from '../helpers/sessions.js';

const ALL: Permission[] = ['*', ...TOOL_GROUPS.flatMap((group) => ['*', ...PERMISSION_ACTIONS].map((action) => `${group}:${action}` as Permission))];
const NEEDED = ALL.filter((p) => p !== '*' && !p.endsWith(':*'));

describe('permission intersection', () => {
  it('allows exactly what both lists allow', () => {
    const lists: Permission[][] = [['*'], ['workflow:*'], ['workflow:*', 'kv:read'], ['kv:*', 'events:write'], ['kv:write', 'kv:read'], [], ['admin:read', 'mcp:*']];
    for (const a of lists) {
      for (const b of lists) {
        const both = testSession('t', { permissions: intersectPermissions(a, b) });
        for (const needed of NEEDED) {
          expect(hasPermission(both, needed), `${a} ∩ ${b} for ${needed}`).toBe(hasPermission(testSession('t', { permissions: a }), needed) && hasPermission(testSession('t', { permissions: b }), needed));
        }
      }
    }
  });

  it('reads stored principals back, dropping what is not a permission', () => {
    expect(parsePrincipal('{"userId":"u","permissions":["kv:read","bogus"]}')).toEqual({ userId: 'u', permissions: ['kv:read'] });
    expect(parsePrincipal({ userId: 'u', permissions: [] })).toEqual({ userId: 'u', permissions: [] });
    expect(parsePrincipal(undefined)).toBeUndefined();
    expect(parsePrincipal('not json')).toBeUndefined();
    expect(parsePrincipal({ userId: 1, permissions: [] })).toBeUndefined();
  });
});

describe('delegated sessions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-delegated-'));
  const file = join(dir, 'mesh.json');
  writeFileSync(file, JSON.stringify({ tenants: { narrow: { permissions: ['kv:read', 'workflow:*'], limits: { maxKeys: 7 } } } }));
  const config = loadConfig({ AGENT_MESH_CONFIG: file });
  const sessionFor = delegatedSessions(config);

  it('act as the principal, within the tenant policy, with the tenant limits and context "workflow"', () => {
    const session = sessionFor('narrow', { userId: 'ada', permissions: ['kv:*', 'workflow:*'] });
    expect(session).toMatchObject({ tenantId: 'narrow', userId: 'ada', contextType: 'workflow', limits: { maxKeys: 7 } });
    expect([...session.permissions].sort()).toEqual(['kv:read', 'workflow:*']);
    expect(sessionFor('acme', { userId: 'bob', permissions: ['workflow:*'] }).permissions).toEqual(['workflow:*']);
  });

  it('without a principal (work stored before principals were recorded) act as the tenant, as before', () => {
    expect(sessionFor('narrow', undefined)).toMatchObject({ userId: 'agent-mesh', contextType: 'service', permissions: ['kv:read', 'workflow:*'] });
  });
});
