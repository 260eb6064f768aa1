import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startHttpServerProcess } from '../helpers/http-server-process.js';
import { tempDataDir, writeConfig } from '../helpers/server-process.js';

/** A request to the server on 127.0.0.1 naming another Host, as a proxy or DNS name would. */
function get(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: path === '/mcp' ? 'POST' : 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('agent-mesh serve behind other host names', () => {
  it('names itself by the request Host in resource metadata and WWW-Authenticate, lists the JWT issuer, and matches default ports', async () => {
    const data = tempDataDir();
    const config = writeConfig(data.dir, {
      jwt: { secret: 'an-hs256-shared-secret-of-32-bytes!!', audience: 'agent-mesh', issuer: 'https://issuer.test', claims: { tenant: 'org', user: 'sub' } },
    });
    const env = { AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config };
    const server = await startHttpServerProcess(env, ['--allowed-hosts', 'mesh.example.com,other.example:443']);
    const proxied = await startHttpServerProcess(env, ['--allowed-hosts', 'mesh.example.com', '--trust-proxy']);
    try {
      const port = new URL(server.url).port;
      const metadata = await get(server.url, '/.well-known/oauth-protected-resource', { host: `mesh.example.com:${port}` });
      expect(metadata.status).toBe(200);
      expect(JSON.parse(metadata.body)).toMatchObject({ resource: `http://mesh.example.com:${port}/mcp`, authorization_servers: ['https://issuer.test'] });
      const unauthorized = await get(server.url, '/mcp', { host: 'mesh.example.com' });
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers['www-authenticate']).toBe('Bearer resource_metadata="http://mesh.example.com/.well-known/oauth-protected-resource"');
      // X-Forwarded-Proto is not trusted without --trust-proxy.
      const untrusted = await get(server.url, '/.well-known/oauth-protected-resource', { host: 'mesh.example.com', 'x-forwarded-proto': 'https' });
      expect(JSON.parse(untrusted.body)).toMatchObject({ resource: 'http://mesh.example.com/mcp' });
      const trusted = await get(proxied.url, '/.well-known/oauth-protected-resource', { host: 'mesh.example.com', 'x-forwarded-proto': 'https' });
      expect(JSON.parse(trusted.body)).toMatchObject({ resource: 'https://mesh.example.com/mcp' });

      // Default ports: an entry with :443 matches the name without a port, and the Origin a browser sends.
      expect((await get(server.url, '/healthz', { host: 'other.example' })).status).toBe(200);
      expect((await get(server.url, '/healthz', { host: 'other.example', origin: 'https://other.example' })).status).toBe(200);
      expect((await get(server.url, '/healthz', { host: 'other.example:8443' })).status).toBe(403);
      expect((await get(server.url, '/healthz', { host: `mesh.example.com:${port}`, origin: `http://mesh.example.com:${port}` })).status).toBe(200);
      expect((await get(server.url, '/healthz', { host: 'evil.example' })).status).toBe(403);
    } finally {
      await Promise.all([server.stop(), proxied.stop()]);
      data.cleanup();
    }
  });
});
