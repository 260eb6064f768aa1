import type { TenantSession } from '../tenancy/session.js';

/** A registered upstream MCP server. Secret values (env, headers) are stored sealed, never in clear. */
export interface IntegrationRecord {
  name: string;
  transport: 'stdio' | 'http';
  command?: string;
  args: string[];
  /** Name → sealed value. */
  env: Record<string, string>;
  url?: string;
  /** Name → sealed value. */
  headers: Record<string, string>;
  description: string;
  tags: string[];
  createdAt: number;
  updatedAt: number;
}

/** The tenant-scoped integration registry. */
export interface IntegrationStore {
  /** Creates or replaces; returns whether it was new. Throws quota_exceeded past session.limits.maxIntegrations. */
  put(session: TenantSession, record: IntegrationRecord): Promise<{ created: boolean }>;
  get(session: TenantSession, name: string): Promise<IntegrationRecord | undefined>;
  list(session: TenantSession): Promise<IntegrationRecord[]>;
  delete(session: TenantSession, name: string): Promise<boolean>;
}
