import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, httpClient, runCli, startHttpServerProcess, type HttpServerProcess } from '../helpers/http-server-process.js';
import { tempDataDir, writeConfig } from '../helpers/server-process.js';

type Client = Awaited<ReturnType<typeof httpClient>>;
const call = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
const structured = (result: CallToolResult) => result.structuredContent as Record<string, unknown> & { error?: { code: string } };
const sessionIdOf = (client: Client) => (client.transport as { sessionId?: string } | undefined)?.sessionId ?? '';

/** tools/call on an existing session by hand, with any bearer token: the status and the JSON-RPC message (SSE or JSON). */
async function rawCall(url: string, token: string, sessionId: string, name: string, args: Record<string, unknown>): Promise<{ status: number; message?: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`, 'mcp-session-id': sessionId },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args } }),
  });
  const text = await response.text();
  const data = /^data: (.*)$/m.exec(text)?.[1] ?? text;
  return { status: response.status, message: data ? (JSON.parse(data) as Record<string, unknown>) : undefined };
}

describe('agent-mesh serve: a session belongs to the credential that opened it', () => {
  const data = tempDataDir();
  const secret = 'an-hs256-shared-secret-of-32-bytes!!';
  const env = {
    AGENT_MESH_DATA_DIR: data.dir,
    AGENT_MESH_CONFIG: writeConfig(data.dir, {
      jwt: { secret, audience: 'agent-mesh', issuer: 'https://issuer.test', claims: { tenant: 'org', user: 'user', permissions: 'scope' } },
    }),
  };
  let server: HttpServerProcess;

  beforeAll(async () => {
    admin(env, 'tenants', 'create', 'acme');
    server = await startHttpServerProcess(env);
  });
  afterAll(async () => {
    await server?.stop();
    data.cleanup();
  });

  it("refuses another key of the same user on a session (404), and a revoked key's session", async () => {
    const broad = admin(env, 'keys', 'create', '--tenant', 'acme', '--user', 'alice');
    const narrow = admin(env, 'keys', 'create', '--tenant', 'acme', '--user', 'alice', '--permissions', 'kv:read');
    const client = await httpClient(server.url, broad);
    try {
      expect((await call(client, 'kv_set', { key: 'k', value: 'by broad' })).isError).toBeFalsy();
      const sessionId = sessionIdOf(client);
      expect(sessionId).toBeTruthy();
      const hijack = await rawCall(server.url, narrow, sessionId, 'kv_set', { key: 'k', value: 'by narrow' });
      expect(hijack.status).toBe(404);
      // The same key goes on working on its session.
      const own = await rawCall(server.url, broad, sessionId, 'kv_get', { key: 'k' });
      expect(own.status).toBe(200);
      expect((own.message?.result as CallToolResult).structuredContent).toMatchObject({ value: 'by broad' });
      admin(env, 'keys', 'revoke', broad.split('_')[1]!);
      expect((await rawCall(server.url, broad, sessionId, 'kv_set', { key: 'k', value: 'after revoke' })).status).toBe(401);
      expect((await rawCall(server.url, narrow, sessionId, 'kv_set', { key: 'k', value: 'after revoke' })).status).toBe(404);
      const reader = await httpClient(server.url, narrow);
      expect(structured(await call(reader, 'kv_get', { key: 'k' })).value).toBe('by broad');
      await reader.close();
    } finally {
      await client.close().catch(() => {});
    }
  });

  it("binds a JWT session to the token's issuer and subject, with the request's own permissions, never more than at opening", async () => {
    const { SignJWT } = await import('jose');
    const token = (sub: string, scope: string) =>
      new SignJWT({ org: 'acme', user: 'bob', scope })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuer('https://issuer.test')
        .setAudience('agent-mesh')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
    const client = await httpClient(server.url, await token('bob-1', 'kv:read kv:write'));
    try {
      const sessionId = sessionIdOf(client);
      // Another subject with the same tenant and user claims: not this session.
      expect((await rawCall(server.url, await token('bob-2', 'kv:read kv:write'), sessionId, 'kv_get', { key: 'j' })).status).toBe(404);
      // A fresh token of the same subject works, with its own narrower permissions.
      const narrower = await rawCall(server.url, await token('bob-1', 'kv:read'), sessionId, 'kv_set', { key: 'j', value: 1 });
      expect(narrower.status).toBe(200);
      expect((narrower.message?.result as CallToolResult).structuredContent).toMatchObject({ error: { code: 'permission_denied' } });
      // A broader token does not widen the session beyond what it was opened with.
      const broader = await rawCall(server.url, await token('bob-1', 'kv:read kv:write events:write'), sessionId, 'events_send', { source: 'a.b', detail_type: 'X', detail: {} });
      expect(broader.status).toBe(200);
      expect(JSON.stringify(broader.message)).toMatch(/permission_denied|Unknown tool/);
      const same = await rawCall(server.url, await token('bob-1', 'kv:read kv:write'), sessionId, 'kv_set', { key: 'j', value: 2 });
      expect((same.message?.result as CallToolResult).isError).toBeFalsy();
    } finally {
      await client.close().catch(() => {});
    }
    // Resources too: a session opened with artifacts:read, read with a token that no longer has it.
    const reader = await httpClient(server.url, await token('bob-1', 'artifacts:*'));
    try {
      expect((await call(reader, 'artifacts_put', { key: 'doc.txt', content: 'hello' })).isError).toBeFalsy();
      expect((await reader.readResource({ uri: 'artifact://doc.txt' })).contents[0]).toMatchObject({ text: 'hello' });
      const response = await fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${await token('bob-1', 'kv:read')}`,
          'mcp-session-id': sessionIdOf(reader),
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'resources/read', params: { uri: 'artifact://doc.txt' } }),
      });
      const text = await response.text();
      expect(text).not.toContain('hello');
      expect(text).toMatch(/permission/i);
    } finally {
      await client.close().catch(() => {});
    }
  });

  it('closes a /ws feed when its key is revoked, and when its JWT expires', async () => {
    const { WebSocket } = await import('ws');
    const { SignJWT } = await import('jose');
    const feedUrl = server.url.replace(/^http/, 'ws').replace(/\/mcp$/, '/ws');
    const closed = (socket: InstanceType<typeof WebSocket>) =>
      new Promise<{ code: number; reason: string; after: number }>((resolve, reject) => {
        const started = Date.now();
        socket.once('error', reject);
        socket.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8'), after: Date.now() - started }));
      });
    const opened = (socket: InstanceType<typeof WebSocket>) => new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));

    const key = admin(env, 'keys', 'create', '--tenant', 'acme', '--user', 'carol');
    const byKey = new WebSocket(feedUrl, { headers: { authorization: `Bearer ${key}` } });
    await opened(byKey);
    const keyClosed = closed(byKey);
    admin(env, 'keys', 'revoke', key.split('_')[1]!);
    expect(await keyClosed).toMatchObject({ code: 1008, reason: 'credential revoked' });

    const jwt = await new SignJWT({ org: 'acme', user: 'dave', scope: 'events:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('dave')
      .setIssuer('https://issuer.test')
      .setAudience('agent-mesh')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
      .sign(new TextEncoder().encode(secret));
    const byJwt = new WebSocket(`${feedUrl}?access_token=${encodeURIComponent(jwt)}`);
    await opened(byJwt);
    const jwtClosed = await closed(byJwt);
    expect(jwtClosed).toMatchObject({ code: 1008, reason: 'credential expired' });
    expect(jwtClosed.after).toBeLessThan(4_000);
  }, 20_000);
});

