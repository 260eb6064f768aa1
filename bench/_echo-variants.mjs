import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
const mode = process.env.MODE;
const server = new McpServer({ name: 'echo-variant', version: '1.0.0' });
const outputSchema = { key: z.string(), value: z.unknown(), version: z.number(), expires_at: z.string().nullable(), updated_at: z.string() };
server.registerTool('echo', { description: 'x', inputSchema: { text: z.string() }, ...(mode !== 'plain' && { outputSchema }) },
  async ({ text }) => {
    if (mode === 'plain') return { content: [{ type: 'text', text }] };
    const s = { key: text, value: { hello: 'world', n: 1 }, version: 1, expires_at: null, updated_at: new Date().toISOString() };
    return { content: [{ type: 'text', text: mode === 'full' ? JSON.stringify(s) : JSON.stringify(s.value) }], structuredContent: s };
  });
await server.connect(new StdioServerTransport());
