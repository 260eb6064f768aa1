import { quotaExceeded } from '../../errors.js';
import type { ExecutionQuery, ExecutionRecord, HistoryEvent, WorkflowStore, WorkflowVersion } from '../../ports/workflow-store.js';
import { parsePrincipal, principalJson } from '../../tenancy/principal.js';
import type { TenantSession } from '../../tenancy/session.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { tenantPartition } from './tenant-partition.js';

const SELECT_EXECUTION = `SELECT e.*, c.snapshot, c.current_state FROM executions e JOIN execution_checkpoints c ON c.id = e.id`;

interface ExecutionRow {
  id: string;
  tenant: string;
  name: string;
  workflow: string;
  version: number;
  status: ExecutionRecord['status'];
  snapshot: string;
  current_state: string | null;
  output: string | null;
  error: string | null;
  cause: string | null;
  started_ms: number;
  stopped_ms: number | null;
  abort_requested: number;
  lease_owner: string | null;
  lease_until_ms: number;
  started_by: string | null;
}

const toExecution = (row: ExecutionRow): ExecutionRecord => ({
  id: row.id,
  tenantId: row.tenant,
  name: row.name,
  workflow: row.workflow,
  version: row.version,
  status: row.status,
  snapshot: row.snapshot,
  currentState: row.current_state,
  output: row.output,
  error: row.error,
  cause: row.cause,
  startedAt: row.started_ms,
  stoppedAt: row.stopped_ms,
  abortRequested: row.abort_requested === 1,
  ...startedBy(row.started_by),
});

function startedBy(text: string | null): Pick<ExecutionRecord, 'startedBy'> {
  const principal = parsePrincipal(text);
  return principal ? { startedBy: principal } : {};
}

const toWorkflow = (row: { name: string; version: number; definition: string; description: string; created_ms: number }): WorkflowVersion => ({
  name: row.name,
  version: row.version,
  definition: row.definition,
  description: row.description,
  createdAt: row.created_ms,
});

