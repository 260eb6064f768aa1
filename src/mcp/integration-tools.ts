import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Tool as ToolListing } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Services } from '../services/index.js';
import { hasPermission } from '../tenancy/permissions.js';
import type { TenantSession } from '../tenancy/session.js';
import type { JsonSchema, Tool } from './tool.js';

/**
 * Connected integrations' tools as first-class tools named <integration>__<tool>, each a pass-through to
 * mcp_proxy. The client hears notifications/tools/list_changed whenever the set changes.
 */
export function exposeIntegrationTools(server: Server, session: TenantSession, services: Services) {
  const allowed = () => hasPermission(session, 'mcp:write');
  const unsubscribe = services.proxy.onToolsChanged(session, () => {
    if (allowed()) server.sendToolListChanged().catch(() => {});
  });
  const previousOnClose = server.onclose;
  server.onclose = () => {
    unsubscribe();
    previousOnClose?.();
  };

  const current = () => (allowed() ? services.proxy.connectedListing(session) : []);
  return {
    list: (): ToolListing[] =>
      current().map((tool) => ({
        name: tool.namespaced_name,
        ...(tool.title !== undefined && { title: tool.title }),
        description: `[${tool.integration}] ${tool.description ?? tool.name}`,
        inputSchema: tool.input_schema as JsonSchema,
        ...(tool.annotations !== undefined && { annotations: tool.annotations }),
      })),
    find: (name: string): Tool | undefined => {
      const target = current().find((tool) => tool.namespaced_name === name);
      if (!target) return undefined;
      return {
        name,
        group: 'mcp',
        permission: 'mcp:write',
        rateLimit: 'mcp',
        title: target.title ?? target.name,
        description: target.description ?? '',
        annotations: undefined,
        inputSchema: target.input_schema as JsonSchema,
        outputSchema: undefined,
        result: { description: 'the upstream result' },
        // The upstream validates its own arguments.
        input: z.looseObject({}),
        invoke: (context, args) =>
          services.proxy.call(context.session, target.integration, target.name, args as Record<string, unknown>, {
            signal: context.signal,
            ...(context.progress && { onProgress: (p) => context.progress!(p.progress, p.total, p.message) }),
          }),
      };
    },
  };
}
