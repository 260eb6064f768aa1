#!/usr/bin/env node
// Baseline for bench/http-serve.ts: the smallest useful stateful MCP server over Streamable HTTP, built from
// the official SDK (McpServer + StreamableHTTPServerTransport on node:http) with one `echo` tool. Like
// `agent-mesh serve`, it keeps one transport and one server per session and parses the body itself. Plain
// JavaScript so that it runs under plain `node`, exactly like dist/cli/main.js.
//
//   PORT=0 node bench/echo-http-server.mjs     (prints "LISTENING <port>" on stderr; 127.0.0.1 only)
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** @type {Map<string, { transport: StreamableHTTPServerTransport, server: McpServer }>} */
const sessions = new Map();

function newServer() {
  const server = new McpServer({ name: 'echo-http-baseline', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Returns the text it is given.', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function handle(req, res) {
  if ((req.url ?? '/').split('?')[0] !== '/mcp') return json(res, 404, { error: 'not_found' });
  const body = req.method === 'POST' ? await readJson(req) : undefined;
  const sessionId = req.headers['mcp-session-id'];
  if (typeof sessionId === 'string') {
    const open = sessions.get(sessionId);
    if (!open) return json(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
    return open.transport.handleRequest(req, res, body);
  }
  if (req.method !== 'POST' || !isInitializeRequest(body)) {
    return json(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: no session; start with initialize' } });
  }
  const server = newServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => void sessions.set(id, { transport, server }),
    onsessionclosed: (id) => void sessions.delete(id),
  });
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
  };
  await server.connect(transport);
  return transport.handleRequest(req, res, body);
}

const http = createServer((req, res) => {
  handle(req, res).catch((error) => {
    process.stderr.write(`request failed: ${error?.stack ?? error}\n`);
    if (!res.headersSent) json(res, 500, { error: 'internal' });
    else res.end();
  });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stderr.write(`LISTENING ${http.address().port}\n`);
});

const stop = () => {
  http.close();
  http.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
