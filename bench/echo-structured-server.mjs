#!/usr/bin/env node
// A second baseline for bench/stdio-throughput.ts: the SDK's McpServer with one `echo` tool that answers as
// agent-mesh's kv_get does — an outputSchema, structuredContent of the same shape, and a short text — so the
// report can tell the cost of structured output itself from the cost of agent-mesh's own work.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'echo-structured-baseline', version: '1.0.0' });

server.registerTool(
  'echo',
  {
    description: 'Returns the text it is given, as a kv_get-shaped structured result.',
    inputSchema: { text: z.string() },
    outputSchema: { key: z.string(), value: z.unknown(), version: z.number(), expires_at: z.string().nullable(), updated_at: z.string() },
  },
  async ({ text }) => {
    const result = { key: text, value: { hello: 'world', n: 1 }, version: 1, expires_at: null, updated_at: new Date().toISOString() };
    return { content: [{ type: 'text', text: JSON.stringify(result.value) }], structuredContent: result };
  },
);

await server.connect(new StdioServerTransport());
