import { z } from 'zod';
import { definePassThroughTool, defineTool, listText } from '../tool.js';
import { isoTime } from './common-schemas.js';

const integrationName = z.string().describe('1-32 letters, digits, "-" or "_" (not "__").');

const integrationSchema = z.strictObject({
  name: z.string(),
  transport: z.enum(['stdio', 'http']),
  command: z.string().optional(),
  args: z.array(z.string()).optional(),
  url: z.string().optional(),
  env: z.record(z.string(), z.string()).describe('Variable names; values are never shown.'),
  headers: z.record(z.string(), z.string()).describe('Header names; values are never shown.'),
  description: z.string(),
  tags: z.array(z.string()),
  status: z.enum(['connected', 'disconnected', 'error', 'circuit_open']),
  tool_count: z.number().int().nullable(),
  last_health_check: isoTime.nullable(),
  last_error: z.string().nullable(),
  last_latency_ms: z.number().nullable(),
  created_at: isoTime,
  updated_at: isoTime,
});

export const integrationRegister = defineTool({
  name: 'integration_register',
  group: 'integration',
  permission: 'integration:write',
  rateLimit: 'mcp',
  title: 'Register an MCP server',
  description:
    'Register another MCP server for this tenant: stdio (a command the server\'s config allows, with args and env) or http (a Streamable HTTP url with headers). ' +
    'env and header values are encrypted at rest and never shown again. Same name replaces (and drops its open session).',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({
    name: integrationName,
    transport: z.enum(['stdio', 'http']),
    command: z.string().optional().describe('stdio: the program to run; must be on the server\'s allowlist.'),
    args: z.array(z.string()).optional().describe('stdio: its arguments.'),
    env: z.record(z.string(), z.string()).optional().describe('stdio: extra environment variables (secret).'),
    url: z.string().optional().describe('http: the MCP endpoint, http(s) only.'),
    headers: z.record(z.string(), z.string()).optional().describe('http: request headers such as Authorization (secret).'),
    description: z.string().optional(),
    tags: z.array(z.string()).optional(),
  }),
  output: integrationSchema.extend({ created: z.boolean() }),
  call: ({ session, services }, args) => services.integrations.register(session, args),
  text: (result) => `${result.created ? 'registered' : 'replaced'} integration ${JSON.stringify(result.name)} (${result.transport})`,
});

export const integrationConnect = defineTool({
  name: 'integration_connect',
  group: 'integration',
  permission: 'integration:write',
  rateLimit: 'mcp',
  title: 'Connect to an MCP server',
  description: 'Open (and keep) this tenant\'s client session to a registered integration. Returns the server\'s name, version and tool count.',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z.strictObject({ name: integrationName }),
  output: z.strictObject({ name: z.string(), server: z.strictObject({ name: z.string(), version: z.string() }), tool_count: z.number().int() }),
  call: ({ session, services }, args) => services.integrations.connect(session, args.name),
  text: (result) => `connected ${JSON.stringify(result.name)}: ${result.server.name} ${result.server.version}, ${result.tool_count} tools`,
});

export const integrationDisconnect = defineTool({
  name: 'integration_disconnect',
  group: 'integration',
  permission: 'integration:write',
  rateLimit: 'mcp',
  title: 'Disconnect from an MCP server',
  description: 'Close this tenant\'s session to an integration (the next mcp_proxy call reconnects).',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ name: integrationName }),
  output: z.strictObject({ name: z.string(), disconnected: z.boolean().describe('False when no session was open.') }),
  call: ({ session, services }, args) => services.integrations.disconnect(session, args.name),
});

export const integrationDelete = defineTool({
  name: 'integration_delete',
  group: 'integration',
  permission: 'integration:write',
  rateLimit: 'mcp',
  title: 'Delete an integration',
  description: 'Disconnect and remove a registered integration, with its stored secrets.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ name: integrationName }),
  output: z.strictObject({ name: z.string(), deleted: z.literal(true) }),
  call: ({ session, services }, args) => services.integrations.delete(session, args.name),
});

