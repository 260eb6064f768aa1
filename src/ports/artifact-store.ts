import type { TenantSession } from '../tenancy/session.js';
import type { ListPage, ListQuery } from './kv-store.js';

export interface ArtifactMeta {
  key: string;
  size: number;
  sha256: string;
  contentType: string;
  metadata: Record<string, string>;
  version: number;
  updatedAt: number;
}

export interface ArtifactWrite {
  body: Buffer;
  sha256: string;
  contentType: string;
  metadata: Record<string, string>;
}

/**
 * Tenant-scoped blob storage. A put is atomic: readers see the old artifact or the new one, never a part.
 * A put that would pass `session.limits.maxTotalArtifactBytes` throws `quota_exceeded` and stores nothing.
 */
export interface ArtifactStore {
  put(session: TenantSession, key: string, write: ArtifactWrite): Promise<ArtifactMeta>;
  get(session: TenantSession, key: string): Promise<{ meta: ArtifactMeta; body: Buffer } | undefined>;
  list(session: TenantSession, query: ListQuery): Promise<ListPage<ArtifactMeta>>;
  delete(session: TenantSession, key: string): Promise<boolean>;
}
