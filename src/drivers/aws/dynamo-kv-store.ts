import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conflict, invalidArgument, MeshError, quotaExceeded } from '../../errors.js';
import type { KvEntry, KvListItem, KvStore, KvWrite, ListPage, ListQuery } from '../../ports/kv-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { isConditionFailure, queryPages } from './query-pages.js';
import { GSI1, GSI1_PK, KIND, pad, tenantIdOfPk, tenantPk, ttlSeconds } from './table-keys.js';
import { TenantUsage } from './tenant-usage.js';

/** One KV entry: pk "T#<tenant>", sk "KV#<key>"; the expiry attributes exist only when the entry expires. */
interface KvItem {
  pk: string;
  sk: string;
  value: string;
  version: number;
  expiresAt?: number;
  updatedAt: number;
}

/**
 * DynamoDB deletes by `ttl` a day after expiry, so our own purge (which gives the key back to the tenant's
 * counter) normally gets there first; an item DynamoDB deletes instead leaves its key counted.
 */
const TTL_GRACE_MS = 24 * 60 * 60 * 1000;
/** Rounds of read-then-conditional-write before a write that keeps losing races gives up. */
const MAX_ATTEMPTS = 8;
/** Concurrent conditional deletes during a purge. */
const DELETE_CONCURRENCY = 25;
const PURGE_PAGE = 100;

/** Every attribute name goes through a placeholder: `value` and `ttl` are reserved words. */
const NAMES = {
  '#pk': 'pk',
  '#value': 'value',
  '#version': 'version',
  '#updatedAt': 'updatedAt',
  '#expiresAt': 'expiresAt',
  '#ttl': 'ttl',
  '#gsi1pk': 'gsi1pk',
  '#gsi1sk': 'gsi1sk',
};
const LIVE = '(attribute_not_exists(#expiresAt) OR #expiresAt > :now)';

const isLive = (item: Pick<KvItem, 'expiresAt'>, now: number): boolean => item.expiresAt === undefined || item.expiresAt > now;
/** DynamoDB order of string keys: UTF-8 bytes. */
const compareUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

function tooLarge(error: unknown): MeshError | undefined {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  if (name === 'ValidationException' && /maximum allowed size/i.test(message ?? '')) {
    return invalidArgument('value', 'is too large for one DynamoDB item (400 KB including the key and metadata)');
  }
  return undefined;
}

/** Makes a write's own failure a MeshError where it is the client's doing; condition failures pass through. */
function rethrow(error: unknown): never {
  throw tooLarge(error) ?? error;
}

function expiryAttributes(pk: string, key: string, expiresAt: number) {
  return {
    expiresAt,
    ttl: ttlSeconds(expiresAt + TTL_GRACE_MS),
    gsi1pk: GSI1_PK.expiringKeys,
    gsi1sk: `${pad(expiresAt)}#${tenantIdOfPk(pk)}#${key}`,
  };
}

async function inChunks<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return results;
}

/**
 * The KV port on the single DynamoDB table. Without transactions, every write is one conditional request
 * that checks what the caller's conditions (and the key quota) assumed; when it fails the driver reads
 * again to say why or to try again. Expired entries are filtered on read, purged by purgeExpired (via the
 * sparse GSI1 partition "EXP") and, as a last resort, deleted by DynamoDB's TTL.
 */
export class DynamoKvStore implements KvStore {
  private readonly usage: TenantUsage;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {
    this.usage = new TenantUsage(client, table);
  }

  async get(session: TenantSession, key: string): Promise<KvEntry | undefined> {
    const item = await this.read(tenantPk(session), key);
    if (!item || !isLive(item, this.now())) return undefined;
    return { key, valueJson: item.value, version: item.version, expiresAt: item.expiresAt ?? null, updatedAt: item.updatedAt };
  }

  async set(session: TenantSession, key: string, write: KvWrite): Promise<{ version: number }> {
    const pk = tenantPk(session);
    const now = this.now();
    if (!write.ifAbsent) {
      // The common case, overwriting a live key, is one request.
      const version = await this.updateLive(pk, key, write, now, write.ifVersion);
      if (version !== undefined) return { version };
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const item = await this.read(pk, key);
      const live = item !== undefined && isLive(item, now);
      if (write.ifAbsent && live) throw conflict(`key "${key}" already exists (if_absent)`);
      if (write.ifVersion !== undefined && (!live || item.version !== write.ifVersion)) {
        throw conflict(
          live
            ? `key "${key}" is at version ${item.version}, not ${write.ifVersion} (if_version)`
            : `key "${key}" does not exist, so it is not at version ${write.ifVersion} (if_version)`,
        );
      }
      if (item === undefined) {
        await this.reserveKey(pk, session.limits.maxKeys, now);
        let written = false;
        try {
          written = await this.putFirstVersion(pk, key, write, now, 'attribute_not_exists(#pk)');
        } finally {
          if (!written) await this.usage.release(pk, 'kvKeys', 1);
        }
        if (written) return { version: 1 };
      } else if (!live) {
        // An expired item still holds its key in the counter: replacing it reserves nothing.
        if (await this.putFirstVersion(pk, key, write, now, 'attribute_exists(#pk) AND #expiresAt <= :now')) return { version: 1 };
      } else {
        const version = await this.updateLive(pk, key, write, now, item.version);
        if (version !== undefined) return { version };
      }
    }
    throw new MeshError('unavailable', `key "${key}" is being changed concurrently; retry`, {}, { retryable: true });
  }

