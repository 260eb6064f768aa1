import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SdkUpstreamConnector } from '../../src/drivers/mcp/sdk-upstream-connector.js';
import { MeshError } from '../../src/errors.js';
import { createEgressPolicy, type EgressPolicy } from '../../src/net/egress-policy.js';
import type { UpstreamSession, UpstreamSpec } from '../../src/ports/mcp-upstream.js';
import { testSession } from '../helpers/sessions.js';
import { EVERYTHING, FIXTURES, MEMORY, startEverythingHttp } from '../helpers/upstreams.js';

const session = testSession('acme');

const stdio = (args: string[], env: Record<string, string> = {}): UpstreamSpec => ({ transport: 'stdio', command: process.execPath, args, env });
const fixture = (name: string, env: Record<string, string> = {}): UpstreamSpec => stdio([join(FIXTURES, name)], env);
const everythingStdio = stdio([EVERYTHING, 'stdio']);

/** Every session a test opens; closed after each test. */
const opened: UpstreamSession[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((upstream) => upstream.close()));
});

function connector(policy: EgressPolicy = createEgressPolicy([])): SdkUpstreamConnector {
  return new SdkUpstreamConnector({ policy, clientInfo: { name: 'agent-mesh-tests', version: '0.0.0' } });
}

async function open(spec: UpstreamSpec, policy?: EgressPolicy, timeoutMs = 20_000): Promise<UpstreamSession> {
  const upstream = await connector(policy).connect(session, spec, { timeoutMs });
  opened.push(upstream);
  return upstream;
}

