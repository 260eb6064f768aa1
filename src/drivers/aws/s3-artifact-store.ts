import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { conflict, quotaExceeded } from '../../errors.js';
import type { ArtifactMeta, ArtifactStore, ArtifactWrite } from '../../ports/artifact-store.js';
import type { ListPage, ListQuery } from '../../ports/kv-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { isConditionFailure, queryPages } from './query-pages.js';
import { KIND, tenantIdOfPk, tenantPk, tenantPkOf } from './table-keys.js';
import { TenantUsage } from './tenant-usage.js';

const MIB = 1024 * 1024;
/** S3 refuses parts below 5 MiB (except the last). */
const MIN_PART_BYTES = 5 * MIB;
/** S3's limit on user metadata: the UTF-8 bytes of every name and value together. */
const MAX_OBJECT_METADATA_BYTES = 2048;
/** Rounds of read-modify-write a put tries when concurrent puts on the same key keep winning. */
const MAX_COMMIT_ATTEMPTS = 25;
/** Rounds a get re-reads the row when a concurrent put removed the object it pointed to. */
const MAX_READ_ATTEMPTS = 10;

const OBJECT_ROOT = 'tenants/';
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const OBJECT_ID = /^[0-9a-f]{32}$/;

export interface S3ArtifactStoreOptions {
  /** Bodies larger than this go up as a multipart upload. Default 8 MiB. */
  multipartThresholdBytes?: number;
  /** Part size of multipart uploads, at least 5 MiB. Default 8 MiB. */
  partSizeBytes?: number;
  now?: () => number;
}

interface ArtifactRow {
  pk: string;
  sk: string;
  key: string;
  size: number;
  sha256: string;
  contentType: string;
  metadata: Record<string, string>;
  version: number;
  updatedAt: number;
  objectKey: string;
}

interface ArtifactNames {
  pk: string;
  sk(key: string): string;
  /** A fresh object key for a new body of `key`: a new object per put, under the tenant's prefix. */
  newObjectKey(key: string): string;
}

/**
 * The one place this driver turns a tenant into physical names: its DynamoDB partition and sort keys
 * (table-keys.ts) and its S3 prefix `tenants/<tenant>/<base64url(key)>/<random id>`. The key is base64url
 * rather than percent-encoded: a 512-byte key of non-ASCII characters would take 1,536 characters
 * percent-encoded, past S3's 1,024-byte key limit; base64url takes at most 684 and is reversible, so
 * the sweeper can find the index row of any object.
 */
function tenantNames(session: TenantSession): ArtifactNames {
  return namesOf(tenantIdOfPk(tenantPk(session)));
}

/** For the sweeper only, with a tenant id parsed from an object key it listed. */
function namesOf(tenantId: string): ArtifactNames {
  return {
    pk: tenantPkOf(tenantId),
    sk: (key) => KIND.artifact + key,
    newObjectKey: (key) => `${OBJECT_ROOT}${tenantId}/${Buffer.from(key, 'utf8').toString('base64url')}/${randomUUID().replaceAll('-', '')}`,
  };
}

function parseObjectKey(objectKey: string): { tenantId: string; key: string } | undefined {
  if (!objectKey.startsWith(OBJECT_ROOT)) return undefined;
  const parts = objectKey.slice(OBJECT_ROOT.length).split('/');
  if (parts.length !== 3) return undefined;
  const [tenantId, encodedKey, id] = parts as [string, string, string];
  if (!TENANT_ID.test(tenantId) || !BASE64URL.test(encodedKey) || !OBJECT_ID.test(id)) return undefined;
  const key = Buffer.from(encodedKey, 'base64url').toString('utf8');
  // Only what newObjectKey makes: anything else under the prefix is not ours to judge.
  if (Buffer.from(key, 'utf8').toString('base64url') !== encodedKey) return undefined;
  return { tenantId, key };
}

const toMeta = (row: ArtifactRow): ArtifactMeta => ({
  key: row.key,
  size: row.size,
  sha256: row.sha256,
  contentType: row.contentType,
  metadata: row.metadata,
  version: row.version,
  updatedAt: row.updatedAt,
});

/** DynamoDB orders sort keys by their UTF-8 bytes, which is not JavaScript's UTF-16 order. */
const utf8Compare = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

const isNoSuchKey = (error: unknown): boolean => error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound');

/**
 * Artifact bodies in S3, their index in the DynamoDB table (pk tenant, sk "ART#<key>"). A put reserves
 * the bytes it adds, uploads a new object, then points the row at it with a conditional write, then
 * removes the old object: a reader following the row always finds a complete body. Objects a crash left
 * without a row are removed by `sweepOrphans`.
 */
