import { spawnSync } from 'node:child_process';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, httpClient, runCli, startHttpServerProcess, type HttpServerProcess } from '../helpers/http-server-process.js';
import { SERVER_ENTRY, tempDataDir, writeConfig } from '../helpers/server-process.js';

const call = async (client: Awaited<ReturnType<typeof httpClient>>, name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as CallToolResult;
const structured = (result: CallToolResult) => result.structuredContent as Record<string, unknown> & { error?: { code: string } };

describe('agent-mesh serve: Streamable HTTP with API keys', () => {
  const data = tempDataDir();
  const env = {
    AGENT_MESH_DATA_DIR: data.dir,
    AGENT_MESH_CONFIG: writeConfig(data.dir, {
      defaults: { rateLimits: { stepfunctions: { capacity: 1000, refillPerSecond: 1000 } } },
      tenants: { alpha: { rateLimits: { sns: { capacity: 1, refillPerSecond: 0.01 } } } },
    }),
  };
  let server: HttpServerProcess;
  let alphaKey: string;
  let betaKey: string;

  beforeAll(async () => {
    admin(env, 'tenants', 'create', 'alpha');
    admin(env, 'tenants', 'create', 'beta');
    alphaKey = admin(env, 'keys', 'create', '--tenant', 'alpha', '--user', 'alice');
    betaKey = admin(env, 'keys', 'create', '--tenant', 'beta', '--user', 'bob', '--permissions', 'kv:*');
    server = await startHttpServerProcess(env);
  });
  afterAll(async () => {
    await server?.stop();
    data.cleanup();
  });

  it('prints a key once and stores only its hash', () => {
    expect(alphaKey).toMatch(/^amk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const listed = admin(env, 'keys', 'list');
    expect(listed).toContain('alpha\talice');
    expect(listed).not.toContain(alphaKey.split('_')[2]!);
    expect(() => admin(env, 'keys', 'create', '--tenant', 'nobody', '--user', 'x')).toThrow(/no tenant "nobody"/);
    expect(() => admin(env, 'keys', 'create', '--user', 'x')).toThrow(/--tenant is required/);
  });

  it('answers 401 with WWW-Authenticate without a key or with a bad one, and serves health and resource metadata', async () => {
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } } };
    const post = (headers: Record<string, string>) =>
      fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(initialize) });
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"$/);
    const bad = await post({ authorization: `Bearer ${alphaKey.slice(0, -4)}AAAA` });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect((await post({ authorization: 'Bearer nonsense' })).status).toBe(401);
    const base = server.url.replace(/\/mcp$/, '');
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok' });
    expect(await (await fetch(`${base}/.well-known/oauth-protected-resource`)).json()).toMatchObject({ resource: server.url });
  });

  it('refuses a foreign Host or Origin (DNS rebinding)', async () => {
    const url = new URL(server.url);
    const raw = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        import('node:http').then(({ request }) => {
          const req = request({ host: '127.0.0.1', port: url.port, path: '/healthz', headers }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        }, reject);
      });
    expect(await raw({ host: `evil.example:${url.port}` })).toBe(403);
    expect(await raw({ host: `127.0.0.1:${url.port}`, origin: 'http://evil.example' })).toBe(403);
    expect(await raw({ host: `localhost:${url.port}`, origin: `http://localhost:${url.port}` })).toBe(200);
  });

  it('keeps tenants apart and a session to the credentials that opened it', async () => {
    const alpha = await httpClient(server.url, alphaKey);
    const beta = await httpClient(server.url, betaKey);
    try {
      expect((await call(alpha, 'kv_set', { key: 'secret', value: 'alpha only' })).isError).toBeFalsy();
      expect(structured(await call(beta, 'kv_get', { key: 'secret' })).error?.code).toBe('not_found');
      expect(structured(await call(alpha, 'kv_get', { key: 'secret' })).value).toBe('alpha only');
      // A session offers MCP tasks and resource subscriptions (not so with --stateless).
      expect(alpha.getServerCapabilities()?.tasks).toBeDefined();
      expect(alpha.getServerCapabilities()?.resources).toMatchObject({ subscribe: true });
      // bob's key carries only kv permissions: the other tools are not listed.
      expect((await beta.listTools()).tools.every((t) => t.name.startsWith('kv_'))).toBe(true);
      // beta's key on alpha's session id: as if the session did not exist.
      const sessionId = (alpha.transport as { sessionId?: string } | undefined)?.sessionId;
      expect(sessionId).toBeTruthy();
      const hijack = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${betaKey}`, 'mcp-session-id': sessionId! },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'kv_get', arguments: { key: 'secret' } } }),
      });
      expect(hijack.status).toBe(404);
    } finally {
      await Promise.all([alpha.close(), beta.close()]);
    }
  });

  it('serves Prometheus metrics for the calls it answered, only to admin:read credentials', async () => {
    const client = await httpClient(server.url, alphaKey);
    await call(client, 'kv_set', { key: 'metered', value: 1 });
    await call(client, 'kv_get', { key: 'missing-key' });
    await client.close();
    const metricsUrl = server.url.replace(/\/mcp$/, '/metrics');
    const anonymous = await fetch(metricsUrl);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata=/);
    expect(await anonymous.text()).not.toContain('alpha');
    expect((await fetch(metricsUrl, { headers: { authorization: `Bearer ${alphaKey.slice(0, -4)}AAAA` } })).status).toBe(401);
    // bob's key holds kv:* only.
    const forbidden = await fetch(metricsUrl, { headers: { authorization: `Bearer ${betaKey}` } });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.text()).not.toContain('alpha');
    const response = await fetch(metricsUrl, { headers: { authorization: `Bearer ${alphaKey}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/agent_mesh_tool_calls_total\{tool="kv_set",outcome="ok",tenant="alpha"\} \d+/);
    expect(text).toMatch(/agent_mesh_tool_calls_total\{tool="kv_get",outcome="not_found",tenant="alpha"\} 1/);
    expect(text).toMatch(/agent_mesh_open_sessions \d+/);
  });

  it('feeds each tenant its own events, workflow transitions and rate-limit refusals over /ws', async () => {
    const { WebSocket } = await import('ws');
    const feedUrl = server.url.replace(/^http/, 'ws').replace(/\/mcp$/, '/ws');
    const messages: Record<string, unknown>[] = [];
    const socket = new WebSocket(`${feedUrl}?access_token=${encodeURIComponent(alphaKey)}`);
    socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
    await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
    const unauthorized = new WebSocket(feedUrl);
    await expect(new Promise((resolve, reject) => (unauthorized.once('open', resolve), unauthorized.once('error', reject)))).rejects.toThrow(/401/);

    const alpha = await httpClient(server.url, alphaKey);
    const gamma = admin(env, 'keys', 'create', '--tenant', 'beta', '--user', 'carol');
    const beta = await httpClient(server.url, gamma);
    try {
      await call(beta, 'events_send', { source: 'beta.app', detail_type: 'Private', detail: { secret: 'beta' } });
      await call(alpha, 'events_send', { source: 'alpha.app', detail_type: 'Hello', detail: { n: 1 } });
      await call(alpha, 'workflow_create', { name: 'feed-flow', definition: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } });
      await call(alpha, 'workflow_start', { name: 'feed-flow', wait_seconds: 5 });
      await call(alpha, 'events_list_alerts', {});
      expect(structured(await call(alpha, 'events_list_alerts', {})).error?.code).toBe('rate_limited');
      for (let i = 0; i < 50 && !messages.some((m) => m.type === 'workflow' && m.status === 'SUCCEEDED'); i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await Promise.all([alpha.close(), beta.close()]);
      socket.close();
    }
    expect(messages[0]).toMatchObject({ type: 'hello', tenant: 'alpha', user: 'alice' });
    const events = messages.filter((m) => m.type === 'event').map((m) => (m.event as { source: string }).source);
    expect(events).toContain('alpha.app');
    expect(events).not.toContain('beta.app');
    expect(JSON.stringify(messages)).not.toContain('"secret":"beta"');
    expect(messages.some((m) => m.type === 'workflow' && m.workflow === 'feed-flow' && m.status === 'SUCCEEDED')).toBe(true);
    expect(messages.some((m) => m.type === 'rate_limited' && m.service === 'sns' && m.user === 'alice')).toBe(true);
  });

  it('refuses a revoked key, also on a session it already opened', async () => {
    const token = admin(env, 'keys', 'create', '--tenant', 'alpha', '--user', 'temp');
    const client = await httpClient(server.url, token);
    expect((await call(client, 'kv_list', {})).isError).toBeFalsy();
    admin(env, 'keys', 'revoke', token.split('_')[1]!);
    await expect(call(client, 'kv_list', {})).rejects.toThrow(/401|revoked|Unauthorized/i);
    await expect(httpClient(server.url, token)).rejects.toThrow();
    await client.close().catch(() => {});
  });

  it('finishes in-flight calls on SIGTERM, then exits', async () => {
    const own = await startHttpServerProcess(env);
    const client = await httpClient(own.url, alphaKey);
    await call(client, 'workflow_create', { name: 'slow', definition: { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 1, End: true } } } });
    const pending = call(client, 'workflow_start', { name: 'slow', wait_seconds: 10 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    own.child.kill('SIGTERM');
    const result = await pending;
    expect(structured(result).status).toBe('SUCCEEDED');
    expect(await own.exited).toBe(0);
    await client.close().catch(() => {});
  });
});

