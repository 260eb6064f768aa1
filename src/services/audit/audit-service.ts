import type { Logger } from '../../logging.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { AuditEntry, AuditStore } from '../../ports/audit-store.js';
import { requirePermission } from '../../tenancy/permissions.js';
import type { TenantSession } from '../../tenancy/session.js';
import { parseTime } from '../events/event-input.js';
import { decodePosition, encodePosition } from '../position-cursor.js';
import { toIso } from '../time.js';

const FLUSH_EVERY_MS = 200;
const FLUSH_AT = 500;

/**
 * The audit log: every tool call's tenant, user, tool, time, outcome and duration. Calls are recorded in
 * memory and written in one transaction every 200 ms (or once 500 are waiting), off the calls' own path; `close`
 * writes what is left. Queried by the tenant's admins (`admin:read`).
 */
export class AuditService {
  private buffer: AuditEntry[] = [];
  private flushScheduled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: AuditStore,
    private readonly limiter: RateLimiter,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  record(session: TenantSession, tool: string, outcome: string, durationMs: number): void {
    this.buffer.push({ tenantId: session.tenantId, userId: session.userId, contextType: session.contextType, tool, outcome, at: Date.now(), durationMs });
    // Not inline: the call being recorded has not been answered yet, and its answer should not wait for the write.
    if (this.buffer.length >= FLUSH_AT && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flush();
      });
    }
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const entries = this.buffer;
    this.buffer = [];
    try {
      await this.store.append(entries);
    } catch (error) {
      this.logger.error({ err: error, lost: entries.length }, 'writing the audit log failed');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  async query(session: TenantSession, input: { user?: string; tool?: string; outcome?: string; start_time?: string; end_time?: string; limit?: number; cursor?: string }) {
    requirePermission(session, 'admin:read');
    await this.limiter.acquire(session, 'dynamodb');
    await this.flush(); // the caller's own recent calls are visible at once
    const position = decodePosition(input.cursor, 'number');
    const before = position && { at: position.time, seq: position.tie };
    const limit = input.limit ?? 100;
    const rows = await this.store.query(session, {
      ...(input.user !== undefined && { userId: input.user }),
      ...(input.tool !== undefined && { tool: input.tool }),
      ...(input.outcome !== undefined && { outcome: input.outcome }),
      ...(input.start_time !== undefined && { startMs: parseTime(input.start_time, 'start_time') }),
      ...(input.end_time !== undefined && { endMs: parseTime(input.end_time, 'end_time') }),
      limit: limit + 1,
      ...(before && { before }),
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      entries: page.map((row) => ({
        at: toIso(row.at)!,
        user: row.userId,
        context_type: row.contextType,
        tool: row.tool,
        outcome: row.outcome,
        duration_ms: Math.round(row.durationMs * 1000) / 1000,
      })),
      next_cursor: rows.length > limit && last ? encodePosition(last.at, last.seq) : null,
    };
  }
}
