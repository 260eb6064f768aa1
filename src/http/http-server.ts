import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../logging.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { narrowSession, type Authenticated } from '../tenancy/auth/credential.js';
import { hasPermission } from '../tenancy/permissions.js';
import type { Permission } from '../tenancy/tool-groups.js';
import { allowedHostsFor, checkHostAndOrigin } from './request-guard.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Stateless: a fresh MCP server per request, for several instances behind a load balancer. */
  stateless: boolean;
  allowedHosts: readonly string[];
  /**
   * Take the scheme of the URLs the server names (resource metadata) from X-Forwarded-Proto, for a TLS
   * proxy in front (--trust-proxy). Otherwise they are http:, the scheme this server speaks.
   */
  trustForwardedProto?: boolean;
  /** Issuers of the JWTs accepted (config jwt.issuer), listed as `authorization_servers` (RFC 9728). */
  authorizationServers?: readonly string[];
  /**
   * Open sessions one credential may hold (default DEFAULT_MAX_SESSIONS_PER_CREDENTIAL): opening one more
   * closes that credential's least recently used session, whose next request gets 404 "Session not found".
   */
  maxSessionsPerCredential?: number;
  /** How long a session may go without a request or an open GET stream before it is closed (default SESSION_IDLE_MS). */
  sessionIdleMs?: number;
  version: string;
  logger: Logger;
  /** How long SIGTERM waits for calls in flight (default SHUTDOWN_GRACE_MS); those still running are then answered `unavailable`. */
  shutdownGraceMs?: number;
  /** Prometheus text for GET /metrics, given the number of open sessions. */
  metrics?(openSessions: () => number): { contentType: string; render(): Promise<string> };
  /**
   * /metrics without credentials (`--auth none`). Otherwise it needs a bearer credential with `admin:read`:
   * its labels name every tenant.
   */
  openMetrics?: boolean;
  /** The auth layer: a request into a tenant session and the credential it came with, or throws to answer 401. */
  authenticate(req: IncomingMessage): Promise<Authenticated>;
  /** Static files of the dashboard, by path ("/index.html" also serves "/"). */
  dashboard?: Record<string, { contentType: string; body: Buffer }>;
  /** Attaches the live feed (/ws) to the server. */
  feed?(http: HttpServer, allowedHosts: () => ReadonlySet<string>): { close(): void };
  createServer(session: Authenticated['session']): McpServer;
  /**
   * What the MCP server receives as `authInfo` of a request on an open session: it carries the request's
   * own session (narrowed to the permissions the session was opened with), which calls then act as.
   */
  authInfoFor?(credentialId: string, session: Authenticated['session']): AuthInfo;
  /** The answer to a call still running when the shutdown grace period ends (e.g. a tool error `unavailable`). */
  shutdownAnswer?(id: RequestId, method: string): JSONRPCMessage;
}

interface OpenSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  /** The credential that opened it (an API key, a JWT subject of an issuer): only that one may use it. */
  credentialId: string;
  tenantId: string;
  userId: string;
  /** The permissions it was opened with: a later request acts with its own, never more than these. */
  permissions: readonly Permission[];
  lastSeen: number;
  /** GET streams open on it: a client listening (for resources/updated, progress) is not idle. */
  openStreams: number;
}

/** Sessions a client left without DELETE are closed after this long without a request or an open stream. */
export const SESSION_IDLE_MS = 30 * 60_000;

/** Sessions one credential may hold open at once; a client that leaks sessions loses its oldest ones. */
export const DEFAULT_MAX_SESSIONS_PER_CREDENTIAL = 100;

const MAX_BODY_BYTES = 64 * 1024 * 1024;
export const SHUTDOWN_GRACE_MS = 10_000;

/** JSON-RPC requests of one POST still unanswered, and the transport that answers them. */
interface PendingPost {
  transport: StreamableHTTPServerTransport;
  requests: { id: RequestId; method: string }[];
}

/** The requests (not notifications or responses) of a POST body, a message or a batch. */
function requestsIn(body: unknown): { id: RequestId; method: string }[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((message) => {
    const { id, method } = (message ?? {}) as { id?: unknown; method?: unknown };
    return (typeof id === 'string' || typeof id === 'number') && typeof method === 'string' ? [{ id, method }] : [];
  });
}

