import { afterAll, describe, expect, it } from 'vitest';
import { errorCode, startServer, structured, tempDataDir, writeConfig } from '../helpers/server-process.js';

describe('audit log', () => {
  const data = tempDataDir();
  const config = writeConfig(data.dir, { tenants: { viewer: { permissions: ['kv:read'] } } });
  afterAll(() => data.cleanup());

  it('records every call with user, tool, outcome and duration, queryable by the tenant\'s admins only', async () => {
    const env = { AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config };
    const [admin, other, viewer] = await Promise.all([
      startServer({ ...env, AGENT_MESH_TENANT_ID: 'acme', AGENT_MESH_USER_ID: 'ada' }),
      startServer({ ...env, AGENT_MESH_TENANT_ID: 'globex', AGENT_MESH_USER_ID: 'gil' }),
      startServer({ ...env, AGENT_MESH_TENANT_ID: 'viewer', AGENT_MESH_USER_ID: 'vic' }),
    ]);
    try {
      await admin.call('kv_set', { key: 'a', value: 1 });
      await admin.call('kv_get', { key: 'missing' });
      await other.call('kv_set', { key: 'b', value: 2 });
      const { entries } = structured(await admin.call('audit_query', { limit: 10 })) as { entries: { user: string; tool: string; outcome: string; duration_ms: number; at: string }[] };
      expect(entries.map((e) => `${e.user} ${e.tool} ${e.outcome}`)).toEqual(['ada kv_get not_found', 'ada kv_set ok']);
      expect(entries.every((e) => e.duration_ms >= 0 && !Number.isNaN(Date.parse(e.at)))).toBe(true);
      const failures = structured(await admin.call('audit_query', { outcome: 'not_found' })).entries as unknown[];
      expect(failures).toHaveLength(1);
      expect((structured(await other.call('audit_query', {})).entries as { user: string }[]).every((e) => e.user === 'gil')).toBe(true);
      expect(errorCode(await viewer.call('audit_query', {}))).toBe('permission_denied');
      expect((await viewer.client.listTools()).tools.map((t) => t.name)).not.toContain('audit_query');
    } finally {
      await Promise.all([admin.close(), other.close(), viewer.close()]);
    }
  });
});