describe('agent-mesh serve shutdown', () => {
  it('answers calls still running when the grace period ends with unavailable, then exits 0', async () => {
    const data = tempDataDir();
    const env = { AGENT_MESH_DATA_DIR: data.dir };
    admin(env, 'tenants', 'create', 'alpha');
    const key = admin(env, 'keys', 'create', '--tenant', 'alpha', '--user', 'alice');
    const own = await startHttpServerProcess(env, ['--shutdown-grace-seconds', '1']);
    try {
      const client = await httpClient(own.url, key);
      await call(client, 'workflow_create', { name: 'slower', definition: { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 4, End: true } } } });
      const pending = call(client, 'workflow_start', { name: 'slower', wait_seconds: 30 });
      const pendingList = client.listTools();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      own.child.kill('SIGTERM');
      const result = await pending;
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(result.isError).toBe(true);
      expect(structured(result).error).toMatchObject({ code: 'unavailable' });
      expect(JSON.stringify(result.content)).toMatch(/shutting down/);
      await pendingList; // answered long before: not touched
      expect(await own.exited).toBe(0);
      await client.close().catch(() => {});
    } finally {
      await own.stop();
      data.cleanup();
    }
  });
});

describe('agent-mesh serve modes', () => {
  it('--auth none serves one tenant without credentials, only on loopback', async () => {
    const data = tempDataDir();
    const env = { AGENT_MESH_DATA_DIR: data.dir };
    const refused = spawnSync(process.execPath, [SERVER_ENTRY, 'serve', '--auth', 'none', '--host', '0.0.0.0', '--port', '0'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
    expect(refused.status).toBe(78);
    expect(refused.stderr).toMatch(/--auth none .* only to loopback/);
    const server = await startHttpServerProcess(env, ['--auth', 'none']);
    try {
      const client = await httpClient(server.url);
      expect((await call(client, 'kv_set', { key: 'k', value: 1 })).isError).toBeFalsy();
      await client.close();
      // Without credentials there is only one tenant to see: /metrics needs none either.
      expect((await fetch(server.url.replace(/\/mcp$/, '/metrics'))).status).toBe(200);
    } finally {
      await server.stop();
      data.cleanup();
    }
  });

  it('refuses a port already in use and a host that is not this machine, in one line naming the option', async () => {
    const data = tempDataDir();
    const env = { AGENT_MESH_DATA_DIR: data.dir };
    const server = await startHttpServerProcess(env, ['--auth', 'none']);
    try {
      const port = new URL(server.url).port;
      const taken = await runCli(env, 'serve', '--auth', 'none', '--port', port);
      expect(taken.status).toBe(78);
      expect(taken.stderr).toBe(
        `agent-mesh: configuration error: --port ${port}: 127.0.0.1:${port} is already in use (another agent-mesh?); choose another with --port or AGENT_MESH_HTTP_PORT\n`,
      );
      // 192.0.2.0/24 is TEST-NET-1: never an address of this machine.
      const foreign = await runCli(env, 'serve', '--host', '192.0.2.1', '--port', '0');
      expect(foreign.status).toBe(78);
      expect(foreign.stderr).toBe('agent-mesh: configuration error: --host "192.0.2.1": not an address of this machine\n');
    } finally {
      await server.stop();
      data.cleanup();
    }
  });

  it('--stateless answers without sessions, for instances behind a load balancer', async () => {
    const data = tempDataDir();
    const env = { AGENT_MESH_DATA_DIR: data.dir };
    admin(env, 'tenants', 'create', 'solo');
    const token = admin(env, 'keys', 'create', '--tenant', 'solo', '--user', 'u');
    const [one, two] = await Promise.all([startHttpServerProcess(env, ['--stateless']), startHttpServerProcess(env, ['--stateless'])]);
    try {
      const a = await httpClient(one!.url, token);
      const b = await httpClient(two!.url, token);
      await call(a, 'kv_set', { key: 'shared', value: 'written via one' });
      expect(structured(await call(b, 'kv_get', { key: 'shared' })).value).toBe('written via one');
      // Nothing outlives a request: no MCP tasks (tasks/get could never find one), no resource subscriptions.
      const capabilities = a.getServerCapabilities();
      expect(capabilities?.tasks).toBeUndefined();
      expect(capabilities?.resources).toMatchObject({ subscribe: false });
      expect((await a.listTools()).tools.filter((tool) => tool.execution?.taskSupport !== undefined)).toEqual([]);
      await expect(a.subscribeResource({ uri: 'workflow://executions/x' })).rejects.toThrow(/Method not found/);
      expect(structured(await call(a, 'workflow_list', {})).error).toBeUndefined();
      await Promise.all([a.close(), b.close()]);
    } finally {
      await Promise.all([one!.stop(), two!.stop()]);
      data.cleanup();
    }
  });
});

describe('agent-mesh serve with JWT bearer tokens', () => {
  it('maps verified claims to tenant, user and permissions, and refuses a wrong audience', async () => {
    const { SignJWT } = await import('jose');
    const secret = 'an-hs256-shared-secret-of-32-bytes!!';
    const data = tempDataDir();
    const config = writeConfig(data.dir, {
      jwt: { secret, audience: 'agent-mesh', issuer: 'https://issuer.test', claims: { tenant: 'org', user: 'sub', permissions: 'scope' } },
    });
    const env = { AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config };
    const server = await startHttpServerProcess(env);
    const token = (audience: string) =>
      new SignJWT({ org: 'initech', scope: 'kv:read kv:write' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('peter')
        .setIssuer('https://issuer.test')
        .setAudience(audience)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
    try {
      const client = await httpClient(server.url, await token('agent-mesh'));
      expect((await client.listTools()).tools.every((t) => t.name.startsWith('kv_'))).toBe(true);
      expect((await call(client, 'kv_set', { key: 'who', value: 'peter' })).isError).toBeFalsy();
      await client.close();
      await expect(httpClient(server.url, await token('someone-else'))).rejects.toThrow();
      // API keys keep working beside JWTs.
      admin(env, 'tenants', 'create', 'initech');
      const key = admin(env, 'keys', 'create', '--tenant', 'initech', '--user', 'milton');
      const byKey = await httpClient(server.url, key);
      expect(structured(await call(byKey, 'kv_get', { key: 'who' })).value).toBe('peter');
      await byKey.close();
    } finally {
      await server.stop();
      data.cleanup();
    }
  });
});
