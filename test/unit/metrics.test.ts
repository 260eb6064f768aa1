import { describe, expect, it } from 'vitest';
import { MAX_TENANT_LABELS, Metrics, OTHER_TENANTS_LABEL } from '../../src/http/metrics.js';

describe('Prometheus metrics', () => {
  it('labels the first tenants by name, the rest together under a label no tenant id can be', async () => {
    const metrics = new Metrics(() => 0);
    metrics.toolCall('other', 'kv_get', 'ok', 1);
    for (let i = 0; i < MAX_TENANT_LABELS + 5; i++) metrics.toolCall(`t${i}`, 'kv_get', 'ok', 1);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^agent_mesh_tool_calls_total\{tool="kv_get",outcome="ok",tenant="other"\} 1$/m);
    expect(text).toMatch(new RegExp(`^agent_mesh_tool_calls_total\\{tool="kv_get",outcome="ok",tenant="${OTHER_TENANTS_LABEL}"\\} 6$`, 'm'));
  });

  it('names the process metrics agent_mesh_process_…, not agent_mesh_process_process_…', async () => {
    const text = await new Metrics(() => 0).registry.metrics();
    expect(text).toMatch(/^agent_mesh_process_resident_memory_bytes \d+/m);
    expect(text).not.toMatch(/process_process/);
  });
});
