#!/usr/bin/env node
// Baseline for bench/stdio-throughput.ts: the smallest useful MCP server, built from the official SDK
// (McpServer + StdioServerTransport) with one `echo` tool. Plain JavaScript so that it runs under plain
// `node`, exactly like dist/cli/main.js: no loader in either process.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'echo-baseline', version: '1.0.0' });

server.registerTool(
  'echo',
  { description: 'Returns the text it is given.', inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: 'text', text }] }),
);

await server.connect(new StdioServerTransport());
