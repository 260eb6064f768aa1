import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conflict } from '../../errors.js';
import type { ApiKeyRecord, ApiKeyStore, TenantRecord } from '../../ports/api-key-store.js';
import { isConditionFailure, queryItems } from './query-pages.js';
import { SYSTEM_PK } from './table-keys.js';

/** pk SYS#TENANTS, sk tenant id. */
interface TenantItem {
  pk: string;
  sk: string;
  createdAt: number;
}

/** pk SYS#KEYS, sk key id; `revokedAt` is absent until the key is revoked. */
interface KeyItem {
  pk: string;
  sk: string;
  tenantId: string;
  userId: string;
  permissions: string[];
  secretHash: string;
  createdAt: number;
  revokedAt?: number;
}

const toKey = (item: KeyItem): ApiKeyRecord => ({
  id: item.sk,
  tenantId: item.tenantId,
  userId: item.userId,
  permissions: [...item.permissions],
  secretHash: item.secretHash,
  createdAt: item.createdAt,
  revokedAt: item.revokedAt ?? null,
});

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Tenants and API keys (hashed) in two system partitions of the single table. Both are small and read
 * whole by the admin CLI; authentication reads one key by id.
 */
export class DynamoApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async createTenant(id: string, now: number): Promise<{ created: boolean }> {
    const item: TenantItem = { pk: SYSTEM_PK.tenants, sk: id, createdAt: now };
    return { created: await this.putNew(item) };
  }

  async listTenants(): Promise<TenantRecord[]> {
    const items = await this.partition<TenantItem>(SYSTEM_PK.tenants);
    return items.map((item) => ({ id: item.sk, createdAt: item.createdAt }));
  }

  async tenantExists(id: string): Promise<boolean> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: SYSTEM_PK.tenants, sk: id },
        ProjectionExpression: '#pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ConsistentRead: true,
      }),
    );
    return result.Item !== undefined;
  }

  async createKey(key: ApiKeyRecord): Promise<void> {
    const item: KeyItem = {
      pk: SYSTEM_PK.apiKeys,
      sk: key.id,
      tenantId: key.tenantId,
      userId: key.userId,
      permissions: [...key.permissions],
      secretHash: key.secretHash,
      createdAt: key.createdAt,
      ...(key.revokedAt !== null && { revokedAt: key.revokedAt }),
    };
    if (!(await this.putNew(item))) throw conflict(`API key "${key.id}" already exists`);
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk: SYSTEM_PK.apiKeys, sk: id }, ConsistentRead: true }));
    return result.Item ? toKey(result.Item as KeyItem) : undefined;
  }

  /** Ordered like the SQLite driver: by tenant, then creation time (then id, to be stable). */
  async listKeys(tenantId?: string): Promise<ApiKeyRecord[]> {
    const items = await this.partition<KeyItem>(SYSTEM_PK.apiKeys, tenantId);
    return items
      .map(toKey)
      .sort((a, b) => byCodeUnits(a.tenantId, b.tenantId) || a.createdAt - b.createdAt || byCodeUnits(a.id, b.id));
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: SYSTEM_PK.apiKeys, sk: id },
          UpdateExpression: 'SET #revokedAt = :now',
          ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#revokedAt)',
          ExpressionAttributeNames: { '#pk': 'pk', '#revokedAt': 'revokedAt' },
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Puts the item unless one with its key exists; false when it does. */
  private async putNew(item: TenantItem | KeyItem): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Every item of a system partition (in sort-key order), of one tenant when `tenantId` is given. */
  private async partition<T>(pk: string, tenantId?: string): Promise<T[]> {
    const items: T[] = [];
    const query = queryItems<T>(this.client, {
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk',
      ...(tenantId !== undefined && { FilterExpression: '#tenantId = :tenantId' }),
      ExpressionAttributeNames: { '#pk': 'pk', ...(tenantId !== undefined && { '#tenantId': 'tenantId' }) },
      ExpressionAttributeValues: { ':pk': pk, ...(tenantId !== undefined && { ':tenantId': tenantId }) },
      ConsistentRead: true,
    });
    for await (const item of query) items.push(item);
    return items;
  }
}