export class S3ArtifactStore implements ArtifactStore {
  private readonly usage: TenantUsage;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly now: () => number;

  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly s3: S3Client,
    private readonly bucket: string,
    options: S3ArtifactStoreOptions = {},
  ) {
    this.usage = new TenantUsage(dynamo, table);
    this.multipartThreshold = options.multipartThresholdBytes ?? 8 * MIB;
    this.partSize = options.partSizeBytes ?? 8 * MIB;
    if (this.partSize < MIN_PART_BYTES) throw new RangeError(`partSizeBytes must be at least ${MIN_PART_BYTES} (S3's minimum part size)`);
    this.now = options.now ?? Date.now;
  }

  async put(session: TenantSession, key: string, write: ArtifactWrite): Promise<ArtifactMeta> {
    const names = tenantNames(session);
    const sk = names.sk(key);
    const max = session.limits.maxTotalArtifactBytes;
    const size = write.body.length;

    let previous = await this.readRow(names.pk, sk);
    let added = await this.reserve(names.pk, size, size - (previous?.size ?? 0), max);
    const objectKey = names.newObjectKey(key);
    try {
      await this.upload(objectKey, write);
    } catch (error) {
      await this.discard(objectKey, names.pk, added);
      throw error;
    }

    let row: ArtifactRow;
    for (let attempt = 1; ; attempt++) {
      row = {
        pk: names.pk,
        sk,
        key,
        size,
        sha256: write.sha256,
        contentType: write.contentType,
        metadata: write.metadata,
        version: (previous?.version ?? 0) + 1,
        updatedAt: this.now(),
        objectKey,
      };
      const outcome = await this.commit(row, previous);
      if (outcome === 'committed') break;
      if (outcome === 'unknown') throw new Error('artifact index write failed and its outcome could not be read back');
      // Another put or delete changed the row since we read it (or the write failed): give back what we
      // reserved against the old row, and try again against the new one.
      await this.usage.release(names.pk, 'artifactBytes', Math.max(0, added)).catch(() => {});
      added = 0;
      if (outcome instanceof Error) {
        await this.discard(objectKey, names.pk, 0);
        throw outcome;
      }
      if (attempt >= MAX_COMMIT_ATTEMPTS) {
        await this.discard(objectKey, names.pk, 0);
        throw conflict(`artifact "${key}" is being replaced by other writers; try again`);
      }
      await sleep(Math.random() * Math.min(100, 5 * attempt));
      try {
        previous = await this.readRow(names.pk, sk);
        added = await this.reserve(names.pk, size, size - (previous?.size ?? 0), max);
      } catch (error) {
        await this.discard(objectKey, names.pk, 0);
        throw error;
      }
    }

    // Committed. What is left is cleanup: a failure here leaves an orphan for the sweeper, or a usage
    // counter a little high, never a reader without a body.
    if (previous) await this.deleteObject(previous.objectKey).catch(() => {});
    if (added < 0) await this.usage.release(names.pk, 'artifactBytes', -added).catch(() => {});
    return toMeta(row);
  }

  async get(session: TenantSession, key: string): Promise<{ meta: ArtifactMeta; body: Buffer } | undefined> {
    const names = tenantNames(session);
    // A concurrent put may replace the row and remove the object we were about to read: read the row again.
    for (let attempt = 1; ; attempt++) {
      const row = await this.readRow(names.pk, names.sk(key));
      if (!row) return undefined;
      try {
        const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: row.objectKey }));
        const bytes = await object.Body!.transformToByteArray();
        return { meta: toMeta(row), body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
      } catch (error) {
        if (!isNoSuchKey(error) || attempt >= MAX_READ_ATTEMPTS) throw error;
      }
    }
  }

  async list(session: TenantSession, query: ListQuery): Promise<ListPage<ArtifactMeta>> {
    const names = tenantNames(session);
    const { prefix, limit, after } = query;
    // begins_with rather than a BETWEEN up to U+10FFFF: emulators do not all compare strings by UTF-8 bytes.
    let start: Record<string, unknown> | undefined;
    if (after !== undefined) {
      // DynamoDB refuses a start key outside the key condition: one before the prefix changes nothing,
      // one past every key of the prefix leaves nothing.
      if (after.startsWith(prefix)) start = { pk: names.pk, sk: names.sk(after) };
      else if (utf8Compare(after, prefix) > 0) return { items: [] };
    }
    const rows: ArtifactRow[] = [];
    const pages = queryPages(this.dynamo, () => ({
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': names.pk, ':prefix': names.sk(prefix) },
      ConsistentRead: true,
      // One more than the page, to know whether more follow.
      Limit: Math.max(1, limit + 1 - rows.length),
      ...(start && { ExclusiveStartKey: start }),
    }));
    for await (const page of pages) {
      rows.push(...((page.Items ?? []) as ArtifactRow[]));
      if (rows.length > limit) break;
    }

    const items = rows.slice(0, limit).map(toMeta);
    return rows.length > limit ? { items, nextAfter: items[items.length - 1]!.key } : { items };
  }

  async delete(session: TenantSession, key: string): Promise<boolean> {
    const names = tenantNames(session);
    let removed: ArtifactRow;
    try {
      const result = await this.dynamo.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: names.pk, sk: names.sk(key) },
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
      );
      removed = result.Attributes as ArtifactRow;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    await this.usage.release(names.pk, 'artifactBytes', removed.size);
    await this.deleteObject(removed.objectKey).catch(() => {});
    return true;
  }

  /**
   * Removes objects under `tenants/` older than `olderThanMs` that no index row points to: bodies a crash
   * left between upload and index write, or old bodies a crash kept after a replacement. `olderThanMs` must
   * be longer than any put takes (an hour is safe), or the body of a put still in flight could go.
   * Returns how many objects were removed.
   */
  async sweepOrphans(olderThanMs: number): Promise<number> {
    const cutoff = this.now() - olderThanMs;
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: OBJECT_ROOT, ...(token && { ContinuationToken: token }) }));
      for (const object of page.Contents ?? []) {
        if (!object.Key || !object.LastModified || object.LastModified.getTime() >= cutoff) continue;
        const owner = parseObjectKey(object.Key);
        if (!owner) continue;
        const names = namesOf(owner.tenantId);
        const row = await this.readRow(names.pk, names.sk(owner.key));
        if (row?.objectKey === object.Key) continue;
        await this.deleteObject(object.Key);
        removed++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return removed;
  }

  private async readRow(pk: string, sk: string): Promise<ArtifactRow | undefined> {
    const result = await this.dynamo.send(new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }));
    return result.Item as ArtifactRow | undefined;
  }

  /**
   * Reserves the bytes a put adds (its size less the size it replaces); a put that shrinks an artifact
   * reserves nothing and gives the difference back once committed. Returns the change in bytes.
   */
  private async reserve(pk: string, size: number, added: number, max: number): Promise<number> {
    // `added > max` is refused here too: TenantUsage lets a first reservation larger than `max` through.
    if (added <= 0) return added;
    if (added <= max && (await this.usage.reserve(pk, 'artifactBytes', added, max))) return added;
    const after = (await this.usage.read(pk, 'artifactBytes')) + added;
    throw quotaExceeded(
      'maxTotalArtifactBytes',
      max,
      `storing ${size} bytes would bring the tenant's artifacts to ${after} bytes, over maxTotalArtifactBytes ${max}`,
    );
  }

  private async upload(objectKey: string, write: ArtifactWrite): Promise<void> {
    const params = { Bucket: this.bucket, Key: objectKey, ContentType: write.contentType, Metadata: objectMetadata(write) };
    if (write.body.length <= this.multipartThreshold) {
      // S3 recomputes the SHA-256 of what it received and refuses the body if it differs.
      await this.s3.send(
        new PutObjectCommand({ ...params, Body: write.body, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: Buffer.from(write.sha256, 'hex').toString('base64') }),
      );
      return;
    }
    // Multipart SHA-256 checksums are per part (the SDK computes and S3 checks each); S3 has no whole-object
    // SHA-256 for multipart uploads. A failed upload is aborted, so no parts are left behind.
    await new Upload({ client: this.s3, params: { ...params, Body: write.body, ChecksumAlgorithm: 'SHA256' }, partSize: this.partSize, leavePartsOnError: false }).done();
  }

  /**
   * Points the index row at the new object if the row is still the one we read. On a failed write the row
   * is read back: a retried request may have gone through before its answer was lost.
   */
  private async commit(row: ArtifactRow, previous: ArtifactRow | undefined): Promise<'committed' | 'lost' | 'unknown' | Error> {
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.table,
          Item: row,
          ...(previous
            ? {
                ConditionExpression: '#version = :version AND objectKey = :objectKey',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': previous.version, ':objectKey': previous.objectKey },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      return 'committed';
    } catch (error) {
      let current: ArtifactRow | undefined;
      try {
        current = await this.readRow(row.pk, row.sk);
      } catch {
        // Neither outcome is known: keep the object and the reservation (the sweeper and a high counter are safe).
        return 'unknown';
      }
      if (current?.objectKey === row.objectKey) return 'committed';
      return isConditionFailure(error) ? 'lost' : (error as Error);
    }
  }

  /** Undoes a put that will not be committed: its object and the bytes it reserved. */
  private async discard(objectKey: string, pk: string, added: number): Promise<void> {
    await this.deleteObject(objectKey).catch(() => {});
    if (added > 0) await this.usage.release(pk, 'artifactBytes', added).catch(() => {});
  }

  private async deleteObject(objectKey: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
  }
}

/**
 * The object's own S3 metadata: the SHA-256, plus the user metadata when S3 can carry it unchanged
 * (printable ASCII, names distinct ignoring case, 2 KB in all). The index row is the source of truth;
 * the version is not stored here since a put learns it only when its index write wins.
 */
function objectMetadata(write: ArtifactWrite): Record<string, string> {
  const ours = { 'agent-mesh-sha256': write.sha256 };
  const merged: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries({ ...write.metadata, ...ours })) {
    const lower = name.toLowerCase();
    if (lower in merged || !/^[\x20-\x7e]*$/.test(value) || value !== value.trim()) return ours;
    merged[lower] = value;
    bytes += Buffer.byteLength(lower) + Buffer.byteLength(value);
  }
  return bytes <= MAX_OBJECT_METADATA_BYTES ? merged : ours;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
