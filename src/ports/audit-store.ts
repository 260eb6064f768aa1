import type { TenantSession } from '../tenancy/session.js';

export interface AuditEntry {
  tenantId: string;
  userId: string;
  contextType: string;
  tool: string;
  /** "ok" or an error code. */
  outcome: string;
  at: number;
  durationMs: number;
}

export interface AuditQuery {
  userId?: string;
  tool?: string;
  outcome?: string;
  startMs?: number;
  endMs?: number;
  limit: number;
  /** Continue strictly before this position: newest first. */
  before?: { at: number; seq: number };
}

/** Who called which tool, when, with what outcome and how long it took. */
export interface AuditStore {
  /** System-level: the audit writer records calls of every tenant, in batches. */
  append(entries: readonly AuditEntry[]): Promise<void>;
  query(session: TenantSession, query: AuditQuery): Promise<(AuditEntry & { seq: number })[]>;
  prune(beforeMs: number): Promise<number>;
}
