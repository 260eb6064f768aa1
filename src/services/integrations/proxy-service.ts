import type { CancelSignal } from '../../cancellation.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { notFound } from '../../errors.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { IntegrationStore } from '../../ports/integration-store.js';
import type { UpstreamProgress, UpstreamTool } from '../../ports/mcp-upstream.js';
import { requirePermission } from '../../tenancy/permissions.js';
import type { TenantSession } from '../../tenancy/session.js';
import type { ConnectionPool } from './connection-pool.js';
import type { IntegrationService } from './integration-service.js';
import { validateIntegrationName } from './integration-service.js';
import { namespaceTools } from './tool-names.js';

export interface ListedTool {
  integration: string;
  name: string;
  namespaced_name: string;
  title?: string;
  description?: string;
  input_schema: Record<string, unknown>;
  output_schema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export interface ProxyCallOptions {
  signal?: CancelSignal;
  onProgress?: (progress: UpstreamProgress) => void;
}

export function listedTools(integration: string, tools: UpstreamTool[]): ListedTool[] {
  const names = namespaceTools(integration, tools.map((tool) => tool.name));
  return tools.map((tool) => ({
    integration,
    name: tool.name,
    namespaced_name: names.get(tool.name)!,
    ...(tool.title !== undefined && { title: tool.title }),
    ...(tool.description !== undefined && { description: tool.description }),
    input_schema: tool.inputSchema,
    ...(tool.outputSchema !== undefined && { output_schema: tool.outputSchema }),
    ...(tool.annotations !== undefined && { annotations: tool.annotations }),
  }));
}

/** mcp_list_tools and mcp_proxy: upstream tools under the tenant's limits (service `mcp`) and permissions. */
export class ProxyService {
  constructor(
    private readonly store: IntegrationStore,
    private readonly integrations: IntegrationService,
    private readonly pool: ConnectionPool,
    private readonly limiter: RateLimiter,
    private readonly callTimeoutMs: number,
  ) {}

  /** Tools of one integration (connecting it if needed), or of every connected integration. */
  async listTools(session: TenantSession, integration?: string) {
    requirePermission(session, 'mcp:read');
    await this.limiter.acquire(session, 'mcp');
    if (integration !== undefined) {
      const name = validateIntegrationName(integration, 'integration');
      await this.integrations.requireRegistered(session, name);
      const tools = await this.pool.call(session, name, () => this.integrations.spec(session, name), async (_upstream, tools) => tools);
      return { tools: listedTools(name, tools) };
    }
    const registered = new Set((await this.store.list(session)).map((record) => record.name));
    const connected = this.pool.connectedTools(session).filter((entry) => registered.has(entry.integration));
    return { tools: connected.flatMap((entry) => listedTools(entry.integration, entry.tools)) };
  }

  /** Calls an upstream tool as this tenant and returns the upstream's result untouched. */
  async call(session: TenantSession, integration: string, tool: string, args: Record<string, unknown>, options: ProxyCallOptions = {}): Promise<CallToolResult> {
    requirePermission(session, 'mcp:write');
    const name = validateIntegrationName(integration, 'integration');
    await this.limiter.acquire(session, 'mcp');
    // An open session is used as it is (no store read per call); connecting reads the registry, and an
    // unregistered name fails there with not_found.
    return this.pool.call(session, name, () => this.integrations.spec(session, name), async (upstream, tools) => {
      if (tools.length > 0 && !tools.some((t) => t.name === tool)) {
        throw notFound(`integration "${name}" has no tool "${tool}" (mcp_list_tools shows its tools)`);
      }
      return upstream.callTool(tool, args, { ...options, timeoutMs: this.callTimeoutMs });
    });
  }

  /** The tools of the tenant's connected integrations, namespaced (no I/O: the cached lists). */
  connectedListing(session: TenantSession): ListedTool[] {
    return this.pool.connectedTools(session).flatMap((entry) => listedTools(entry.integration, entry.tools));
  }

  /** Called whenever the tenant's connected tools may have changed; returns an unsubscribe function. */
  onToolsChanged(session: TenantSession, listener: () => void): () => void {
    return this.pool.onToolsChanged((tenantId) => {
      if (tenantId === session.tenantId) listener();
    });
  }
}
