import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolRequest,
  type CallToolResult,
  type Tool as ToolListing,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { asMeshError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { Services } from '../services/index.js';
import { hasPermission } from '../tenancy/permissions.js';
import type { TenantSession } from '../tenancy/session.js';
import type { ToolGroup } from '../tenancy/tool-groups.js';
import { fromZodError, toolError } from './errors.js';
import { registerArtifactResources } from './resources.js';
import type { Tool } from './tool.js';
import { ALL_TOOLS } from './tools/index.js';

export const SERVER_NAME = 'agent-mesh';

type CallToolHandler = (request: CallToolRequest, rawArguments: unknown) => Promise<CallToolResult>;

/** Only the method: the handler checks the params itself, so the arguments arrive as the client sent them. */
const ToolsCallMethod = z.looseObject({ method: z.literal('tools/call') });

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The SDK's Server wraps a tools/call handler to zod-parse the request twice and zod-check the result
 * (and for task-augmented calls, which agent-mesh does not offer). Our results are built to the schema by
 * one function here, and on stdio those checks were a measurable part of every call. Checking the params
 * here instead also keeps keys zod would drop (a "__proto__" argument is refused, not ignored) and turns a
 * malformed request into Invalid params rather than an internal error.
 */
function setToolsCallHandler(server: Server, handler: CallToolHandler): void {
  const protocol = Object.getPrototypeOf(Server.prototype) as { setRequestHandler: Server['setRequestHandler'] };
  protocol.setRequestHandler.call(server, ToolsCallMethod as unknown as typeof CallToolRequestSchema, (raw) => {
    const params = (raw as { params?: unknown }).params;
    if (!isPlainObject(params)) throw new McpError(ErrorCode.InvalidParams, 'Invalid tools/call params: expected an object');
    if (typeof params.name !== 'string') throw new McpError(ErrorCode.InvalidParams, 'Invalid tools/call params: name must be a string');
    if (params.arguments !== undefined && !isPlainObject(params.arguments)) {
      throw new McpError(ErrorCode.InvalidParams, 'Invalid tools/call params: arguments must be an object');
    }
    if (params._meta !== undefined && !isPlainObject(params._meta)) {
      throw new McpError(ErrorCode.InvalidParams, 'Invalid tools/call params: _meta must be an object');
    }
    return handler(raw as CallToolRequest, params.arguments);
  });
}

export interface McpServerOptions {
  version: string;
  enabledToolGroups: ReadonlySet<ToolGroup>;
  logger: Logger;
  tools?: readonly Tool[];
}

const listing = (tool: Tool): ToolListing => ({
  name: tool.name,
  title: tool.title,
  description: tool.description,
  inputSchema: tool.inputSchema,
  outputSchema: tool.outputSchema,
  ...(tool.annotations && { annotations: { title: tool.title, ...tool.annotations } }),
});

/** One MCP server per tenant session: it lists what the session may call and calls it as that session. */
export function createMcpServer(session: TenantSession, services: Services, options: McpServerOptions): Server {
  const enabled = (options.tools ?? ALL_TOOLS).filter((tool) => options.enabledToolGroups.has(tool.group));
  const byName = new Map(enabled.map((tool) => [tool.name, tool]));
  const visible = enabled.filter((tool) => hasPermission(session, tool.permission)).map(listing);
  const servesArtifacts = options.enabledToolGroups.has('artifacts') && hasPermission(session, 'artifacts:read');

  const server = new Server(
    { name: SERVER_NAME, title: 'agent-mesh', version: options.version },
    {
      capabilities: { tools: { listChanged: false }, ...(servesArtifacts && { resources: { listChanged: false } }) },
      instructions:
        'agent-mesh: a shared key-value store (kv_*), artifact storage (artifacts_*) and an event bus with rules and alerts (events_*) for this tenant. ' +
        'Errors carry a code (invalid_argument, not_found, permission_denied, rate_limited with retry_after_ms, quota_exceeded, conflict).',
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: visible }));
  setToolsCallHandler(server, async (request, rawArguments): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    const started = performance.now();
    let result: CallToolResult;
    try {
      const parsed = tool.input.safeParse(rawArguments ?? {});
      if (!parsed.success) throw fromZodError(parsed.error);
      const structured = await tool.call({ session, services }, parsed.data);
      result = { content: [{ type: 'text', text: tool.text(structured) }], structuredContent: structured };
    } catch (error) {
      const meshError = asMeshError(error);
      if (meshError.code === 'internal') options.logger.error({ err: error, tool: tool.name }, 'tool failed');
      result = toolError(meshError);
    }
    if (options.logger.isLevelEnabled('debug')) {
      const outcome = result.isError ? (result.structuredContent as { error: { code: string } }).error.code : 'ok';
      options.logger.debug({ tenant: session.tenantId, user: session.userId, tool: tool.name, outcome, ms: performance.now() - started }, 'tool call');
    }
    return result;
  });

  if (servesArtifacts) registerArtifactResources(server, session, services);
  return server;
}
