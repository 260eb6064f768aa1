import { performance } from 'node:perf_hooks';
import type { IntegrationsConfig } from '../../config/config.js';
import { MeshError, asMeshError } from '../../errors.js';
import type { Logger } from '../../logging.js';
import type { UpstreamConnector, UpstreamSession, UpstreamSpec, UpstreamTool } from '../../ports/mcp-upstream.js';
import type { TenantSession } from '../../tenancy/session.js';
import { CircuitBreaker } from './circuit-breaker.js';

export type SpecSource = () => Promise<UpstreamSpec>;

export type IntegrationStatus = 'connected' | 'disconnected' | 'error' | 'circuit_open';

export interface ConnectionInfo {
  status: IntegrationStatus;
  toolCount: number | null;
  lastHealthCheck: number | null;
  lastError: string | null;
  lastLatencyMs: number | null;
}

interface Entry {
  session?: UpstreamSession;
  connecting?: Promise<UpstreamSession>;
  tools?: UpstreamTool[];
  breaker: CircuitBreaker;
  lastError: string | null;
  lastHealthCheck: number | null;
  lastLatencyMs: number | null;
  /** Bumped by disconnect/forget, so a late connect of an older generation closes itself. */
  generation: number;
}

const CONNECT_ATTEMPTS = 3;
const CONNECT_RETRY_MS = 200;

/**
 * Open client sessions to upstreams, one per (tenant, integration): tenant A's session is never used for
 * tenant B. Connects on demand, retries only failures that happened before anything was sent, keeps a
 * circuit breaker per integration, and refreshes the cached tool list when the upstream says it changed.
 */
