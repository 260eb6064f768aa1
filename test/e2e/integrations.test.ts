import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startServer, structured, tempDataDir, writeConfig, type ServerHandle } from '../helpers/server-process.js';
import { EVERYTHING, FIXTURES, MEMORY, startEverythingHttp } from '../helpers/upstreams.js';

const UNLIMITED = { capacity: 1_000_000, refillPerSecond: 1_000_000 };
const node = process.execPath;
const fixture = (name: string) => join(FIXTURES, name);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const textOf = (result: CallToolResult) => (result.content[0] as { text?: string }).text;

describe('integrations and the MCP proxy, end to end over stdio', () => {
  const data = tempDataDir();
  let http: { port: number; child: ChildProcess };
  let alpha: ServerHandle;
  let beta: ServerHandle;

  beforeAll(async () => {
    http = await startEverythingHttp();
    const config = writeConfig(data.dir, {
      defaults: { rateLimits: { mcp: UNLIMITED, stepfunctions: UNLIMITED } },
      network: { allow: [`127.0.0.1:${http.port}`] },
      integrations: {
        stdioCommands: [
          { command: node, argsPrefix: [EVERYTHING] },
          { command: node, args: [MEMORY] },
          ...['crashy.mjs', 'hangy.mjs', 'changing.mjs', 'env.mjs'].map((name) => ({ command: node, args: [fixture(name)] })),
        ],
        callTimeoutMs: 1500,
        circuitBreaker: { failureThreshold: 2, openMs: 1500 },
        exposeTools: true,
      },
    });
    const env = { AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config };
    [alpha, beta] = await Promise.all([
      startServer({ ...env, AGENT_MESH_TENANT_ID: 'alpha' }),
      startServer({ ...env, AGENT_MESH_TENANT_ID: 'beta' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([alpha?.close(), beta?.close()]);
    http?.child.kill();
    data.cleanup();
  });

  it('registers, connects and lists server-everything over stdio, with secrets encrypted and never shown', async () => {
    const registered = await alpha.call('integration_register', {
      name: 'everything',
      transport: 'stdio',
      command: node,
      args: [EVERYTHING, 'stdio'],
      env: { API_TOKEN: 'tok-alpha-secret' },
      description: 'the reference server',
      tags: ['demo'],
    });
    expect(structured(registered)).toMatchObject({ name: 'everything', created: true, env: { API_TOKEN: '***' }, status: 'disconnected' });
    const connected = structured(await alpha.call('integration_connect', { name: 'everything' }));
    expect(connected).toMatchObject({ name: 'everything', server: { name: 'mcp-servers/everything' } });
    expect(connected.tool_count).toBeGreaterThan(5);

    const listed = structured(await alpha.call('integration_list', {}));
    expect(listed.integrations).toEqual([
      expect.objectContaining({ name: 'everything', status: 'connected', tool_count: connected.tool_count, env: { API_TOKEN: '***' }, last_error: null }),
    ]);
    expect(JSON.stringify(listed)).not.toContain('tok-alpha-secret');

    const db = new Database(join(data.dir, 'agent-mesh.db'), { readonly: true });
    const rows = db.prepare('SELECT record FROM integrations').all() as { record: string }[];
    db.close();
    expect(rows.map((row) => row.record).join('')).not.toContain('tok-alpha-secret');

    // The upstream does get the decrypted value.
    const env = await alpha.call('mcp_proxy', { integration: 'everything', tool: 'get-env', arguments: {} });
    expect(textOf(env)).toContain('tok-alpha-secret');
  });

  it('passes every content type, structuredContent and isError through untouched', async () => {
    const call = (tool: string, args: Record<string, unknown> = {}) => alpha.call('mcp_proxy', { integration: 'everything', tool, arguments: args });
    expect((await call('echo', { message: 'hi' })).content).toEqual([{ type: 'text', text: 'Echo: hi' }]);
    const image = await call('get-tiny-image');
    expect(image.content.some((block) => block.type === 'image' && (block as { mimeType: string }).mimeType === 'image/png')).toBe(true);
    const resource = await call('get-resource-reference', { resourceType: 'Text', resourceId: 1 });
    expect(resource.content.some((block) => block.type === 'resource')).toBe(true);
    const links = await call('get-resource-links', { count: 2 });
    expect(links.content.filter((block) => block.type === 'resource_link').length).toBe(2);
    const weather = await call('get-structured-content', { location: 'Chicago' });
    expect(weather.structuredContent).toMatchObject({ temperature: expect.any(Number), conditions: expect.any(String) });
    const invalid = await call('get-structured-content', { location: 'Atlantis' });
    expect(invalid.isError).toBe(true);
    expect(invalid.structuredContent).toBeUndefined(); // the upstream's error, not ours
  });

  it('forwards progress notifications from the upstream', async () => {
    const progress: number[] = [];
    const result = await alpha.client.callTool(
      { name: 'mcp_proxy', arguments: { integration: 'everything', tool: 'trigger-long-running-operation', arguments: { duration: 1, steps: 4 } } },
      undefined,
      { onprogress: (p) => progress.push(p.progress), timeout: 20_000 },
    );
    expect(result.isError).toBeFalsy();
    // Every step's progress, in order. (The SDK client may drop a last progress that reaches it in the same
    // read as the result, though agent-mesh sends it first; so the last step is allowed to be missing.)
    expect(progress.slice(0, 3)).toEqual([1, 2, 3]);
    expect([[1, 2, 3], [1, 2, 3, 4]]).toContainEqual(progress);
  });

  it('names tools <integration>__<tool>, valid and unique, and lists them as first-class tools', async () => {
    const { tools } = structured(await alpha.call('mcp_list_tools', { integration: 'everything' })) as { tools: { name: string; namespaced_name: string }[] };
    const names = tools.map((t) => t.namespaced_name);
    expect(names.every((n) => /^[a-zA-Z0-9_-]{1,64}$/.test(n))).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('everything__echo');
    const listed = (await alpha.client.listTools()).tools.map((t) => t.name);
    expect(listed).toContain('everything__echo');
    expect(listed).toContain('kv_get');
    const direct = (await alpha.client.callTool({ name: 'everything__echo', arguments: { message: 'first-class' } })) as CallToolResult;
    expect(direct.content).toEqual([{ type: 'text', text: 'Echo: first-class' }]);
    // Another tenant sees none of it.
    expect((await beta.client.listTools()).tools.map((t) => t.name)).not.toContain('everything__echo');
  });

  it('keeps registries and sessions apart per tenant', async () => {
    expect(structured(await beta.call('integration_list', {})).integrations).toEqual([]);
    expect(errorCode(await beta.call('mcp_proxy', { integration: 'everything', tool: 'echo', arguments: { message: 'x' } }))).toBe('not_found');
    await beta.call('integration_register', { name: 'everything', transport: 'stdio', command: node, args: [EVERYTHING, 'stdio'], env: { API_TOKEN: 'tok-beta' } });
    const betaEnv = textOf(await beta.call('mcp_proxy', { integration: 'everything', tool: 'get-env', arguments: {} }));
    expect(betaEnv).toContain('tok-beta');
    expect(betaEnv).not.toContain('tok-alpha-secret');
    // The upstream never sees the server's own secrets.
    expect(betaEnv).not.toContain('AGENT_MESH_CONFIG');
  });

  it('runs only allow-listed commands and refuses environment variables that change what runs', async () => {
    const refused = await alpha.call('integration_register', { name: 'shell', transport: 'stdio', command: '/bin/sh', args: ['-c', 'id'] });
    expect(structured(refused).error).toMatchObject({ code: 'permission_denied', field: 'command' });
    const otherArgs = await alpha.call('integration_register', { name: 'memory2', transport: 'stdio', command: node, args: [MEMORY, '--evil'] });
    expect(errorCode(otherArgs)).toBe('permission_denied');
    const preload = await alpha.call('integration_register', { name: 'memory3', transport: 'stdio', command: node, args: [MEMORY], env: { NODE_OPTIONS: '--require /tmp/x.js' } });
    expect(structured(preload).error).toMatchObject({ code: 'invalid_argument', field: 'env.NODE_OPTIONS' });
    expect(errorCode(await alpha.call('integration_register', { name: 'bad__name', transport: 'stdio', command: node, args: [MEMORY] }))).toBe('invalid_argument');
    const names = (structured(await alpha.call('integration_list', {})).integrations as { name: string }[]).map((i) => i.name);
    expect(names).toEqual(['everything']);
  });

  it('refuses HTTP integrations to private or metadata addresses, and reaches an allow-listed one', async () => {
    const register = (name: string, url: string) => alpha.call('integration_register', { name, transport: 'http', url });
    expect(errorCode(await register('meta', 'http://169.254.169.254/mcp'))).toBe('permission_denied');
    expect(errorCode(await register('lan', 'http://10.1.2.3/mcp'))).toBe('permission_denied');
    expect(errorCode(await register('loop', `http://127.0.0.1:${http.port + 1}/mcp`))).toBe('permission_denied');
    expect(errorCode(await register('file', 'file:///etc/passwd'))).toBe('invalid_argument');
    const created = await alpha.call('integration_register', {
      name: 'everything-http',
      transport: 'http',
      url: `http://127.0.0.1:${http.port}/mcp`,
      headers: { Authorization: 'Bearer http-secret' },
    });
    expect(structured(created)).toMatchObject({ headers: { Authorization: '***' } });
    const echoed = await alpha.call('mcp_proxy', { integration: 'everything-http', tool: 'echo', arguments: { message: 'over http' } });
    expect(echoed.content).toEqual([{ type: 'text', text: 'Echo: over http' }]);
    const tested = structured(await alpha.call('integration_test', { name: 'everything-http' }));
    expect(tested).toMatchObject({ ok: true, error: null, server: { name: 'mcp-servers/everything' } });
    expect(Object.keys(tested.timings as object).sort()).toEqual(['connect_ms', 'list_tools_ms', 'ping_ms']);
    const after = (structured(await alpha.call('integration_list', {})).integrations as Record<string, unknown>[]).find((i) => i.name === 'everything-http');
    expect(after).toMatchObject({ last_error: null, last_latency_ms: expect.any(Number), last_health_check: expect.stringMatching(/^\d{4}-/) });
  });

  it('lets a workflow Task call an integration\'s tool (mcp:<integration>/<tool>)', async () => {
    const definition = {
      StartAt: 'Echo',
      States: { Echo: { Type: 'Task', Resource: 'mcp:everything/echo', Parameters: { 'message.$': '$.text' }, End: true } },
    };
    expect((await alpha.call('workflow_create', { name: 'via-mcp', definition })).isError).toBeFalsy();
    const run = structured(await alpha.call('workflow_start', { name: 'via-mcp', input: { text: 'from a workflow' }, wait_seconds: 20 }));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: 'Echo: from a workflow' });
    await alpha.call('workflow_create', { name: 'via-missing', definition: { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'mcp:nowhere/echo', End: true } } } });
    expect(structured(await alpha.call('workflow_start', { name: 'via-missing', wait_seconds: 20 }))).toMatchObject({ status: 'FAILED', error: 'agent-mesh.not_found' });
  });

  it('works with server-memory', async () => {
    await alpha.call('integration_register', { name: 'memory', transport: 'stdio', command: node, args: [MEMORY], env: { MEMORY_FILE_PATH: join(data.dir, 'memory.jsonl') } });
    const create = await alpha.call('mcp_proxy', {
      integration: 'memory',
      tool: 'create_entities',
      arguments: { entities: [{ name: 'agent-mesh', entityType: 'project', observations: ['an MCP gateway'] }] },
    });
    expect(create.isError).toBeFalsy();
    const graph = await alpha.call('mcp_proxy', { integration: 'memory', tool: 'read_graph', arguments: {} });
    expect(JSON.stringify(graph)).toContain('an MCP gateway');
  });

  it('reports a crashed upstream clearly and reconnects on the next call', async () => {
    await alpha.call('integration_register', { name: 'crashy', transport: 'stdio', command: node, args: [fixture('crashy.mjs')] });
    const crash = await alpha.call('mcp_proxy', { integration: 'crashy', tool: 'crash', arguments: {} });
    expect(structured(crash).error).toMatchObject({ code: 'unavailable' });
    expect(structured(crash).error?.message).toMatch(/crashy.*closed|closed.*crashy|upstream/);
    const again = await alpha.call('mcp_proxy', { integration: 'crashy', tool: 'echo', arguments: { message: 'back' } });
    expect(again.isError).toBeFalsy();
  });

  it('cuts off a hung upstream at the timeout, opens the circuit, and closes it again after a good probe', async () => {
    await alpha.call('integration_register', { name: 'hangy', transport: 'stdio', command: node, args: [fixture('hangy.mjs')] });
    const hang = () => alpha.call('mcp_proxy', { integration: 'hangy', tool: 'hang', arguments: {} });
    expect(errorCode(await hang())).toBe('timeout');
    expect(errorCode(await hang())).toBe('timeout');
    const open = await alpha.call('mcp_proxy', { integration: 'hangy', tool: 'echo', arguments: { message: 'x' } });
    expect(structured(open).error).toMatchObject({ code: 'unavailable' });
    expect(structured(open).error?.message).toMatch(/circuit is open/);
    const status = (structured(await alpha.call('integration_list', {})).integrations as { name: string; status: string }[]).find((i) => i.name === 'hangy');
    expect(status?.status).toBe('circuit_open');
    // Another integration is not affected.
    expect((await alpha.call('mcp_proxy', { integration: 'everything', tool: 'echo', arguments: { message: 'fine' } })).isError).toBeFalsy();
    await sleep(1600);
    expect((await alpha.call('mcp_proxy', { integration: 'hangy', tool: 'echo', arguments: { message: 'probe' } })).content).toEqual([
      { type: 'text', text: 'probe' },
    ]);
  });

  it('a cancelled mcp_proxy call is not answered, and the cancellation reaches the upstream', async () => {
    const marker = join(data.dir, 'hang-cancelled');
    await alpha.call('integration_register', {
      name: 'hangy-cancel',
      transport: 'stdio',
      command: node,
      args: [fixture('hangy.mjs')],
      env: { HANGY_CANCELLED_FILE: marker },
    });
    await alpha.call('integration_connect', { name: 'hangy-cancel' });
    const protocolErrors: Error[] = [];
    alpha.client.onerror = (error) => void protocolErrors.push(error);
    const controller = new AbortController();
    const call = alpha.client.callTool({ name: 'mcp_proxy', arguments: { integration: 'hangy-cancel', tool: 'hang', arguments: {} } }, undefined, {
      signal: controller.signal,
    });
    for (let waited = 0; !existsSync(`${marker}.started`) && waited < 1200; waited += 20) await sleep(20);
    expect(existsSync(`${marker}.started`)).toBe(true);
    controller.abort('changed my mind');
    await expect(call).rejects.toThrow(/changed my mind|abort/i);
    for (let waited = 0; !existsSync(marker) && waited < 1200; waited += 50) await sleep(50);
    expect(existsSync(marker)).toBe(true);
    // Past the call timeout: had the server answered the cancelled request, the client would have reported
    // a response to an unknown request.
    await sleep(1600);
    expect((await alpha.call('mcp_proxy', { integration: 'hangy-cancel', tool: 'echo', arguments: { message: 'still here' } })).isError).toBeFalsy();
    alpha.client.onerror = undefined;
    expect(protocolErrors.map((error) => error.message)).toEqual([]);
  });

  it('refreshes the tool list when the upstream says it changed, and tells the client', async () => {
    await alpha.call('integration_register', { name: 'changing', transport: 'stdio', command: node, args: [fixture('changing.mjs')] });
    await alpha.call('integration_connect', { name: 'changing' });
    let notified = 0;
    alpha.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void notified++);
    await alpha.call('mcp_proxy', { integration: 'changing', tool: 'add_tool', arguments: { name: 'brand_new' } });
    for (let i = 0; i < 50 && notified === 0; i++) await sleep(50);
    expect(notified).toBeGreaterThan(0);
    const { tools } = structured(await alpha.call('mcp_list_tools', { integration: 'changing' })) as { tools: { name: string }[] };
    expect(tools.map((t) => t.name)).toContain('brand_new');
    expect((await alpha.client.listTools()).tools.map((t) => t.name)).toContain('changing__brand_new');
  });

  it('disconnects and deletes', async () => {
    expect(structured(await alpha.call('integration_disconnect', { name: 'everything' }))).toEqual({ name: 'everything', disconnected: true });
    expect((await alpha.client.listTools()).tools.map((t) => t.name)).not.toContain('everything__echo');
    expect(structured(await alpha.call('integration_delete', { name: 'crashy' }))).toEqual({ name: 'crashy', deleted: true });
    expect(errorCode(await alpha.call('integration_connect', { name: 'crashy' }))).toBe('not_found');
  });
});