  async delete(session: TenantSession, key: string, ifVersion?: number): Promise<boolean> {
    const pk = tenantPk(session);
    const now = this.now();
    if (ifVersion === undefined) {
      const result = await this.client.send(new DeleteCommand({ TableName: this.table, Key: this.keyOf(pk, key), ReturnValues: 'ALL_OLD' }));
      const old = result.Attributes as KvItem | undefined;
      if (!old) return false;
      await this.usage.release(pk, 'kvKeys', 1);
      return isLive(old, now);
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        await this.client.send(
          new DeleteCommand({
            TableName: this.table,
            Key: this.keyOf(pk, key),
            ConditionExpression: `#version = :version AND ${LIVE}`,
            ExpressionAttributeNames: { '#version': 'version', '#expiresAt': 'expiresAt' },
            ExpressionAttributeValues: { ':version': ifVersion, ':now': now },
          }),
        );
        await this.usage.release(pk, 'kvKeys', 1);
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const item = await this.read(pk, key);
      const live = item !== undefined && isLive(item, now);
      if (!live || item.version !== ifVersion) {
        throw conflict(live ? `key "${key}" is at version ${item.version}, not ${ifVersion} (if_version)` : `key "${key}" does not exist`);
      }
    }
    throw new MeshError('unavailable', `key "${key}" is being changed concurrently; retry`, {}, { retryable: true });
  }

  async list(session: TenantSession, query: ListQuery): Promise<ListPage<KvListItem>> {
    const pk = tenantPk(session);
    const now = this.now();
    const { prefix, limit, after } = query;
    let startKey: Record<string, string> | undefined;
    if (after !== undefined) {
      // DynamoDB refuses a start key outside the key condition: one before the prefix changes nothing,
      // one past every key of the prefix leaves nothing.
      if (after.startsWith(prefix)) startKey = this.keyOf(pk, after);
      else if (compareUtf8(after, prefix) > 0) return { items: [] };
    }
    const rows: KvListItem[] = [];
    const pages = queryPages(this.client, () => ({
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      FilterExpression: LIVE,
      ProjectionExpression: '#sk, #version, #expiresAt, #updatedAt',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#version': 'version', '#expiresAt': 'expiresAt', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':pk': pk, ':prefix': KIND.kv + prefix, ':now': now },
      ExclusiveStartKey: startKey,
      // Limit counts items before the filter drops expired ones, hence the loop.
      Limit: limit + 1 - rows.length,
      ConsistentRead: true,
    }));
    for await (const page of pages) {
      for (const item of (page.Items ?? []) as KvItem[]) {
        rows.push({ key: item.sk.slice(KIND.kv.length), version: item.version, expiresAt: item.expiresAt ?? null, updatedAt: item.updatedAt });
      }
      if (rows.length > limit) break;
    }
    const items = rows.slice(0, limit);
    return rows.length > limit ? { items, nextAfter: items[items.length - 1]!.key } : { items };
  }

  async purgeExpired(batch: number): Promise<number> {
    if (batch <= 0) return 0;
    const candidates = await this.expiredItems(this.now(), batch);
    const removed = await inChunks(candidates, DELETE_CONCURRENCY, (item) => this.removeExpired(item));
    return removed.filter(Boolean).length;
  }

  /** Counts a new key against maxKeys; the tenant's expired keys still in the table are purged first when at the limit. */
  private async reserveKey(pk: string, maxKeys: number, now: number): Promise<void> {
    if (await this.usage.reserve(pk, 'kvKeys', 1, maxKeys)) return;
    if ((await this.purgeTenant(pk, now)) > 0 && (await this.usage.reserve(pk, 'kvKeys', 1, maxKeys))) return;
    const count = await this.usage.read(pk, 'kvKeys');
    throw quotaExceeded('maxKeys', maxKeys, `tenant has ${count} keys, the limit maxKeys is ${maxKeys}`);
  }

