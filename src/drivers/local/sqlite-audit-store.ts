import type { AuditEntry, AuditQuery, AuditStore } from '../../ports/audit-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { tenantPartition } from './tenant-partition.js';

interface AuditRow {
  seq: number;
  tenant: string;
  user_id: string;
  context_type: string;
  tool: string;
  outcome: string;
  at_ms: number;
  duration_ms: number;
}

const INSERT = 'INSERT INTO audit (tenant, user_id, context_type, tool, outcome, at_ms, duration_ms) VALUES ';
const ROW = '(?, ?, ?, ?, ?, ?, ?)';
/** Rows per INSERT statement: one statement for many rows costs about half as much per row as one each. */
const ROWS_PER_INSERT = 50;

const columns = (entry: AuditEntry) => [entry.tenantId, entry.userId, entry.contextType, entry.tool, entry.outcome, entry.at, entry.durationMs];

/** The audit log in the shared SQLite database, written in batches. */
export class SqliteAuditStore implements AuditStore {
  private readonly appendTx;
  private readonly pruneStatement;

  constructor(private readonly db: SqliteDatabase) {
    const insertOne = db.prepare(INSERT + ROW);
    const insertMany = db.prepare(INSERT + Array<string>(ROWS_PER_INSERT).fill(ROW).join(', '));
    this.appendTx = db.transaction((entries: readonly AuditEntry[]) => {
      let next = 0;
      for (; next + ROWS_PER_INSERT <= entries.length; next += ROWS_PER_INSERT) {
        insertMany.run(entries.slice(next, next + ROWS_PER_INSERT).flatMap(columns));
      }
      for (; next < entries.length; next++) insertOne.run(columns(entries[next]!));
    });
    this.pruneStatement = db.prepare('DELETE FROM audit WHERE at_ms < ?');
  }

  async append(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length > 0) this.appendTx.immediate(entries);
  }

  async query(session: TenantSession, query: AuditQuery) {
    const where = ['tenant = ?'];
    const params: (string | number)[] = [tenantPartition(session)];
    if (query.userId !== undefined) where.push('user_id = ?'), params.push(query.userId);
    if (query.tool !== undefined) where.push('tool = ?'), params.push(query.tool);
    if (query.outcome !== undefined) where.push('outcome = ?'), params.push(query.outcome);
    if (query.startMs !== undefined) where.push('at_ms >= ?'), params.push(query.startMs);
    if (query.endMs !== undefined) where.push('at_ms < ?'), params.push(query.endMs);
    if (query.before) where.push('(at_ms, seq) < (?, ?)'), params.push(query.before.at, query.before.seq);
    params.push(query.limit);
    return this.db
      .prepare<unknown[], AuditRow>(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY at_ms DESC, seq DESC LIMIT ?`)
      .all(...params)
      .map((row) => ({
        seq: row.seq,
        tenantId: row.tenant,
        userId: row.user_id,
        contextType: row.context_type,
        tool: row.tool,
        outcome: row.outcome,
        at: row.at_ms,
        durationMs: row.duration_ms,
      }));
  }

  async prune(beforeMs: number): Promise<number> {
    return this.pruneStatement.run(beforeMs).changes;
  }
}