export class ConnectionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly toolListeners = new Set<(tenantId: string) => void>();

  constructor(
    private readonly connector: UpstreamConnector,
    private readonly settings: IntegrationsConfig,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Called with a tenant id whenever the set of connected tools of that tenant may have changed. */
  onToolsChanged(listener: (tenantId: string) => void): () => void {
    this.toolListeners.add(listener);
    return () => this.toolListeners.delete(listener);
  }

  info(session: TenantSession, name: string): ConnectionInfo {
    const entry = this.entries.get(key(session, name));
    if (!entry) return { status: 'disconnected', toolCount: null, lastHealthCheck: null, lastError: null, lastLatencyMs: null };
    const status: IntegrationStatus =
      entry.breaker.status === 'open' ? 'circuit_open' : entry.session ? 'connected' : entry.lastError ? 'error' : 'disconnected';
    return {
      status,
      toolCount: entry.tools?.length ?? null,
      lastHealthCheck: entry.lastHealthCheck,
      lastError: entry.lastError,
      lastLatencyMs: entry.lastLatencyMs,
    };
  }

  /**
   * The open session, connecting first if needed. `spec` is asked for only when connecting: it opens the
   * stored secrets, which a call on an open session has no need of.
   */
  async connect(session: TenantSession, name: string, spec: SpecSource): Promise<{ upstream: UpstreamSession; tools: UpstreamTool[] }> {
    const entry = this.entry(session, name);
    if (!entry.session) {
      entry.connecting ??= spec()
        .then((resolved) => this.open(session, name, resolved, entry))
        .finally(() => (entry.connecting = undefined));
      await entry.connecting;
    }
    return { upstream: entry.session!, tools: entry.tools ?? [] };
  }

  private async open(session: TenantSession, name: string, spec: UpstreamSpec, entry: Entry): Promise<UpstreamSession> {
    const generation = entry.generation;
    let lastError: MeshError | undefined;
    for (let attempt = 1; attempt <= CONNECT_ATTEMPTS; attempt++) {
      const started = performance.now();
      try {
        const upstream = await this.connector.connect(session, spec, { timeoutMs: this.settings.connectTimeoutMs });
        const tools = await upstream.listTools(this.settings.callTimeoutMs);
        if (entry.generation !== generation) {
          await upstream.close();
          throw new MeshError('unavailable', `integration "${name}" was disconnected while connecting`);
        }
        entry.session = upstream;
        entry.tools = tools;
        entry.lastError = null;
        entry.lastHealthCheck = this.now();
        entry.lastLatencyMs = round(performance.now() - started);
        upstream.onToolsChanged(() => void this.refreshTools(session, name, entry, upstream));
        upstream.onClosed((error) => {
          if (entry.session !== upstream) return;
          entry.session = undefined;
          entry.tools = undefined;
          entry.lastError = error ? `upstream closed: ${error.message}` : 'upstream closed the session';
          this.logger.warn({ tenant: session.tenantId, integration: name, error: entry.lastError }, 'integration session ended');
          this.emit(session.tenantId);
        });
        this.emit(session.tenantId);
        return upstream;
      } catch (error) {
        lastError = asMeshError(error);
        entry.lastError = lastError.message;
        if (!lastError.retryable || attempt === CONNECT_ATTEMPTS) break;
        await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS * attempt));
      }
    }
    throw new MeshError(lastError!.code, `integration "${name}": ${lastError!.message}`, lastError!.details);
  }

  private async refreshTools(session: TenantSession, name: string, entry: Entry, upstream: UpstreamSession): Promise<void> {
    try {
      const tools = await upstream.listTools(this.settings.callTimeoutMs);
      if (entry.session !== upstream) return;
      entry.tools = tools;
      this.emit(session.tenantId);
    } catch (error) {
      this.logger.warn({ err: error, tenant: session.tenantId, integration: name }, 'refreshing an integration\'s tools failed');
    }
  }

  /** Calls through the breaker: refused while open, and counted as success or failure. */
  async call<T>(session: TenantSession, name: string, spec: SpecSource, run: (upstream: UpstreamSession, tools: UpstreamTool[]) => Promise<T>): Promise<T> {
    const entry = this.entry(session, name);
    if (!entry.breaker.tryAcquire()) {
      const waitMs = Math.max(0, entry.breaker.retryAt - this.now());
      throw new MeshError('unavailable', `integration "${name}" is failing; its circuit is open for another ${waitMs} ms (last error: ${entry.lastError ?? 'unknown'})`, {
        retry_after_ms: waitMs,
      });
    }
    const started = performance.now();
    try {
      const { upstream, tools } = await this.connect(session, name, spec);
      const result = await run(upstream, tools);
      entry.breaker.success();
      entry.lastLatencyMs = round(performance.now() - started);
      return result;
    } catch (error) {
      const meshError = asMeshError(error);
      // Refusals of the call itself (bad arguments, unknown tool) say nothing about the upstream's health.
      if (meshError.code === 'timeout' || meshError.code === 'unavailable' || meshError.code === 'internal') {
        entry.breaker.failure();
        entry.lastError = meshError.message;
      } else {
        entry.breaker.success();
      }
      throw meshError;
    }
  }

  /** Records the outcome of a health check (integration_test) for integration_list. */
  recordHealth(session: TenantSession, name: string, outcome: { latencyMs: number; error: string | null }): void {
    const entry = this.entry(session, name);
    entry.lastHealthCheck = this.now();
    entry.lastLatencyMs = round(outcome.latencyMs);
    entry.lastError = outcome.error;
  }

  async disconnect(session: TenantSession, name: string): Promise<boolean> {
    const entry = this.entries.get(key(session, name));
    if (!entry) return false;
    entry.generation++;
    const upstream = entry.session;
    entry.session = undefined;
    entry.tools = undefined;
    if (upstream) {
      await upstream.close().catch(() => {});
      this.emit(session.tenantId);
    }
    return upstream !== undefined;
  }

  /** Disconnects and drops all state of an integration (when it is deleted or re-registered). */
  async forget(session: TenantSession, name: string): Promise<void> {
    await this.disconnect(session, name);
    this.entries.delete(key(session, name));
  }

  /** The cached tools of every connected integration of a tenant. */
  connectedTools(session: TenantSession): { integration: string; tools: UpstreamTool[] }[] {
    const prefix = `${session.tenantId}\u0000`;
    const result: { integration: string; tools: UpstreamTool[] }[] = [];
    for (const [k, entry] of this.entries) {
      if (k.startsWith(prefix) && entry.session && entry.tools) result.push({ integration: k.slice(prefix.length), tools: entry.tools });
    }
    return result.sort((a, b) => a.integration.localeCompare(b.integration));
  }

  async closeAll(): Promise<void> {
    const sessions = [...this.entries.values()].flatMap((entry) => (entry.session ? [entry.session] : []));
    this.entries.clear();
    await Promise.all(sessions.map((upstream) => upstream.close().catch(() => {})));
  }

  private entry(session: TenantSession, name: string): Entry {
    const k = key(session, name);
    let entry = this.entries.get(k);
    if (!entry) {
      const { failureThreshold, openMs } = this.settings.circuitBreaker;
      entry = { breaker: new CircuitBreaker(failureThreshold, openMs, this.now), lastError: null, lastHealthCheck: null, lastLatencyMs: null, generation: 0 };
      this.entries.set(k, entry);
    }
    return entry;
  }

  private emit(tenantId: string): void {
    for (const listener of this.toolListeners) {
      try {
        listener(tenantId);
      } catch (error) {
        this.logger.warn({ err: error }, 'tools-changed listener failed');
      }
    }
  }
}

const key = (session: TenantSession, name: string): string => `${session.tenantId}\u0000${name}`;
const round = (ms: number): number => Math.round(ms * 1000) / 1000;
