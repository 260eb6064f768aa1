import { mkdirSync } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { quotaExceeded } from '../../errors.js';
import type { ArtifactMeta, ArtifactStore, ArtifactWrite } from '../../ports/artifact-store.js';
import type { ListPage, ListQuery } from '../../ports/kv-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { isProcessAlive, writeFileAtomically, writerPid } from './atomic-file.js';
import { ensureDataFolder } from './data-folder.js';
import { prefixUpperBound } from './key-range.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { tenantArtifactDir, tenantPartition } from './tenant-partition.js';

interface ArtifactRow {
  key: string;
  file: string;
  size: number;
  sha256: string;
  content_type: string;
  metadata: string;
  version: number;
  updated_at: number;
}

const toMeta = (row: ArtifactRow): ArtifactMeta => ({
  key: row.key,
  size: row.size,
  sha256: row.sha256,
  contentType: row.content_type,
  metadata: JSON.parse(row.metadata) as Record<string, string>,
  version: row.version,
  updatedAt: row.updated_at,
});

/**
 * Artifact bodies are files under `<data>/artifacts/<tenant>/`, their metadata rows in SQLite. A put
 * writes a new file atomically, then points the row at it in one transaction, then removes the old
 * file: a reader always finds a complete body. Leftovers of a killed writer are swept at start-up.
 */
export class FileArtifactStore implements ArtifactStore {
  private readonly tmpDir: string;
  private readonly statements;
  private readonly commitTx;
  private readonly deleteTx;

  constructor(
    db: SqliteDatabase,
    private readonly root: string,
    private readonly now: () => number = Date.now,
  ) {
    this.tmpDir = join(root, '.tmp');
    ensureDataFolder(this.tmpDir);
    this.statements = {
      get: db.prepare<[string, string], ArtifactRow>('SELECT * FROM artifacts WHERE tenant = ? AND key = ?'),
      upsert: db.prepare(
        `INSERT INTO artifacts (tenant, key, file, size, sha256, content_type, metadata, version, updated_at)
         VALUES (@tenant, @key, @file, @size, @sha256, @contentType, @metadata, @version, @updatedAt)
         ON CONFLICT (tenant, key) DO UPDATE SET file = excluded.file, size = excluded.size, sha256 = excluded.sha256,
           content_type = excluded.content_type, metadata = excluded.metadata, version = excluded.version,
           updated_at = excluded.updated_at`,
      ),
      remove: db.prepare('DELETE FROM artifacts WHERE tenant = ? AND key = ?'),
      list: db.prepare<[string, string, string, string, number], ArtifactRow>(
        'SELECT * FROM artifacts WHERE tenant = ? AND key >= ? AND key > ? AND key < ? ORDER BY key LIMIT ?',
      ),
      usage: db.prepare<[string], { artifact_bytes: number }>('SELECT artifact_bytes FROM tenant_usage WHERE tenant = ?'),
      addBytes: db.prepare(
        `INSERT INTO tenant_usage (tenant, artifact_bytes) VALUES (?, ?)
         ON CONFLICT (tenant) DO UPDATE SET artifact_bytes = artifact_bytes + excluded.artifact_bytes`,
      ),
      // Tenant ids differing only in case (acme, Acme) share one folder on case-insensitive file systems.
      filesInFolder: db.prepare<[string], { file: string }>('SELECT file FROM artifacts WHERE tenant = ? COLLATE NOCASE'),
    };

    this.commitTx = db.transaction((tenant: string, key: string, file: string, write: ArtifactWrite, maxTotal: number) => {
      const previous = this.statements.get.get(tenant, key);
      const used = this.statements.usage.get(tenant)?.artifact_bytes ?? 0;
      const after = used - (previous?.size ?? 0) + write.body.length;
      if (after > maxTotal) {
        throw quotaExceeded(
          'maxTotalArtifactBytes',
          maxTotal,
          `storing ${write.body.length} bytes would bring the tenant's artifacts to ${after} bytes, over maxTotalArtifactBytes ${maxTotal}`,
        );
      }
      const row = {
        tenant,
        key,
        file,
        size: write.body.length,
        sha256: write.sha256,
        contentType: write.contentType,
        metadata: JSON.stringify(write.metadata),
        version: (previous?.version ?? 0) + 1,
        updatedAt: this.now(),
      };
      this.statements.upsert.run(row);
      this.statements.addBytes.run(tenant, write.body.length - (previous?.size ?? 0));
      return { row, previousFile: previous?.file };
    });

    this.deleteTx = db.transaction((tenant: string, key: string) => {
      const previous = this.statements.get.get(tenant, key);
      if (!previous) return undefined;
      this.statements.remove.run(tenant, key);
      this.statements.addBytes.run(tenant, -previous.size);
      return previous.file;
    });
  }