describe('agent-mesh serve: open sessions per credential', () => {
  it("closes a credential's least recently used session beyond --max-sessions-per-credential, not other credentials' sessions", async () => {
    const data = tempDataDir();
    const env = { AGENT_MESH_DATA_DIR: data.dir };
    admin(env, 'tenants', 'create', 'acme');
    const leaky = admin(env, 'keys', 'create', '--tenant', 'acme', '--user', 'leaky');
    const other = admin(env, 'keys', 'create', '--tenant', 'acme', '--user', 'other');
    const server = await startHttpServerProcess(env, ['--max-sessions-per-credential', '2']);
    const clients: Client[] = [];
    try {
      const neighbour = await httpClient(server.url, other);
      clients.push(neighbour);
      const first = await httpClient(server.url, leaky);
      const second = await httpClient(server.url, leaky);
      clients.push(first, second);
      // first is used again, so second is now the least recently used.
      expect((await call(first, 'kv_list', {})).isError).toBeFalsy();
      const third = await httpClient(server.url, leaky);
      clients.push(third);
      expect((await rawCall(server.url, leaky, sessionIdOf(second), 'kv_list', {})).status).toBe(404);
      for (const kept of [first, third, neighbour]) expect((await call(kept, 'kv_list', {})).isError).toBeFalsy();
      const metrics = await (await fetch(server.url.replace(/\/mcp$/, '/metrics'), { headers: { authorization: `Bearer ${other}` } })).text();
      expect(metrics).toMatch(/^agent_mesh_open_sessions 3$/m);
      const refused = await runCli(env, 'serve', '--port', '0', '--max-sessions-per-credential', '0');
      expect(refused.status).toBe(78);
      expect(refused.stderr).toMatch(/--max-sessions-per-credential: "0" is not a positive whole number/);
    } finally {
      await Promise.all(clients.map((client) => client.close().catch(() => {})));
      await server.stop();
      data.cleanup();
    }
  });
});

describe('agent-mesh serve: idle sessions', () => {
  const data = tempDataDir();
  const env = { AGENT_MESH_DATA_DIR: data.dir };
  let server: HttpServerProcess;

  beforeAll(async () => {
    admin(env, 'tenants', 'create', 'acme');
    server = await startHttpServerProcess(env, ['--session-idle-minutes', '0.05']);
  });
  afterAll(async () => {
    await server?.stop();
    data.cleanup();
  });

  it('closes a session without requests, but not one whose client listens on its GET stream', async () => {
    const key = admin(env, 'keys', 'create', '--tenant', 'acme', '--user', 'idle');
    // The SDK client opens the GET stream after initialize, as MCP clients do.
    const listening = await httpClient(server.url, key);
    try {
      const initialize = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${key}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'idle', version: '1' } } }),
      });
      const idleSession = initialize.headers.get('mcp-session-id')!;
      expect(idleSession).toBeTruthy();
      await new Promise((resolve) => setTimeout(resolve, 6_000)); // twice the 3 s idle limit
      expect((await rawCall(server.url, key, idleSession, 'kv_get', { key: 'k' })).status).toBe(404);
      expect(structured(await call(listening, 'kv_set', { key: 'k', value: 'still here' })).version).toBe(1);
    } finally {
      await listening.close();
    }
  }, 30_000);

  it('refuses an idle limit that is not a positive number of minutes', async () => {
    const run = await runCli(env, 'serve', '--port', '0', '--session-idle-minutes', '0');
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/--session-idle-minutes: "0" is not a number of minutes above 0/);
  });
});
