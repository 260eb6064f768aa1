/** Tool groups: the unit of permissions (`<group>:<action>`) and of AGENT_MESH_TOOLS. */
export const TOOL_GROUPS = ['kv', 'artifacts', 'events', 'workflow', 'integration', 'mcp', 'admin'] as const;
export type ToolGroup = (typeof TOOL_GROUPS)[number];

export const PERMISSION_ACTIONS = ['read', 'write', 'admin'] as const;
export type PermissionAction = (typeof PERMISSION_ACTIONS)[number];

/** `*`, `<group>:*` or `<group>:<action>`. */
export type Permission = '*' | `${ToolGroup}:${PermissionAction | '*'}`;

export function isPermission(value: string): value is Permission {
  if (value === '*') return true;
  const [group, action, ...rest] = value.split(':');
  return (
    rest.length === 0 &&
    (TOOL_GROUPS as readonly string[]).includes(group ?? '') &&
    (action === '*' || (PERMISSION_ACTIONS as readonly string[]).includes(action ?? ''))
  );
}