/** Workflows, executions and their history in the shared SQLite database. */
export class SqliteWorkflowStore implements WorkflowStore {
  private readonly sql;
  private readonly putWorkflowTx;
  private readonly createTx;
  private readonly claimTx;
  private readonly checkpointTx;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = {
      latest: db.prepare<[string, string], { version: number }>('SELECT MAX(version) AS version FROM workflows WHERE tenant = ? AND name = ?'),
      insertWorkflow: db.prepare('INSERT INTO workflows (tenant, name, version, definition, description, created_ms) VALUES (?, ?, ?, ?, ?, ?)'),
      workflow: db.prepare<[string, string, number], Parameters<typeof toWorkflow>[0]>('SELECT * FROM workflows WHERE tenant = ? AND name = ? AND version = ?'),
      latestWorkflow: db.prepare<[string, string], Parameters<typeof toWorkflow>[0]>(
        'SELECT * FROM workflows WHERE tenant = ? AND name = ? ORDER BY version DESC LIMIT 1',
      ),
      workflows: db.prepare<[string], Parameters<typeof toWorkflow>[0]>(
        `SELECT w.* FROM workflows w WHERE w.tenant = ? AND w.version = (SELECT MAX(version) FROM workflows v WHERE v.tenant = w.tenant AND v.name = w.name) ORDER BY w.name`,
      ),
      byName: db.prepare<[string, string, string], ExecutionRow>(`${SELECT_EXECUTION} WHERE e.tenant = ? AND e.workflow = ? AND e.name = ?`),
      byId: db.prepare<[string, string], ExecutionRow>(`${SELECT_EXECUTION} WHERE e.tenant = ? AND e.id = ?`),
      running: db.prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM executions WHERE tenant = ? AND status = 'RUNNING'`),
      insertExecution: db.prepare(
        `INSERT INTO executions (id, tenant, name, workflow, version, status, started_ms, started_by)
         VALUES (@id, @tenant, @name, @workflow, @version, @status, @startedAt, @startedBy)`,
      ),
      insertCheckpoint: db.prepare('INSERT INTO execution_checkpoints (id, snapshot, current_state, history_seq) VALUES (?, ?, ?, ?)'),
      insertHistory: db.prepare('INSERT INTO execution_history (execution_id, seq, at_ms, type, state, detail) VALUES (?, ?, ?, ?, ?, ?)'),
      history: db.prepare<[string, number], { seq: number; at_ms: number; type: string; state: string | null; detail: string | null }>(
        'SELECT seq, at_ms, type, state, detail FROM execution_history WHERE execution_id = ? AND seq > ? ORDER BY seq',
      ),
      requestAbort: db.prepare(`UPDATE executions SET abort_requested = 1 WHERE tenant = ? AND id = ? AND status = 'RUNNING'`),
      claimable: db.prepare<[number, number], ExecutionRow>(
        `${SELECT_EXECUTION} WHERE e.status = 'RUNNING' AND e.lease_until_ms <= ? ORDER BY e.started_ms LIMIT ?`,
      ),
      leased: db.prepare<[], { id: string; lease_owner: string; lease_until_ms: number }>(
        `SELECT id, lease_owner, lease_until_ms FROM executions WHERE status = 'RUNNING' AND lease_owner IS NOT NULL`,
      ),
      lease: db.prepare('UPDATE executions SET lease_owner = ?, lease_until_ms = ? WHERE id = ?'),
      anyFree: db.prepare<[number], { found: number }>(`SELECT 1 AS found FROM executions WHERE status = 'RUNNING' AND lease_until_ms <= ? LIMIT 1`),
      renew: db.prepare(`UPDATE executions SET lease_until_ms = ? WHERE id = ? AND lease_owner = ? AND status = 'RUNNING'`),
      release: db.prepare('UPDATE executions SET lease_owner = NULL, lease_until_ms = 0 WHERE id = ? AND lease_owner = ?'),
      // The fencing check and the history numbers in one statement: only the lease holder's checkpoint lands.
      checkpoint: db.prepare<[Record<string, unknown>], { history_seq: number }>(
        `UPDATE execution_checkpoints SET snapshot = @snapshot, current_state = @currentState, history_seq = history_seq + @events
         WHERE id = @id AND EXISTS (SELECT 1 FROM executions WHERE id = @id AND lease_owner = @owner)
         RETURNING history_seq`,
      ),
      finish: db.prepare(
        `UPDATE executions SET status = @status, output = @output, error = @error, cause = @cause, stopped_ms = @stoppedAt WHERE id = @id`,
      ),
    };

    this.putWorkflowTx = db.transaction((tenant: string, name: string, definition: string, description: string, now: number) => {
      const version = (this.sql.latest.get(tenant, name)?.version ?? 0) + 1;
      this.sql.insertWorkflow.run(tenant, name, version, definition, description, now);
      return version;
    });

    this.createTx = db.transaction((tenant: string, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[], max: number) => {
      const existing = this.sql.byName.get(tenant, execution.workflow, execution.name);
      if (existing) return { execution: toExecution(existing), created: false };
      const running = this.sql.running.get(tenant)!.n;
      if (running >= max) {
        throw quotaExceeded('maxConcurrentExecutions', max, `tenant has ${running} running executions, the limit maxConcurrentExecutions is ${max}`);
      }
      const { id, name, workflow, version, status, startedAt } = execution;
      this.sql.insertExecution.run({ id, name, workflow, version, status, startedAt, tenant, startedBy: principalJson(execution.startedBy) });
      this.sql.insertCheckpoint.run(execution.id, execution.snapshot, execution.currentState, history.length);
      this.appendHistory(execution.id, 0, history);
      return { execution, created: true };
    });

    this.claimTx = db.transaction((owner: string, now: number, until: number, limit: number, isOwnerAlive: (owner: string) => boolean) => {
      // A lease whose holder is known to be dead (a killed process on this machine) is free at once.
      for (const row of this.sql.leased.all()) {
        if (row.lease_owner !== owner && row.lease_until_ms > now && !isOwnerAlive(row.lease_owner)) this.sql.lease.run(null, 0, row.id);
      }
      const rows = this.sql.claimable.all(now, limit);
      for (const row of rows) this.sql.lease.run(owner, until, row.id);
      return rows.map(toExecution);
    });

    this.checkpointTx = db.transaction((owner: string, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[]) => {
      const updated = this.sql.checkpoint.get({
        id: execution.id,
        owner,
        snapshot: execution.snapshot,
        currentState: execution.currentState,
        events: history.length,
      });
      if (!updated) return false;
      this.appendHistory(execution.id, updated.history_seq - history.length, history);
      if (execution.status !== 'RUNNING') {
        this.sql.finish.run({ id: execution.id, status: execution.status, output: execution.output, error: execution.error, cause: execution.cause, stoppedAt: execution.stoppedAt });
      }
      return true;
    });
  }

  private appendHistory(id: string, lastSeq: number, history: Omit<HistoryEvent, 'seq'>[]): void {
    let seq = lastSeq;
    for (const event of history) {
      this.sql.insertHistory.run(id, ++seq, event.at, event.type, event.state, event.detail ? JSON.stringify(event.detail) : null);
    }
  }

  async putWorkflow(session: TenantSession, name: string, definition: string, description: string, now: number): Promise<number> {
    return this.putWorkflowTx.immediate(tenantPartition(session), name, definition, description, now);
  }

  async getWorkflow(session: TenantSession, name: string, version?: number): Promise<WorkflowVersion | undefined> {
    const tenant = tenantPartition(session);
    const row = version === undefined ? this.sql.latestWorkflow.get(tenant, name) : this.sql.workflow.get(tenant, name, version);
    return row ? toWorkflow(row) : undefined;
  }

  async listWorkflows(session: TenantSession): Promise<WorkflowVersion[]> {
    return this.sql.workflows.all(tenantPartition(session)).map(toWorkflow);
  }

  async createExecution(session: TenantSession, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[]) {
    return this.createTx.immediate(tenantPartition(session), execution, history, session.limits.maxConcurrentExecutions);
  }

  async getExecution(session: TenantSession, id: string): Promise<ExecutionRecord | undefined> {
    const row = this.sql.byId.get(tenantPartition(session), id);
    return row ? toExecution(row) : undefined;
  }

  async findExecution(session: TenantSession, workflow: string, name: string): Promise<ExecutionRecord | undefined> {
    const row = this.sql.byName.get(tenantPartition(session), workflow, name);
    return row ? toExecution(row) : undefined;
  }

  async listExecutions(session: TenantSession, query: ExecutionQuery): Promise<ExecutionRecord[]> {
    const where = ['e.tenant = ?'];
    const params: (string | number)[] = [tenantPartition(session)];
    if (query.workflow !== undefined) where.push('e.workflow = ?'), params.push(query.workflow);
    if (query.status !== undefined) where.push('e.status = ?'), params.push(query.status);
    if (query.before) where.push('(e.started_ms, e.id) < (?, ?)'), params.push(query.before.startedAt, query.before.id);
    params.push(query.limit);
    return this.db
      .prepare<unknown[], ExecutionRow>(`${SELECT_EXECUTION} WHERE ${where.join(' AND ')} ORDER BY e.started_ms DESC, e.id DESC LIMIT ?`)
      .all(...params)
      .map(toExecution);
  }

  async history(session: TenantSession, id: string, afterSeq = 0): Promise<HistoryEvent[]> {
    if (!this.sql.byId.get(tenantPartition(session), id)) return [];
    return this.sql.history.all(id, afterSeq).map((row) => ({
      seq: row.seq,
      at: row.at_ms,
      type: row.type,
      state: row.state,
      detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : null,
    }));
  }

  async requestAbort(session: TenantSession, id: string): Promise<boolean> {
    return this.sql.requestAbort.run(tenantPartition(session), id).changes > 0;
  }

  async claimExecutions(owner: string, now: number, until: number, limit: number, isOwnerAlive: (owner: string) => boolean) {
    // A read first: runners poll often, and an idle one should not take the write lock (and write the WAL) each time.
    const free = this.sql.anyFree.get(now);
    const orphaned = this.sql.leased.all().some((row) => row.lease_owner !== owner && row.lease_until_ms > now && !isOwnerAlive(row.lease_owner));
    if (!free && !orphaned) return [];
    return this.claimTx.immediate(owner, now, until, limit, isOwnerAlive);
  }

  async renewLease(owner: string, id: string, until: number): Promise<boolean> {
    return this.sql.renew.run(until, id, owner).changes > 0;
  }

  async checkpoint(owner: string, execution: ExecutionRecord, history: Omit<HistoryEvent, 'seq'>[]): Promise<boolean> {
    return this.checkpointTx.immediate(owner, execution, history);
  }

  async releaseLease(owner: string, id: string): Promise<void> {
    this.sql.release.run(id, owner);
  }
}
