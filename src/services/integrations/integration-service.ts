import { performance } from 'node:perf_hooks';
import type { IntegrationsConfig } from '../../config/config.js';
import { MeshError, asMeshError, invalidArgument, notFound } from '../../errors.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { IntegrationRecord, IntegrationStore } from '../../ports/integration-store.js';
import type { UpstreamConnector, UpstreamSpec } from '../../ports/mcp-upstream.js';
import type { SecretBox } from '../../secrets/secret-box.js';
import { requirePermission } from '../../tenancy/permissions.js';
import type { TenantSession } from '../../tenancy/session.js';
import { toIso } from '../time.js';
import type { ConnectionPool } from './connection-pool.js';
import { checkStdioCommand } from './stdio-allowlist.js';
import { INTEGRATION_NAME } from './tool-names.js';

export interface RegisterInput {
  name: string;
  transport: 'stdio' | 'http';
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  url?: string;
  headers?: Record<string, string>;
  description?: string;
  tags?: string[];
}

export interface IntegrationDeps {
  store: IntegrationStore;
  pool: ConnectionPool;
  connector: UpstreamConnector;
  limiter: RateLimiter;
  secrets: SecretBox;
  settings: IntegrationsConfig;
  /** Checks an http(s) URL against the egress policy (throws invalid_argument or permission_denied). */
  checkUrl(url: string, field: string): Promise<URL>;
  now?: () => number;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const MASK = '***';

const sealContext = (session: TenantSession, name: string, kind: 'env' | 'header', field: string) =>
  `${session.tenantId}\u0000${name}\u0000${kind}\u0000${field}`;

/** The integration registry: register, connect, disconnect, list, test and delete upstream MCP servers. */
export class IntegrationService {
  private readonly now: () => number;

  constructor(private readonly deps: IntegrationDeps) {
    this.now = deps.now ?? Date.now;
  }

  async register(session: TenantSession, input: RegisterInput) {
    requirePermission(session, 'integration:write');
    const name = validateIntegrationName(input.name);
    const record = await this.validate(session, name, input);
    await this.deps.limiter.acquire(session, 'mcp');
    const { created } = await this.deps.store.put(session, record);
    if (!created) await this.deps.pool.forget(session, name); // a new definition needs a new session
    return { ...this.describe(session, record), created };
  }