  async put(session: TenantSession, key: string, write: ArtifactWrite): Promise<ArtifactMeta> {
    const tenant = tenantPartition(session);
    const dir = tenantArtifactDir(this.root, session);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = await writeFileAtomically(this.tmpDir, dir, write.body);
    let committed;
    try {
      committed = this.commitTx.immediate(tenant, key, file, write, session.limits.maxTotalArtifactBytes);
    } catch (error) {
      await unlink(join(dir, file)).catch(() => {});
      throw error;
    }
    if (committed.previousFile) await unlink(join(dir, committed.previousFile)).catch(() => {});
    const { row } = committed;
    return { key, size: row.size, sha256: row.sha256, contentType: row.contentType, metadata: write.metadata, version: row.version, updatedAt: row.updatedAt };
  }

  async get(session: TenantSession, key: string): Promise<{ meta: ArtifactMeta; body: Buffer } | undefined> {
    const tenant = tenantPartition(session);
    const dir = tenantArtifactDir(this.root, session);
    // A concurrent put may replace the row and remove the file we were about to read: read the row again.
    for (let attempt = 0; ; attempt++) {
      const row = this.statements.get.get(tenant, key);
      if (!row) return undefined;
      try {
        return { meta: toMeta(row), body: await readFile(join(dir, row.file)) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
      }
    }
  }

  async list(session: TenantSession, query: ListQuery): Promise<ListPage<ArtifactMeta>> {
    const rows = this.statements.list.all(tenantPartition(session), query.prefix, query.after ?? '', prefixUpperBound(query.prefix), query.limit + 1);
    const page = rows.slice(0, query.limit).map(toMeta);
    return rows.length > query.limit ? { items: page, nextAfter: page[page.length - 1]!.key } : { items: page };
  }

  async delete(session: TenantSession, key: string): Promise<boolean> {
    const file = this.deleteTx.immediate(tenantPartition(session), key);
    if (file === undefined) return false;
    await unlink(join(tenantArtifactDir(this.root, session), file)).catch(() => {});
    return true;
  }

  /**
   * Removes what killed writers left: temp files, and renamed files no row points to. Files of live
   * processes are theirs to finish. Returns how many files were removed.
   */
  async sweepLeftovers(): Promise<number> {
    let removed = 0;
    const dead = (name: string): boolean => {
      const pid = writerPid(name);
      return pid !== undefined && pid !== process.pid && !isProcessAlive(pid);
    };
    for (const name of await readdir(this.tmpDir)) {
      if (dead(name)) removed += await unlink(join(this.tmpDir, name)).then(() => 1, () => 0);
    }
    const tenants = await readdir(this.root, { withFileTypes: true });
    for (const entry of tenants) {
      if (!entry.isDirectory() || entry.name === '.tmp') continue;
      const dir = join(this.root, entry.name);
      const candidates = (await readdir(dir)).filter(dead);
      if (candidates.length === 0) continue;
      const referenced = new Set(this.statements.filesInFolder.all(entry.name).map((row) => row.file));
      for (const name of candidates) {
        if (!referenced.has(name)) removed += await unlink(join(dir, name)).then(() => 1, () => 0);
      }
    }
    return removed;
  }
}