/**
 * Streamable HTTP at /mcp, /healthz, and the OAuth protected-resource metadata (RFC 9728). Every request is
 * authenticated; a session belongs to the credential that opened it (one API key; one JWT subject of one
 * issuer), and a request for it with another credential is refused as if the session did not exist.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<{ url: string; close(): Promise<void> }> {
  const sessions = new Map<string, OpenSession>();
  let inFlight = 0;
  const pending = new Set<PendingPost>();
  /** Serves a request on a transport, remembering its calls until answered so that shutdown can answer them. */
  const serve = (transport: StreamableHTTPServerTransport, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    const requests = requestsIn(body);
    if (requests.length > 0) {
      const entry = { transport, requests };
      pending.add(entry);
      res.once('close', () => pending.delete(entry));
    }
    return transport.handleRequest(req, res, body);
  };
  let stopping = false;
  let allowed = new Set<string>();
  let base = '';
  const metrics = options.metrics?.(() => sessions.size);
  const maxPerCredential = options.maxSessionsPerCredential ?? DEFAULT_MAX_SESSIONS_PER_CREDENTIAL;

  const closeSession = (id: string, open: OpenSession): void => {
    sessions.delete(id);
    void open.transport.close().catch(() => {});
    void open.server.close().catch(() => {});
  };
  /** Over the cap, a credential's least recently used sessions are closed (a leaking client keeps working). */
  const enforceCap = (credentialId: string): void => {
    const own = [...sessions].filter(([, open]) => open.credentialId === credentialId);
    if (own.length <= maxPerCredential) return;
    own.sort(([, a], [, b]) => a.lastSeen - b.lastSeen);
    for (const [id, open] of own.slice(0, own.length - maxPerCredential)) {
      options.logger.info({ credential: credentialId.startsWith('key:') ? credentialId : credentialId.split(':')[0], max: maxPerCredential }, 'closing the least recently used session of a credential over its session cap');
      closeSession(id, open);
    }
  };

  /** This server's URL as the request named it: its Host, already checked against the allowed hosts. */
  const baseOf = (req: IncomingMessage): string => {
    const forwarded = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim().toLowerCase();
    const scheme = options.trustForwardedProto && (forwarded === 'https' || forwarded === 'http') ? forwarded : 'http';
    return req.headers.host ? `${scheme}://${req.headers.host.toLowerCase()}` : base;
  };

  /** The request's credential, or undefined after answering 401 with WWW-Authenticate (RFC 6750, RFC 9728). */
  const authenticateOr401 = async (req: IncomingMessage, res: ServerResponse): Promise<Authenticated | undefined> => {
    try {
      return await options.authenticate(req);
    } catch (error) {
      const given = req.headers.authorization !== undefined;
      res.setHeader(
        'www-authenticate',
        `Bearer resource_metadata="${baseOf(req)}/.well-known/oauth-protected-resource"${given ? ', error="invalid_token"' : ''}`,
      );
      json(res, 401, { error: 'unauthorized', message: (error as Error).message });
      return undefined;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refused = checkHostAndOrigin(req, allowed);
    if (refused) return json(res, 403, { error: 'forbidden', message: refused });
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz') return json(res, stopping ? 503 : 200, { status: stopping ? 'stopping' : 'ok', version: options.version });
    if (path === '/.well-known/oauth-protected-resource' || path === '/.well-known/oauth-protected-resource/mcp') {
      return json(res, 200, {
        resource: `${baseOf(req)}/mcp`,
        authorization_servers: options.authorizationServers ?? [],
        bearer_methods_supported: ['header'],
        resource_name: 'agent-mesh',
      });
    }
    const asset = options.dashboard?.[path === '/' ? '/index.html' : path];
    if (asset && req.method === 'GET') {
      res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:" });
      res.end(asset.body);
      return;
    }
    if (path === '/metrics' && metrics) {
      if (!options.openMetrics) {
        const caller = await authenticateOr401(req, res);
        if (!caller) return;
        if (!hasPermission(caller.session, 'admin:read')) {
          res.setHeader('www-authenticate', `Bearer error="insufficient_scope", scope="admin:read"`);
          return json(res, 403, { error: 'forbidden', message: 'metrics need the admin:read permission' });
        }
      }
      res.writeHead(200, { 'content-type': metrics.contentType }).end(await metrics.render());
      return;
    }
    if (path !== '/mcp') return json(res, 404, { error: 'not_found' });
    if (stopping) return json(res, 503, { error: 'unavailable', message: 'the server is shutting down' });

    const authenticated = await authenticateOr401(req, res);
    if (!authenticated) return;

    const { session, credential } = authenticated;
    const body = req.method === 'POST' ? await readJson(req, res) : undefined;
    if (body === INVALID) return;

    if (options.stateless) {
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      const server = options.createServer(session);
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      return serve(transport, req, res, body);
    }

    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const open = sessions.get(sessionId);
      if (!open || open.credentialId !== credential.id || open.tenantId !== session.tenantId || open.userId !== session.userId) {
        return json(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      }
      open.lastSeen = Date.now();
      if (req.method === 'GET') {
        open.openStreams++;
        res.once('close', () => {
          open.openStreams--;
          open.lastSeen = Date.now();
        });
      }
      if (options.authInfoFor) (req as IncomingMessage & { auth?: AuthInfo }).auth = options.authInfoFor(credential.id, narrowSession(session, open.permissions));
      return serve(open.transport, req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return json(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: no session; start with initialize' } });
    }
    const server = options.createServer(session);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, {
          transport,
          server,
          credentialId: credential.id,
          tenantId: session.tenantId,
          userId: session.userId,
          permissions: session.permissions,
          lastSeen: Date.now(),
          openStreams: 0,
        });
        enforceCap(credential.id);
      },
      onsessionclosed: (id) => void sessions.delete(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    return serve(transport, req, res, body);
  };

  const http: HttpServer = createServer((req, res) => {
    // A GET is a long-lived stream: it must not hold up a graceful shutdown.
    const counted = req.method !== 'GET';
    if (counted) inFlight++;
    const done = () => {
      if (counted) inFlight--;
    };
    res.once('close', done);
    handle(req, res).catch((error: unknown) => {
      options.logger.error({ err: error }, 'HTTP request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal' });
      else res.end();
    });
  });

  const feed = options.feed?.(http, () => allowed);
  const idleMs = options.sessionIdleMs ?? SESSION_IDLE_MS;
  const sweep = setInterval(() => {
    const idleSince = Date.now() - idleMs;
    for (const [id, open] of sessions) {
      if (open.lastSeen >= idleSince || open.openStreams > 0) continue;
      closeSession(id, open);
    }
  }, Math.min(60_000, idleMs / 2));
  sweep.unref();
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  allowed = allowedHostsFor(options.host, port, options.allowedHosts);
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
  base = `http://${hostPart === '0.0.0.0' ? '127.0.0.1' : hostPart}:${port}`;

  return {
    url: `${base}/mcp`,
    async close() {
      stopping = true;
      clearInterval(sweep);
      feed?.close();
      http.close();
      const deadline = Date.now() + (options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS);
      while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      // Calls still running get an answer rather than a cut connection: `unavailable`, "shutting down".
      if (pending.size > 0 && options.shutdownAnswer) {
        options.logger.warn({ calls: [...pending].reduce((n, p) => n + p.requests.length, 0) }, 'answering calls still running at the end of the shutdown grace period with unavailable');
        for (const { transport, requests } of pending) {
          for (const { id, method } of requests) await transport.send(options.shutdownAnswer(id, method), { relatedRequestId: id }).catch(() => {});
        }
        const flushed = Date.now() + 1_000;
        while (inFlight > 0 && Date.now() < flushed) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await Promise.all([...sessions.values()].map(async (open) => {
        await open.transport.close().catch(() => {});
        await open.server.close().catch(() => {});
      }));
      sessions.clear();
      http.closeAllConnections();
    },
  };
}

const INVALID = Symbol('invalid');

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      json(res, 413, { jsonrpc: '2.0', id: null, error: { code: -32600, message: `Invalid Request: body larger than ${MAX_BODY_BYTES} bytes` } });
      return INVALID;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    json(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: `Parse error: ${(error as Error).message}` } });
    return INVALID;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