/** The MeshError a promise rejects with (fails the test when it resolves or rejects with something else). */
async function meshError(promise: Promise<unknown>): Promise<MeshError> {
  const error = await promise.then(
    (value) => new Error(`expected a MeshError, got ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
  if (!(error instanceof MeshError)) throw error;
  return error;
}

const call = (upstream: UpstreamSession, name: string, args: Record<string, unknown> = {}, timeoutMs = 20_000): Promise<CallToolResult> =>
  upstream.callTool(name, args, { timeoutMs });

const text = (result: CallToolResult): string =>
  result.content
    .filter((block) => block.type === 'text')
    .map((block) => (block as { text: string }).text)
    .join('\n');

// ---------------------------------------------------------------------------------------------------------
// Loopback HTTP helpers

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((done) => server.close(done));
  return port;
}

/** A server that counts the TCP connections it gets and answers nothing useful. */
async function countingServer(): Promise<{ port: number; connections(): number; stop(): Promise<void> }> {
  let connections = 0;
  const server = http.createServer((_req, res) => res.writeHead(500).end());
  server.on('connection', () => connections++);
  const port = await listen(server);
  return { port, connections: () => connections, stop: () => stop(server) };
}

// ---------------------------------------------------------------------------------------------------------

describe('SdkUpstreamConnector over stdio: server-everything', () => {
  it('connects, reports serverInfo and lists every tool', async () => {
    const upstream = await open(everythingStdio);
    expect(upstream.serverInfo).toEqual({ name: 'mcp-servers/everything', version: '2.0.0' });
    const tools = await upstream.listTools(10_000);
    const names = tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get-tiny-image', 'get-resource-reference', 'get-structured-content', 'trigger-long-running-operation']));
    const structured = tools.find((tool) => tool.name === 'get-structured-content')!;
    expect(structured.title).toBe('Get Structured Content Tool');
    expect(structured.inputSchema).toMatchObject({ type: 'object', properties: { location: expect.any(Object) } });
    expect(structured.outputSchema).toMatchObject({ type: 'object', properties: { temperature: expect.any(Object) } });
    expect(structured.annotations).toMatchObject({ readOnlyHint: true });
    await upstream.ping(5_000);
  });

  it('passes text, image, embedded-resource, resource-link and annotated content through as sent', async () => {
    const upstream = await open(everythingStdio);
    expect(await call(upstream, 'echo', { message: 'hi' })).toEqual({ content: [{ type: 'text', text: 'Echo: hi' }] });

    const image = await call(upstream, 'get-tiny-image');
    expect(image.content[1]).toEqual({ type: 'image', data: expect.stringMatching(/^iVBORw0KGgo/), mimeType: 'image/png' });

    const textResource = await call(upstream, 'get-resource-reference', { resourceType: 'Text', resourceId: 2 });
    expect(textResource.content[1]).toEqual({
      type: 'resource',
      resource: { uri: 'demo://resource/dynamic/text/2', mimeType: 'text/plain', text: expect.any(String) },
    });
    const blobResource = await call(upstream, 'get-resource-reference', { resourceType: 'Blob', resourceId: 1 });
    expect(blobResource.content[1]).toEqual({
      type: 'resource',
      resource: { uri: 'demo://resource/dynamic/blob/1', mimeType: expect.any(String), blob: expect.any(String) },
    });

    const links = await call(upstream, 'get-resource-links', { count: 2 });
    expect(links.content.filter((block) => block.type === 'resource_link')).toHaveLength(2);

    const annotated = await call(upstream, 'get-annotated-message', { messageType: 'error', includeImage: true });
    expect(annotated.content[0]).toEqual({ type: 'text', text: 'Error: Operation failed', annotations: { priority: 1, audience: ['user', 'assistant'] } });
    expect(annotated.content[1]).toMatchObject({ type: 'image', annotations: expect.any(Object) });
  });

  it('passes structuredContent and isError results through', async () => {
    const upstream = await open(everythingStdio);
    const weather = await call(upstream, 'get-structured-content', { location: 'Chicago' });
    expect(weather.structuredContent).toEqual({ temperature: 36, conditions: 'Light rain / drizzle', humidity: 82 });
    expect(weather.isError).toBeUndefined();

    const failed = await call(upstream, 'get-resource-reference', { resourceId: -1 });
    expect(failed).toEqual({ content: [{ type: 'text', text: expect.stringContaining('Invalid resourceId: -1') }], isError: true });
    // The SDK's McpServer reports an unknown tool as a tool error, not a JSON-RPC error.
    expect(await call(upstream, 'no-such-tool')).toMatchObject({ isError: true });
  });

  it('forwards progress notifications of a long-running tool to onProgress', async () => {
    const upstream = await open(everythingStdio);
    const progress: unknown[] = [];
    const result = await upstream.callTool(
      'trigger-long-running-operation',
      { duration: 0.5, steps: 5 },
      { timeoutMs: 10_000, onProgress: (update) => progress.push(update) },
    );
    expect(text(result)).toContain('Long running operation completed');
    expect(progress).toEqual([1, 2, 3, 4, 5].map((step) => ({ progress: step, total: 5 })));
  });

  it('does not reset the deadline on progress', async () => {
    const upstream = await open(everythingStdio);
    const onProgress = vi.fn();
    const error = await meshError(upstream.callTool('trigger-long-running-operation', { duration: 1, steps: 20 }, { timeoutMs: 400, onProgress }));
    expect(error.code).toBe('timeout');
    expect(onProgress).toHaveBeenCalled();
  });

  it('gives the child only the default environment plus spec.env', async () => {
    vi.stubEnv('AGENT_MESH_SECRET_KEY', 'do-not-leak');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'do-not-leak-either');
    try {
      const upstream = await open(stdio([EVERYTHING, 'stdio'], { GREETING: 'hello' }));
      const env = JSON.parse(text(await call(upstream, 'get-env'))) as Record<string, string>;
      expect(env).toMatchObject({ GREETING: 'hello', PATH: process.env.PATH });
      expect(Object.keys(env).every((key) => ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'GREETING'].includes(key))).toBe(true);
      expect(JSON.stringify(env)).not.toContain('do-not-leak');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('SdkUpstreamConnector over stdio: fixtures', () => {
  it('keeps the environment of the server process from a stdio child, and close() ends the child', async () => {
    vi.stubEnv('AGENT_MESH_SECRET_KEY', 'do-not-leak');
    let pid: number;
    try {
      const upstream = await open(fixture('env.mjs', { ONLY_THIS: '1' }));
      const result = (await call(upstream, 'env')).structuredContent as { pid: number; env: Record<string, string> };
      expect(result.env.AGENT_MESH_SECRET_KEY).toBeUndefined();
      expect(result.env.ONLY_THIS).toBe('1');
      pid = result.pid;
      const onClosed = vi.fn();
      upstream.onClosed(onClosed);
      await upstream.close();
      expect(onClosed).toHaveBeenCalledExactlyOnceWith(undefined);
      await upstream.close(); // idempotent
      expect(onClosed).toHaveBeenCalledTimes(1);
    } finally {
      vi.unstubAllEnvs();
    }
    await vi.waitFor(() => expect(() => process.kill(pid, 0)).toThrow(), { timeout: 5_000 });
  });

  it('times out a call that never answers, and the session stays usable', async () => {
    const upstream = await open(fixture('hangy.mjs'));
    const started = Date.now();
    const error = await meshError(upstream.callTool('hang', {}, { timeoutMs: 300 }));
    expect(error.code).toBe('timeout');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('the upstream did not answer tools/call within 300 ms');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(text(await call(upstream, 'echo', { message: 'still here' }))).toBe('still here');
    await upstream.ping(2_000);
  });

  it('stops a call when its signal aborts', async () => {
    const upstream = await open(fixture('hangy.mjs'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const cancelled = await meshError(upstream.callTool('hang', {}, { timeoutMs: 10_000, signal: controller.signal }));
    expect(cancelled).toMatchObject({ code: 'unavailable', retryable: false });
    expect(cancelled.message).toContain('cancelled');
    const deadline = await meshError(upstream.callTool('hang', {}, { timeoutMs: 10_000, signal: AbortSignal.timeout(100) }));
    expect(deadline.code).toBe('timeout');
    const own = new MeshError('rate_limited', 'slow down');
    const mine = await meshError(upstream.callTool('hang', {}, { timeoutMs: 10_000, signal: AbortSignal.abort(own) }));
    expect(mine).toBe(own);
  });

  it('reports a process that dies mid-call as unavailable (not retryable) and fires onClosed once', async () => {
    const upstream = await open(fixture('crashy.mjs'));
    expect(text(await call(upstream, 'echo', { message: 'ok' }))).toBe('ok');
    const onClosed = vi.fn();
    upstream.onClosed(onClosed);
    const error = await meshError(call(upstream, 'crash'));
    expect(error.code).toBe('unavailable');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^upstream closed the connection before answering tools\/call: the upstream process exited/);
    expect(error.message).toContain('crashing on purpose');
    await vi.waitFor(() => expect(onClosed).toHaveBeenCalledOnce());
    expect(onClosed.mock.calls[0]![0]).toBeInstanceOf(Error);
    // Later calls were never sent: retryable (on a new session).
    const after = await meshError(call(upstream, 'echo', { message: 'again' }));
    expect(after).toMatchObject({ code: 'unavailable', retryable: true });
    const late = vi.fn();
    upstream.onClosed(late);
    await vi.waitFor(() => expect(late).toHaveBeenCalledOnce());
  });

  it('reports a command that cannot be started as invalid_argument', async () => {
    const error = await meshError(open(stdio(['-e', 'x\u0000y'])));
    expect(error.code).toBe('invalid_argument');
  });

  it('reports a command that does not exist as unavailable and retryable', async () => {
    const started = Date.now();
    const error = await meshError(open({ transport: 'stdio', command: '/nonexistent/agent-mesh-no-such-server', args: [], env: {} }));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect(error.message).toBe('could not start the upstream process: the command was not found (ENOENT)');
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('reports a process that exits during start-up as unavailable and retryable, with its stderr', async () => {
    const error = await meshError(open(stdio(['-e', 'process.stderr.write("fatal: no API key\\nset FOO_TOKEN\\n"); process.exit(3)'])));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect(error.message).toBe('the upstream process exited before initialize completed; its stderr ended with: fatal: no API key set FOO_TOKEN');
  });

  it('hides the secrets it was given (env values) in the stderr it reports, a long tail included', async () => {
    const env = { API_TOKEN: 'tok-SECRET-123', PEM: '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----', SHORT: 'on' };
    const script = 'process.stderr.write("x".repeat(20000) + "\\nfatal: bad token " + process.env.API_TOKEN + " with " + process.env.PEM + " switch on\\n"); process.exit(3)';
    const error = await meshError(open(stdio(['-e', script], env)));
    expect(error.message).toMatch(/; its stderr ended with: …x+ fatal: bad token \*\*\* with \*\*\* switch on$/);
    expect(error.message).not.toMatch(/SECRET|MIIE/);
  });

  it('times out a server that does not initialize in time, and connects to one that does', async () => {
    const started = Date.now();
    const error = await meshError(open(fixture('slow-start.mjs', { DELAY_MS: '5000' }), undefined, 300));
    expect(error).toMatchObject({ code: 'timeout', message: 'the upstream did not complete initialize within 300 ms' });
    expect(Date.now() - started).toBeLessThan(2_000);

    const upstream = await open(fixture('slow-start.mjs', { DELAY_MS: '300' }), undefined, 10_000);
    expect(upstream.serverInfo.name).toBe('slow-start');
  });

  it('fires onToolsChanged on tools/list_changed, and a new listTools shows the tool', async () => {
    const upstream = await open(fixture('changing.mjs'));
    const onToolsChanged = vi.fn();
    upstream.onToolsChanged(onToolsChanged);
    expect((await upstream.listTools(5_000)).map((tool) => tool.name).sort()).toEqual(['add_tool', 'echo']);
    expect(text(await call(upstream, 'add_tool', { name: 'late_tool' }))).toBe('added late_tool');
    await vi.waitFor(() => expect(onToolsChanged).toHaveBeenCalled());
    expect((await upstream.listTools(5_000)).map((tool) => tool.name).sort()).toEqual(['add_tool', 'echo', 'late_tool']);
    expect(text(await call(upstream, 'late_tool'))).toBe('late_tool');
  });

  it('passes results through untouched: audio, unknown fields and block types, _meta, structuredContent off-schema', async () => {
    const upstream = await open(fixture('raw.mjs'));
    expect(upstream.serverInfo).toEqual({ name: 'raw', version: '0.0.1' });
    const tools = await upstream.listTools(5_000);
    expect(tools.find((tool) => tool.name === 'mismatch')?.outputSchema).toMatchObject({ required: ['n'] });
    expect(await call(upstream, 'audio')).toEqual({ content: [{ type: 'audio', data: 'UklGRiQAAABXQVZF', mimeType: 'audio/wav' }] });
    expect(await call(upstream, 'extra')).toEqual({
      content: [
        { type: 'text', text: 'hi', x_future: { a: 1 } },
        { type: 'hologram', data: 'zzz' },
      ],
      x_top: true,
      _meta: { trace: 'abc' },
    });
    expect(await call(upstream, 'mismatch')).toEqual({ content: [], structuredContent: { n: 'not a number' } });
  });

  it('maps JSON-RPC errors from the upstream', async () => {
    const upstream = await open(fixture('raw.mjs'));
    const rpc = (code: number, message: string): Promise<MeshError> => meshError(call(upstream, 'rpc_error', { code, message }));
    expect(await meshError(call(upstream, 'nope'))).toMatchObject({ code: 'not_found', message: 'upstream error -32602: Unknown tool: nope', retryable: false });
    expect(await rpc(-32602, 'count must be positive')).toMatchObject({ code: 'invalid_argument', message: 'upstream error -32602: count must be positive' });
    expect(await rpc(-32601, 'no tools here')).toMatchObject({ code: 'not_found' });
    expect(await rpc(-32002, 'resource not found')).toMatchObject({ code: 'not_found' });
    expect(await rpc(-32603, 'database\non fire')).toMatchObject({ code: 'unavailable', message: 'upstream error -32603: database on fire', retryable: false });
    // -32000 is also the SDK's "connection closed": from a live upstream it is just a server error.
    expect(await rpc(-32000, 'busy')).toMatchObject({ code: 'unavailable', message: 'upstream error -32000: busy', retryable: false });
    expect(text(await call(upstream, 'extra'))).toBe('hi');
  });

  it('blames the upstream, not the caller, for a result that is not a tool result', async () => {
    const upstream = await open(fixture('raw.mjs'));
    // (A result that is not even an object fails the SDK transport's JSON-RPC parse: that call times out.)
    for (const result of [{ content: 'text' }, { content: [{ text: 'no type' }] }, { content: [], isError: 'yes' }, { content: [], structuredContent: [1] }]) {
      const error = await meshError(call(upstream, 'not_a_result', { result }));
      expect(error, JSON.stringify(result)).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/^the upstream answered tools\/call with something that is not a tool result/) });
    }
    expect(text(await call(upstream, 'extra'))).toBe('hi'); // the session is still usable
  });
});

describe('SdkUpstreamConnector over stdio: server-memory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-mesh-memory-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips create_entities and read_graph', async () => {
    const upstream = await open(stdio([MEMORY], { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') }));
    expect(upstream.serverInfo.name).toBe('memory-server');
    expect((await upstream.listTools(5_000)).map((tool) => tool.name)).toEqual(expect.arrayContaining(['create_entities', 'read_graph']));
    const entity = { name: 'Ada Lovelace', entityType: 'person', observations: ['wrote the first program'] };
    const created = await call(upstream, 'create_entities', { entities: [entity] });
    expect(created.isError).toBeFalsy();
    const graph = await call(upstream, 'read_graph');
    expect(graph.structuredContent).toEqual({ entities: [entity], relations: [] });
    expect(JSON.parse(text(graph))).toEqual({ entities: [entity], relations: [] });
  });
});

describe('SdkUpstreamConnector over Streamable HTTP', () => {
  let everything: { port: number; child: ChildProcess };
  let mcpUrl: string;
  let allowEverything: EgressPolicy;
  beforeAll(async () => {
    everything = await startEverythingHttp();
    mcpUrl = `http://127.0.0.1:${everything.port}/mcp`;
    allowEverything = createEgressPolicy([`127.0.0.1:${everything.port}`]);
  });
  afterAll(async () => {
    const exited = new Promise((done) => everything.child.once('exit', done));
    everything.child.kill();
    await exited;
  });

  /** A recording reverse proxy in front of server-everything; `forget` makes it answer 404 to every session. */
  async function proxy(): Promise<{ port: number; seen: Array<{ method: string; headers: http.IncomingHttpHeaders }>; forget(): void; stop(): Promise<void> }> {
    const seen: Array<{ method: string; headers: http.IncomingHttpHeaders }> = [];
    let forgetting = false;
    const server = http.createServer((req, res) => {
      seen.push({ method: req.method ?? '', headers: req.headers });
      if (forgetting && req.headers['mcp-session-id']) return void res.writeHead(404).end('unknown session');
      const upstream = http.request({ host: '127.0.0.1', port: everything.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    const port = await listen(server);
    return { port, seen, forget: () => (forgetting = true), stop: () => stop(server) };
  }

  it('connects, lists tools, calls them (with progress) and closes the session', async () => {
    const upstream = await open({ transport: 'http', url: mcpUrl, headers: {} }, allowEverything);
    expect(upstream.serverInfo).toEqual({ name: 'mcp-servers/everything', version: '2.0.0' });
    expect((await upstream.listTools(10_000)).map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'get-tiny-image']));
    expect(await call(upstream, 'echo', { message: 'over http' })).toEqual({ content: [{ type: 'text', text: 'Echo: over http' }] });
    expect((await call(upstream, 'get-tiny-image')).content[1]).toMatchObject({ type: 'image', mimeType: 'image/png' });
    expect((await call(upstream, 'get-structured-content', { location: 'New York' })).structuredContent).toEqual({
      temperature: 33,
      conditions: 'Cloudy',
      humidity: 82,
    });
    const progress: unknown[] = [];
    await upstream.callTool('trigger-long-running-operation', { duration: 0.3, steps: 3 }, { timeoutMs: 10_000, onProgress: (p) => progress.push(p) });
    expect(progress).toEqual([1, 2, 3].map((step) => ({ progress: step, total: 3 })));
    await upstream.ping(5_000);
    const onClosed = vi.fn();
    upstream.onClosed(onClosed);
    await upstream.close();
    expect(onClosed).toHaveBeenCalledExactlyOnceWith(undefined);
  });

  it('sends the spec headers on every request, and ends the session when the upstream forgets it', async () => {
    const front = await proxy();
    try {
      const policy = createEgressPolicy([`127.0.0.1:${front.port}`]);
      const headers = { Authorization: 'Bearer t0ken', 'X-Tenant-Hint': 'acme' };
      const upstream = await open({ transport: 'http', url: `http://127.0.0.1:${front.port}/mcp`, headers }, policy);
      await call(upstream, 'echo', { message: 'with headers' });
      expect(front.seen.length).toBeGreaterThanOrEqual(3); // initialize, initialized, tools/call (+ the GET stream)
      for (const { headers: sent } of front.seen) expect(sent).toMatchObject({ authorization: 'Bearer t0ken', 'x-tenant-hint': 'acme' });

      const onClosed = vi.fn();
      upstream.onClosed(onClosed);
      front.forget();
      const error = await meshError(call(upstream, 'echo', { message: 'gone' }));
      expect(error).toMatchObject({ code: 'unavailable', retryable: true });
      expect(error.message).toContain('HTTP 404');
      await vi.waitFor(() => expect(onClosed).toHaveBeenCalledOnce());
      expect(String(onClosed.mock.calls[0]![0])).toContain('no longer knows the session');
    } finally {
      await front.stop();
    }
  });

  it('fires onClosed when the HTTP upstream goes away, and later calls are unavailable and retryable', async () => {
    const doomed = await startEverythingHttp();
    try {
      const upstream = await open({ transport: 'http', url: `http://127.0.0.1:${doomed.port}/mcp`, headers: {} }, createEgressPolicy([`127.0.0.1:${doomed.port}`]));
      await call(upstream, 'echo', { message: 'before' });
      const onClosed = vi.fn();
      upstream.onClosed(onClosed);
      const exited = new Promise((done) => doomed.child.once('exit', done));
      doomed.child.kill('SIGKILL');
      await exited;
      // The standalone SSE stream breaks; its reconnection finds nothing listening.
      await vi.waitFor(() => expect(onClosed).toHaveBeenCalledOnce(), { timeout: 10_000 });
      expect(String(onClosed.mock.calls[0]![0])).toContain('ECONNREFUSED');
      expect(await meshError(call(upstream, 'echo', { message: 'after' }))).toMatchObject({ code: 'unavailable', retryable: true });
    } finally {
      doomed.child.kill('SIGKILL');
    }
  });

  it('refuses invalid or protocol headers in the spec', async () => {
    const bad = await meshError(open({ transport: 'http', url: mcpUrl, headers: { 'Bad Header': 'x' } }, allowEverything));
    expect(bad).toMatchObject({ code: 'invalid_argument', details: { field: 'headers' } });
    const reserved = await meshError(open({ transport: 'http', url: mcpUrl, headers: { 'Mcp-Session-Id': 'x' } }, allowEverything));
    expect(reserved.code).toBe('invalid_argument');
  });

  it('reports a closed port as unavailable and retryable', async () => {
    const port = await closedPort();
    const error = await meshError(open({ transport: 'http', url: `http://127.0.0.1:${port}/mcp`, headers: {} }, createEgressPolicy(['127.0.0.1'])));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true, message: 'could not connect to the upstream (ECONNREFUSED)' });
  });

  it('reports a URL that is not an MCP endpoint as invalid_argument', async () => {
    const error = await meshError(open({ transport: 'http', url: `http://127.0.0.1:${everything.port}/not-mcp`, headers: {} }, allowEverything));
    expect(error).toMatchObject({ code: 'invalid_argument', details: { field: 'url' } });
    expect(error.message).toContain('HTTP 404');
  });

  it('refuses a private address that is not allow-listed, without connecting', async () => {
    const target = await countingServer();
    try {
      const error = await meshError(open({ transport: 'http', url: `http://127.0.0.1:${target.port}/mcp`, headers: {} }, allowEverything));
      expect(error).toMatchObject({ code: 'permission_denied', details: { field: 'url' } });
      expect(error.message).toContain('a loopback address');
      expect(target.connections()).toBe(0);
    } finally {
      await target.stop();
    }
  });

  it('refuses a host name that re-resolves to a blocked address at connect time (DNS rebinding)', async () => {
    const target = await countingServer();
    try {
      let lookups = 0;
      const resolver = async (host: string): Promise<string[]> => {
        if (host !== 'rebind.test') throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
        return ++lookups === 1 ? ['93.184.216.34'] : ['127.0.0.1'];
      };
      const policy = createEgressPolicy([], resolver);
      const error = await meshError(open({ transport: 'http', url: `http://rebind.test:${target.port}/mcp`, headers: {} }, policy));
      expect(error.code).toBe('permission_denied');
      expect(error.message).toContain('"rebind.test" (resolved to 127.0.0.1)');
      expect(lookups).toBe(2);
      expect(target.connections()).toBe(0);
    } finally {
      await target.stop();
    }
  });

  describe('redirects', () => {
    /** Answers every request with `status` and a Location from `target()`, counting requests. */
    async function redirector(status: number, target: (port: number) => string): Promise<{ port: number; requests(): number; stop(): Promise<void> }> {
      let requests = 0;
      let port = 0;
      const server = http.createServer((req, res) => {
        requests++;
        req.resume();
        res.writeHead(status, { location: target(port) }).end();
      });
      port = await listen(server);
      return { port, requests: () => requests, stop: () => stop(server) };
    }

    it('refuses a redirect to a loopback address that is not allow-listed, without connecting to it', async () => {
      const target = await countingServer();
      const hop = await redirector(307, () => `http://127.0.0.1:${target.port}/mcp`);
      try {
        const policy = createEgressPolicy([`127.0.0.1:${hop.port}`]);
        const error = await meshError(open({ transport: 'http', url: `http://127.0.0.1:${hop.port}/mcp`, headers: {} }, policy));
        expect(error.code).toBe('permission_denied');
        expect(error.message).toMatch(/^the upstream redirected to a URL that is not allowed: redirect: requests to "127.0.0.1" are not allowed/);
        expect(hop.requests()).toBe(1);
        expect(target.connections()).toBe(0);
      } finally {
        await Promise.all([hop.stop(), target.stop()]);
      }
    });

    it('follows an allowed redirect, without the spec headers when it leaves the origin', async () => {
      const front = await proxy();
      const hop = await redirector(307, () => `http://127.0.0.1:${front.port}/mcp`);
      try {
        const policy = createEgressPolicy([`127.0.0.1:${hop.port}`, `127.0.0.1:${front.port}`]);
        const upstream = await open({ transport: 'http', url: `http://127.0.0.1:${hop.port}/mcp`, headers: { authorization: 'Bearer secret' } }, policy);
        expect(text(await call(upstream, 'echo', { message: 'redirected' }))).toBe('Echo: redirected');
        expect(hop.requests()).toBeGreaterThanOrEqual(3);
        expect(front.seen.length).toBe(hop.requests());
        for (const { headers } of front.seen) expect(headers.authorization).toBeUndefined();
      } finally {
        await Promise.all([hop.stop(), front.stop()]);
      }
    });

    it('gives up after 3 redirects', async () => {
      const hop = await redirector(308, (port) => `http://127.0.0.1:${port}/again`);
      try {
        const policy = createEgressPolicy([`127.0.0.1:${hop.port}`]);
        const error = await meshError(open({ transport: 'http', url: `http://127.0.0.1:${hop.port}/mcp`, headers: {} }, policy));
        expect(error).toMatchObject({ code: 'unavailable', message: 'the upstream redirected more than 3 times' });
        expect(hop.requests()).toBe(4);
      } finally {
        await hop.stop();
      }
    });
  });
});
