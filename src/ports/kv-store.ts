import type { TenantSession } from '../tenancy/session.js';

export interface KvEntry {
  key: string;
  /** The value as JSON text, exactly as stored. */
  valueJson: string;
  version: number;
  /** Epoch milliseconds, or null for no expiry. */
  expiresAt: number | null;
  updatedAt: number;
}

export type KvListItem = Omit<KvEntry, 'valueJson'>;

export interface KvWrite {
  valueJson: string;
  expiresAt: number | null;
  /** Compare-and-set: write only if the live entry has this version. */
  ifVersion?: number;
  /** Write only if there is no live entry. */
  ifAbsent?: boolean;
}

export interface ListPage<T> {
  items: T[];
  /** The last key of this page when more follow; pass it back as `after`. */
  nextAfter?: string;
}

export interface ListQuery {
  prefix: string;
  limit: number;
  /** Return keys strictly after this one. */
  after?: string;
}

/**
 * Tenant-scoped key-value storage. Expired entries read as absent. Writes are atomic; a refused write
 * (conflict, quota_exceeded) leaves the store unchanged.
 */
export interface KvStore {
  get(session: TenantSession, key: string): Promise<KvEntry | undefined>;
  /**
   * Stores a value and returns the new version (1 for a new key). Throws `conflict` when ifVersion or
   * ifAbsent do not hold, `quota_exceeded` when a new key would pass `session.limits.maxKeys`.
   */
  set(session: TenantSession, key: string, write: KvWrite): Promise<{ version: number }>;
  /** Returns false when there was no live entry. Throws `conflict` when ifVersion does not hold. */
  delete(session: TenantSession, key: string, ifVersion?: number): Promise<boolean>;
  list(session: TenantSession, query: ListQuery): Promise<ListPage<KvListItem>>;
  /** Maintenance across all tenants: removes up to `batch` expired entries; returns how many. */
  purgeExpired(batch: number): Promise<number>;
}
