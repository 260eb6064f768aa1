/** A tenant known to the server (HTTP serving authenticates API keys into these). */
export interface TenantRecord {
  id: string;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  userId: string;
  /** Permissions of the key; empty means the tenant's configured permissions. */
  permissions: string[];
  /** SHA-256 of the secret part, hex. The secret itself is never stored. */
  secretHash: string;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * Tenants and API keys. System-level: authentication happens before any tenant session exists, so these
 * methods take no session; they are used only by the auth layer and the admin CLI.
 */
export interface ApiKeyStore {
  createTenant(id: string, now: number): Promise<{ created: boolean }>;
  listTenants(): Promise<TenantRecord[]>;
  tenantExists(id: string): Promise<boolean>;
  createKey(key: ApiKeyRecord): Promise<void>;
  getKey(id: string): Promise<ApiKeyRecord | undefined>;
  listKeys(tenantId?: string): Promise<ApiKeyRecord[]>;
  revokeKey(id: string, now: number): Promise<boolean>;
}