  private async purgeTenant(pk: string, now: number): Promise<number> {
    let total = 0;
    for (;;) {
      const candidates = await this.expiredItems(now, PURGE_PAGE, pk);
      const removed = (await inChunks(candidates, DELETE_CONCURRENCY, (item) => this.removeExpired(item))).filter(Boolean).length;
      total += removed;
      // Stops on a short page, or when nothing could be removed (the index may lag behind the table).
      if (candidates.length < PURGE_PAGE || removed === 0) return total;
    }
  }

  /** Up to `limit` expired entries, oldest expiry first, from the sparse index; of one tenant when `pk` is given. */
  private async expiredItems(now: number, limit: number, pk?: string): Promise<KvItem[]> {
    const found: KvItem[] = [];
    const pages = queryPages(this.client, () => ({
      TableName: this.table,
      IndexName: GSI1,
      // expiresAt <= now: every gsi1sk that starts with pad(expiresAt) sorts below pad(now + 1).
      KeyConditionExpression: '#gsi1pk = :exp AND #gsi1sk < :before',
      ...(pk !== undefined && { FilterExpression: '#pk = :pk' }),
      ProjectionExpression: '#pk, #sk, #version, #expiresAt',
      ExpressionAttributeNames: {
        '#gsi1pk': 'gsi1pk',
        '#gsi1sk': 'gsi1sk',
        '#pk': 'pk',
        '#sk': 'sk',
        '#version': 'version',
        '#expiresAt': 'expiresAt',
      },
      ExpressionAttributeValues: { ':exp': GSI1_PK.expiringKeys, ':before': pad(now + 1), ...(pk !== undefined && { ':pk': pk }) },
      Limit: limit - found.length,
    }));
    for await (const page of pages) {
      found.push(...((page.Items ?? []) as KvItem[]));
      if (found.length >= limit) break;
    }
    return found;
  }

  /** Deletes the item only if it is still the expired one the index showed, and gives its key back. */
  private async removeExpired(item: KvItem): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: item.pk, sk: item.sk },
          ConditionExpression: '#version = :version AND #expiresAt = :expiresAt',
          ExpressionAttributeNames: { '#version': 'version', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: { ':version': item.version, ':expiresAt': item.expiresAt },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    await this.usage.release(item.pk, 'kvKeys', 1);
    return true;
  }

  private keyOf(pk: string, key: string): { pk: string; sk: string } {
    return { pk, sk: KIND.kv + key };
  }

  private async read(pk: string, key: string): Promise<KvItem | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: this.keyOf(pk, key), ConsistentRead: true }));
    return result.Item as KvItem | undefined;
  }

  /** Writes a live item (optionally at one version) in place; undefined when it is absent, expired or elsewhere. */
  private async updateLive(pk: string, key: string, write: KvWrite, now: number, atVersion?: number): Promise<number | undefined> {
    const values: Record<string, unknown> = { ':value': write.valueJson, ':one': 1, ':now': now };
    let update = 'SET #value = :value, #version = #version + :one, #updatedAt = :now';
    if (write.expiresAt === null) {
      update += ' REMOVE #expiresAt, #ttl, #gsi1pk, #gsi1sk';
    } else {
      const expiry = expiryAttributes(pk, key, write.expiresAt);
      update += ', #expiresAt = :expiresAt, #ttl = :ttl, #gsi1pk = :gsi1pk, #gsi1sk = :gsi1sk';
      Object.assign(values, { ':expiresAt': expiry.expiresAt, ':ttl': expiry.ttl, ':gsi1pk': expiry.gsi1pk, ':gsi1sk': expiry.gsi1sk });
    }
    let condition = `attribute_exists(#pk) AND ${LIVE}`;
    if (atVersion !== undefined) {
      condition += ' AND #version = :atVersion';
      values[':atVersion'] = atVersion;
    }
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.keyOf(pk, key),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes?.version);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      rethrow(error);
    }
  }

  /** Puts version 1 of the entry (a whole new item) if `condition` holds; false when it does not. */
  private async putFirstVersion(pk: string, key: string, write: KvWrite, now: number, condition: string): Promise<boolean> {
    const item: KvItem & Record<string, unknown> = {
      ...this.keyOf(pk, key),
      value: write.valueJson,
      version: 1,
      updatedAt: now,
      ...(write.expiresAt !== null && expiryAttributes(pk, key, write.expiresAt)),
    };
    const usesNow = condition.includes(':now');
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeNames: usesNow ? { '#pk': 'pk', '#expiresAt': 'expiresAt' } : { '#pk': 'pk' },
          ...(usesNow && { ExpressionAttributeValues: { ':now': now } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      rethrow(error);
    }
  }
}
