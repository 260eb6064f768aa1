import { parseArgs } from 'node:util';
import { createApp } from '../app.js';
import { ConfigError, type Config } from '../config/config.js';
import { isLoopback } from '../http/request-guard.js';
import { DEFAULT_MAX_SESSIONS_PER_CREDENTIAL, SESSION_IDLE_MS, SHUTDOWN_GRACE_MS, startHttpServer } from '../http/http-server.js';
import { Metrics } from '../http/metrics.js';
import { attachFeed } from '../http/ws-feed.js';
import { loadDashboard } from '../http/dashboard-assets.js';
import type { Logger } from '../logging.js';
import { requestAuth } from '../mcp/request-session.js';
import { createMcpServer } from '../mcp/server.js';
import { shutdownAnswer } from '../mcp/shutdown-answer.js';
import { authenticateApiKey } from '../tenancy/auth/api-keys.js';
import type { Authenticated } from '../tenancy/auth/credential.js';
import { jwtCredentialAuthenticator } from '../tenancy/auth/jwt.js';
import { sessionFromStdioEnvironment } from '../tenancy/auth/stdio-identity.js';
import { VERSION } from '../version.js';

/** Streamable HTTP at /mcp for many tenants at once; SIGTERM finishes in-flight calls before exiting. */
export async function runServe(argv: string[], config: Config, logger: Logger): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: process.env.AGENT_MESH_HTTP_PORT || '7878' },
      auth: { type: 'string', default: 'apikey' },
      stateless: { type: 'boolean', default: false },
      'allowed-hosts': { type: 'string', default: '' },
      'shutdown-grace-seconds': { type: 'string', default: String(SHUTDOWN_GRACE_MS / 1000) },
      'trust-proxy': { type: 'boolean', default: false },
      'max-sessions-per-credential': { type: 'string', default: String(DEFAULT_MAX_SESSIONS_PER_CREDENTIAL) },
      'session-idle-minutes': { type: 'string', default: String(SESSION_IDLE_MS / 60_000) },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port: "${values.port}" is not a port number`);
  const grace = Number(values['shutdown-grace-seconds']);
  if (!Number.isFinite(grace) || grace < 0 || grace > 3600) {
    throw new ConfigError(`--shutdown-grace-seconds: "${values['shutdown-grace-seconds']}" is not a number of seconds from 0 to 3600`);
  }
  const maxSessions = Number(values['max-sessions-per-credential']);
  if (!Number.isInteger(maxSessions) || maxSessions < 1) {
    throw new ConfigError(`--max-sessions-per-credential: "${values['max-sessions-per-credential']}" is not a positive whole number`);
  }
  const idleMinutes = Number(values['session-idle-minutes']);
  if (!Number.isFinite(idleMinutes) || idleMinutes <= 0 || idleMinutes > 7 * 24 * 60) {
    throw new ConfigError(`--session-idle-minutes: "${values['session-idle-minutes']}" is not a number of minutes above 0 (at most a week)`);
  }
  if (values.auth !== 'apikey' && values.auth !== 'none') throw new ConfigError(`--auth: "${values.auth}" is not apikey or none`);
  if (values.auth === 'none' && !isLoopback(values.host)) {
    throw new ConfigError(`--auth none serves one tenant without credentials, so it binds only to loopback, not "${values.host}"`);
  }

  const app = await createApp(config, logger);
  let metrics: Metrics | undefined;
  app.services.limiter.onRejected((session, service) => metrics?.rateLimited(session.tenantId, service));
  const localSession = values.auth === 'none' ? sessionFromStdioEnvironment(config) : undefined;
  const jwt = config.jwt ? jwtCredentialAuthenticator(config.jwt, config) : undefined;
  const authenticate = async (authorization: string | undefined): Promise<Authenticated> => {
    if (localSession) return { session: localSession, credential: { id: 'local' } };
    // API keys look like "Bearer amk_…"; any other bearer token is a JWT when the config file enables them.
    if (jwt && !/^Bearer\s+amk_/i.test(authorization ?? '')) return jwt(authorization);
    return authenticateApiKey(app.apiKeys, config, authorization);
  };
  const http = await startHttpServer({
    host: values.host,
    port,
    stateless: values.stateless,
    maxSessionsPerCredential: maxSessions,
    sessionIdleMs: idleMinutes * 60_000,
    shutdownGraceMs: grace * 1000,
    trustForwardedProto: values['trust-proxy'],
    authorizationServers: config.jwt ? [config.jwt.issuer].flat() : [],
    allowedHosts: values['allowed-hosts'].split(',').map((h) => h.trim()).filter(Boolean),
    version: VERSION,
    logger,
    openMetrics: values.auth === 'none',
    metrics: (openSessions) => {
      metrics = new Metrics(openSessions);
      const registry = metrics.registry;
      return { contentType: registry.contentType, render: () => registry.metrics() };
    },
    dashboard: loadDashboard(),
    feed: (server, allowedHosts) =>
      attachFeed(server, { allowedHosts, authenticate: (authorization) => authenticate(authorization), services: app.services, logger }),
    authenticate: async (req) => authenticate(req.headers.authorization),
    authInfoFor: requestAuth,
    shutdownAnswer,

    createServer: (session) =>
      createMcpServer(session, app.services, {
        version: VERSION,
        enabledToolGroups: config.enabledToolGroups,
        logger,
        exposeIntegrationTools: config.integrations.exposeTools,
        stateless: values.stateless,
        onToolCall: (session, tool, outcome, ms) => metrics?.toolCall(session.tenantId, tool, outcome, ms),
      }),
  }).catch(async (error: unknown) => {
    await app.close();
    throw listenError(error, values.host, port);
  });
  logger.info({ url: http.url, auth: values.auth, stateless: values.stateless, dataDir: config.dataDir }, 'agent-mesh serving MCP over HTTP');
  process.stderr.write(`agent-mesh ${VERSION} serving MCP at ${http.url} (auth: ${values.auth})\n`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'agent-mesh finishing in-flight calls and stopping');
    await http.close();
    await app.close();
    logger.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** A failure to listen is nearly always the operator's to fix: said in one line, naming the option. */
function listenError(error: unknown, host: string, port: number): unknown {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new ConfigError(`--port ${port}: ${host}:${port} is already in use (another agent-mesh?); choose another with --port or AGENT_MESH_HTTP_PORT`);
    case 'EACCES':
      return new ConfigError(`--port ${port}: this user may not listen on ${host}:${port} (ports below 1024 need privileges)`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`--host "${host}": not an address of this machine`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(`--host "${host}": no such host name`);
    default:
      return error;
  }
}
