import type { ToolGroup } from '../tenancy/tool-groups.js';

const GROUP_SUMMARIES: Record<ToolGroup, string> = {
  kv: 'a shared key-value store (kv_*)',
  artifacts: 'artifact storage (artifacts_*, also readable as artifact:// resources)',
  events: 'an event bus with rules and alerts (events_*)',
  workflow: 'durable Amazon States Language workflows (workflow_*)',
  integration: 'a registry of other MCP servers (integration_*)',
  mcp: 'calls to those servers\' tools (mcp_list_tools, mcp_proxy)',
  admin: 'the audit log (audit_query)',
};

/** What the server tells a client at initialize: only the groups this session can use, and how errors read. */
export function serverInstructions(groups: readonly ToolGroup[]): string {
  const offered = groups.map((group) => GROUP_SUMMARIES[group]);
  const what = offered.length === 0 ? 'no tools for this session' : offered.join('; ');
  return (
    `agent-mesh, for this tenant: ${what}. ` +
    'Errors carry a code (invalid_argument, not_found, permission_denied, rate_limited with retry_after_ms, quota_exceeded, conflict, unavailable, timeout).'
  );
}
