import { describe, expect, it } from 'vitest';
import { MAX_TENANT_LABELS, Metrics } from '../../src/http/metrics.js';

describe('metrics', () => {
  it('counts tool calls by tool, outcome and a bounded set of tenant labels', async () => {
    const metrics = new Metrics(() => 3);
    for (let i = 0; i < MAX_TENANT_LABELS + 20; i++) metrics.toolCall(`tenant-${i}`, 'kv_get', 'ok', 1.5);
    metrics.toolCall('tenant-0', 'kv_set', 'rate_limited', 0.2);
    metrics.rateLimited('tenant-999', 'dynamodb');
    const text = await metrics.registry.metrics();
    const tenantLabels = new Set([...text.matchAll(/agent_mesh_tool_calls_total\{[^}]*tenant="([^"]+)"/g)].map((m) => m[1]));
    expect(tenantLabels.size).toBe(MAX_TENANT_LABELS + 1); // 50 tenants of their own, then "other"
    expect(text).toMatch(/agent_mesh_tool_calls_total\{tool="kv_get",outcome="ok",tenant="other"\} 20/);
    expect(text).toMatch(/agent_mesh_tool_calls_total\{tool="kv_set",outcome="rate_limited",tenant="tenant-0"\} 1/);
    expect(text).toMatch(/agent_mesh_rate_limit_rejections_total\{service="dynamodb",tenant="other"\} 1/);
    expect(text).toMatch(/agent_mesh_tool_call_duration_seconds_count\{tool="kv_get"\} 70/);
    expect(text).toMatch(/agent_mesh_open_sessions 3/);
  });
});