export const integrationList = defineTool({
  name: 'integration_list',
  group: 'integration',
  permission: 'integration:read',
  rateLimit: 'mcp',
  title: 'List integrations',
  description: 'This tenant\'s integrations with status (connected, disconnected, error, circuit_open), tool count, last health check, last error and latency.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({}),
  output: z.strictObject({ integrations: z.array(integrationSchema) }),
  call: ({ session, services }) => services.integrations.list(session),
  text: (result) => listText(result.integrations.map((i) => `${i.name} (${i.transport}): ${i.status}${i.tool_count !== null ? `, ${i.tool_count} tools` : ''}${i.last_error ? ` — ${i.last_error}` : ''}`), null),
});

export const integrationTest = defineTool({
  name: 'integration_test',
  group: 'integration',
  permission: 'integration:write',
  rateLimit: 'mcp',
  title: 'Test an integration',
  description: 'Connect, initialize, ping and list tools with timings, on a throwaway session. Reports failures instead of failing.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  input: z.strictObject({ name: integrationName }),
  output: z.strictObject({
    name: z.string(),
    ok: z.boolean(),
    server: z.strictObject({ name: z.string(), version: z.string() }).nullable(),
    tool_count: z.number().int().nullable(),
    timings: z.record(z.string(), z.number()).describe('connect_ms (includes initialize), ping_ms, list_tools_ms.'),
    error: z.string().nullable(),
  }),
  call: ({ session, services }, args) => services.integrations.test(session, args.name),
});

export const mcpListTools = defineTool({
  name: 'mcp_list_tools',
  group: 'mcp',
  permission: 'mcp:read',
  rateLimit: 'mcp',
  title: 'List upstream tools',
  description:
    'Tools of one integration (connecting it if needed) or of all connected ones, with schemas and namespaced names <integration>__<tool> ' +
    '(always ^[a-zA-Z0-9_-]{1,64}$; names that do not fit are cleaned, cut and suffixed with 8 hex digits of their SHA-256).',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  input: z.strictObject({ integration: integrationName.optional() }),
  output: z.strictObject({
    tools: z.array(
      z.strictObject({
        integration: z.string(),
        name: z.string(),
        namespaced_name: z.string(),
        title: z.string().optional(),
        description: z.string().optional(),
        input_schema: z.record(z.string(), z.unknown()),
        output_schema: z.record(z.string(), z.unknown()).optional(),
        annotations: z.record(z.string(), z.unknown()).optional(),
      }),
    ),
  }),
  call: ({ session, services }, args) => services.proxy.listTools(session, args.integration),
  text: (result) => listText(result.tools.map((t) => `${t.namespaced_name}: ${t.description ?? ''}`), null),
});

export const mcpProxy = definePassThroughTool({
  name: 'mcp_proxy',
  group: 'mcp',
  permission: 'mcp:write',
  rateLimit: 'mcp',
  title: 'Call an upstream tool',
  description:
    'Call a tool of a registered integration as this tenant (connecting on demand). The upstream\'s result comes back as it was sent: every content type, structuredContent and isError; progress is forwarded.',
  resultDescription: 'The upstream tool\'s result, unchanged (content of any type, structuredContent, isError). Errors of the proxy itself use the usual error shape.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: z.strictObject({
    integration: integrationName,
    tool: z.string().min(1).describe('The upstream\'s own tool name (not the namespaced one).'),
    arguments: z.record(z.string(), z.unknown()).optional().describe('The tool\'s arguments.'),
  }),
  call: ({ session, services, signal, progress }, args) =>
    services.proxy.call(session, args.integration, args.tool, args.arguments ?? {}, {
      signal,
      ...(progress && { onProgress: (p) => progress(p.progress, p.total, p.message) }),
    }),
});

export const integrationTools = [
  integrationRegister,
  integrationConnect,
  integrationDisconnect,
  integrationDelete,
  integrationList,
  integrationTest,
  mcpListTools,
  mcpProxy,
];
