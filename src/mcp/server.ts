import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, ListToolsRequestSchema, type CallToolResult, type Tool as ToolListing } from '@modelcontextprotocol/sdk/types.js';
import { asMeshError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { Services } from '../services/index.js';
import { hasPermission } from '../tenancy/permissions.js';
import type { TenantSession } from '../tenancy/session.js';
import { TOOL_GROUPS, type ToolGroup } from '../tenancy/tool-groups.js';
import { toolError } from './errors.js';
import { serverInstructions } from './instructions.js';
import { registerResources } from './resources.js';
import { exposeIntegrationTools } from './integration-tools.js';
import type { Tool } from './tool.js';
import { parseToolArguments } from './tool-arguments.js';
import { callerSession } from './request-session.js';
import { progressReporter, setToolsCallHandler, startTask } from './tools-call-handler.js';
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js';
import { ALL_TOOLS } from './tools/index.js';
import { ProtocolError } from './protocol-error.js';

export const SERVER_NAME = 'agent-mesh';

export interface McpServerOptions {
  version: string;
  enabledToolGroups: ReadonlySet<ToolGroup>;
  logger: Logger;
  tools?: readonly Tool[];
  /** Also list connected integrations' tools as <integration>__<tool> (config integrations.exposeTools). */
  exposeIntegrationTools?: boolean;
  /**
   * Each request is served by a server of its own (HTTP --stateless): nothing outlives the request, so
   * neither MCP tasks (tasks/get would find no task) nor resources/subscribe are offered.
   */
  stateless?: boolean;
  /** Called after every tool call (metrics). */
  onToolCall?: (session: TenantSession, tool: string, outcome: string, ms: number) => void;
}

const buildListing = (tool: Tool): ToolListing => ({
  name: tool.name,
  title: tool.title,
  description: tool.description,
  inputSchema: tool.inputSchema,
  ...(tool.outputSchema && { outputSchema: tool.outputSchema }),
  ...(tool.annotations && { annotations: { title: tool.title, ...tool.annotations } }),
  ...(tool.taskArgs && { execution: { taskSupport: 'optional' as const } }),
});

/** Listings are the same for every session: built once per tool, not per session (HTTP opens many). */
const listings = new WeakMap<Tool, ToolListing>();
export function listing(tool: Tool): ToolListing {
  let built = listings.get(tool);
  if (!built) listings.set(tool, (built = buildListing(tool)));
  return built;
}

/** A listing without `execution.taskSupport`, for a server that offers no tasks. */
const taskless = new WeakMap<Tool, ToolListing>();
function listingWithoutTasks(tool: Tool): ToolListing {
  let built = taskless.get(tool);
  if (!built) {
    const { execution: _execution, ...rest } = listing(tool);
    taskless.set(tool, (built = rest));
  }
  return built;
}

/** One MCP server per tenant session: it lists what the session may call and calls it as that session. */
export function createMcpServer(session: TenantSession, services: Services, options: McpServerOptions): Server {
  const enabled = (options.tools ?? ALL_TOOLS).filter((tool) => options.enabledToolGroups.has(tool.group));
  const byName = new Map(enabled.map((tool) => [tool.name, tool]));
  const visible = enabled.filter((tool) => hasPermission(session, tool.permission)).map(options.stateless ? listingWithoutTasks : listing);
  const resources = {
    artifacts: options.enabledToolGroups.has('artifacts') && hasPermission(session, 'artifacts:read'),
    workflows: options.enabledToolGroups.has('workflow') && hasPermission(session, 'workflow:read'),
    subscribe: options.stateless !== true,
  };
  const servesResources = resources.artifacts || resources.workflows;

  const offersTasks = !options.stateless && enabled.some((tool) => tool.taskArgs && hasPermission(session, tool.permission));
  const server = new Server(
    { name: SERVER_NAME, title: 'agent-mesh', version: options.version },
    {
      ...(offersTasks && { taskStore: new InMemoryTaskStore() }),
      capabilities: {
        ...(offersTasks && { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } }),
        tools: { listChanged: options.exposeIntegrationTools === true },
        // logging/setLevel is answered by the SDK (clients may set a level; errors already come back in results).
        logging: {},
        ...(servesResources && { resources: { listChanged: false, subscribe: resources.workflows && resources.subscribe } }),
      },
      instructions: serverInstructions(TOOL_GROUPS.filter((group) => enabled.some((tool) => tool.group === group && hasPermission(session, tool.permission)))),
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: visible }));
  const proxied = options.exposeIntegrationTools ? exposeIntegrationTools(server, session, services) : undefined;
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: proxied ? [...visible, ...proxied.list()] : visible }));
  setToolsCallHandler(server, async (request, rawArguments, extra): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name) ?? proxied?.find(request.params.name);
    if (!tool) throw new ProtocolError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    const caller = callerSession(session, extra);
    const started = performance.now();
    let result: CallToolResult;
    try {
      const args = parseToolArguments(tool, rawArguments ?? {});
      if (request.params.task && tool.taskArgs && extra.taskStore) {
        return await startTask(extra.taskStore, request.params.task.ttl, () =>
          tool.invoke({ session: caller, services, signal: new AbortController().signal }, tool.taskArgs!(args)).catch((error: unknown) => toolError(asMeshError(error))),
        );
      }
      const report = progressReporter(request, extra);
      let reported = false;
      const progress = report && ((value: number, total?: number, message?: string) => ((reported = true), report(value, total, message)));
      result = await tool.invoke({ session: caller, services, signal: extra.signal, ...(progress && { progress }) }, args);
      // The SDK client handles a notification a microtask after a response that came in the same read, and
      // drops progress for a finished request: give the last progress a moment to arrive on its own.
      if (reported) await new Promise((resolve) => setTimeout(resolve, 10));
    } catch (error) {
      const meshError = asMeshError(error);
      // A dependency's failure reaches the client as a generic unavailable: the operator's detail is here.
      if (meshError.code === 'internal') options.logger.error({ err: error, tool: tool.name }, 'tool failed');
      else if (meshError !== error) options.logger.warn({ err: error, tool: tool.name, code: meshError.code }, 'tool failed');
      result = toolError(meshError);
    }
    const ms = performance.now() - started;
    const outcome = !result.isError ? 'ok' : ((result.structuredContent as { error?: { code?: string } } | undefined)?.error?.code ?? 'tool_error');
    services.audit.record(caller, tool.name, outcome, ms);
    options.onToolCall?.(caller, tool.name, outcome, ms);
    if (options.logger.isLevelEnabled('debug')) {
      options.logger.debug({ tenant: caller.tenantId, user: caller.userId, tool: tool.name, outcome, ms }, 'tool call');
    }
    return result;
  });

  if (servesResources) registerResources(server, session, services, resources);
  return server;
}