  private async validate(session: TenantSession, name: string, input: RegisterInput): Promise<IntegrationRecord> {
    const env = input.env ?? {};
    const headers = input.headers ?? {};
    const args = input.args ?? [];
    if (input.transport === 'stdio') {
      if (!input.command) throw invalidArgument('command', 'is required for a stdio integration');
      if (input.url !== undefined) throw invalidArgument('url', 'belongs to http integrations; stdio ones take command and args');
      if (Object.keys(headers).length) throw invalidArgument('headers', 'belong to http integrations');
      checkStdioCommand(this.deps.settings.stdioCommands, input.command, args, env);
    } else {
      if (!input.url) throw invalidArgument('url', 'is required for an http integration');
      if (input.command !== undefined || args.length) throw invalidArgument('command', 'belongs to stdio integrations; http ones take url and headers');
      if (Object.keys(env).length) throw invalidArgument('env', 'belongs to stdio integrations');
      await this.deps.checkUrl(input.url, 'url');
      for (const [header, value] of Object.entries(headers)) {
        if (!HEADER_NAME.test(header)) throw invalidArgument(`headers.${header}`, 'is not a valid HTTP header name');
        if (/[\r\n\0]/.test(value) || value.length > 8192) throw invalidArgument(`headers.${header}`, 'must be one line of at most 8192 characters');
      }
    }
    if ((input.description ?? '').length > 1024) throw invalidArgument('description', 'at most 1024 characters');
    const tags = input.tags ?? [];
    if (tags.length > 20 || tags.some((tag) => tag.length === 0 || tag.length > 64)) throw invalidArgument('tags', 'at most 20 tags of 1-64 characters');
    const now = this.now();
    const seal = (kind: 'env' | 'header', values: Record<string, string>) =>
      Object.fromEntries(Object.entries(values).map(([field, value]) => [field, this.deps.secrets.seal(value, sealContext(session, name, kind, field))]));
    return {
      name,
      transport: input.transport,
      ...(input.command !== undefined && { command: input.command }),
      args,
      env: seal('env', env),
      ...(input.url !== undefined && { url: input.url }),
      headers: seal('header', headers),
      description: input.description ?? '',
      tags,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** The record with its secrets opened, to connect with. Never returned to a client. */
  async spec(session: TenantSession, name: string): Promise<UpstreamSpec> {
    const record = await this.deps.store.get(session, validateIntegrationName(name, 'integration'));
    if (!record) throw notFound(`no integration named "${name}" (register it with integration_register)`);
    const open = (kind: 'env' | 'header', values: Record<string, string>) =>
      Object.fromEntries(Object.entries(values).map(([field, sealed]) => [field, this.deps.secrets.open(sealed, sealContext(session, record.name, kind, field))]));
    try {
      return record.transport === 'stdio'
        ? { transport: 'stdio', command: record.command!, args: record.args, env: open('env', record.env) }
        : { transport: 'http', url: record.url!, headers: open('header', record.headers) };
    } catch {
      throw new MeshError('internal', `the secrets of integration "${name}" cannot be opened with this server's key (AGENT_MESH_SECRET_KEY or secret.key changed?)`);
    }
  }

  /** Throws not_found unless the integration is registered (also by another process sharing the store). */
  async requireRegistered(session: TenantSession, name: string): Promise<void> {
    if (!(await this.deps.store.get(session, validateIntegrationName(name, 'integration')))) {
      throw notFound(`no integration named "${name}" (register it with integration_register)`);
    }
  }

  async connect(session: TenantSession, name: string) {
    requirePermission(session, 'integration:write');
    await this.deps.limiter.acquire(session, 'mcp');
    await this.requireRegistered(session, name);
    const { upstream, tools } = await this.deps.pool.call(session, name, () => this.spec(session, name), async (upstream, tools) => ({ upstream, tools }));
    return { name, server: { name: upstream.serverInfo.name, version: upstream.serverInfo.version }, tool_count: tools.length };
  }

  async disconnect(session: TenantSession, rawName: string) {
    requirePermission(session, 'integration:write');
    const name = validateIntegrationName(rawName);
    await this.deps.limiter.acquire(session, 'mcp');
    if (!(await this.deps.store.get(session, name))) throw notFound(`no integration named "${name}"`);
    return { name, disconnected: await this.deps.pool.disconnect(session, name) };
  }

  async delete(session: TenantSession, rawName: string) {
    requirePermission(session, 'integration:write');
    const name = validateIntegrationName(rawName);
    await this.deps.limiter.acquire(session, 'mcp');
    if (!(await this.deps.store.delete(session, name))) throw notFound(`no integration named "${name}"`);
    await this.deps.pool.forget(session, name);
    return { name, deleted: true as const };
  }

  async list(session: TenantSession) {
    requirePermission(session, 'integration:read');
    await this.deps.limiter.acquire(session, 'mcp');
    const records = await this.deps.store.list(session);
    return { integrations: records.map((record) => this.describe(session, record)) };
  }

  /** Connect, initialize, ping and list tools with timings, on a session of its own that is closed after. */
  async test(session: TenantSession, rawName: string) {
    requirePermission(session, 'integration:write');
    const name = validateIntegrationName(rawName);
    await this.deps.limiter.acquire(session, 'mcp');
    const spec = await this.spec(session, name);
    const timings: Record<string, number> = {};
    const timed = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await run();
      } finally {
        timings[`${label}_ms`] = Math.round((performance.now() - started) * 1000) / 1000;
      }
    };
    const { connectTimeoutMs, callTimeoutMs } = this.deps.settings;
    let upstream;
    try {
      upstream = await timed('connect', () => this.deps.connector.connect(session, spec, { timeoutMs: connectTimeoutMs }));
      const live = upstream;
      await timed('ping', () => live.ping(callTimeoutMs));
      const tools = await timed('list_tools', () => live.listTools(callTimeoutMs));
      this.deps.pool.recordHealth(session, name, { latencyMs: timings.ping_ms ?? 0, error: null });
      return { name, ok: true, server: { ...live.serverInfo }, tool_count: tools.length, timings, error: null };
    } catch (error) {
      const meshError = asMeshError(error);
      const message = `${meshError.code}: ${meshError.message}`;
      this.deps.pool.recordHealth(session, name, { latencyMs: Object.values(timings).reduce((a, b) => a + b, 0), error: message });
      return { name, ok: false, server: upstream ? { ...upstream.serverInfo } : null, tool_count: null, timings, error: message };
    } finally {
      await upstream?.close().catch(() => {});
    }
  }

  private describe(session: TenantSession, record: IntegrationRecord) {
    const info = this.deps.pool.info(session, record.name);
    const masked = (values: Record<string, string>) => Object.fromEntries(Object.keys(values).map((field) => [field, MASK]));
    return {
      name: record.name,
      transport: record.transport,
      ...(record.command !== undefined && { command: record.command, args: record.args }),
      ...(record.url !== undefined && { url: record.url }),
      env: masked(record.env),
      headers: masked(record.headers),
      description: record.description,
      tags: record.tags,
      status: info.status,
      tool_count: info.toolCount,
      last_health_check: toIso(info.lastHealthCheck),
      last_error: info.lastError,
      last_latency_ms: info.lastLatencyMs,
      created_at: toIso(record.createdAt)!,
      updated_at: toIso(record.updatedAt)!,
    };
  }
}

export function validateIntegrationName(name: string, field = 'name'): string {
  if (!INTEGRATION_NAME.test(name)) {
    throw invalidArgument(field, 'must be 1-32 letters, digits, "-" or "_" (not "__"), starting with a letter or digit');
  }
  return name;
}
