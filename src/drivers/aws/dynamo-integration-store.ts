import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient, type PutCommandInput, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { MeshError, quotaExceeded } from '../../errors.js';
import type { IntegrationRecord, IntegrationStore } from '../../ports/integration-store.js';
import type { TenantSession } from '../../tenancy/session.js';
import { isConditionFailure, queryItems, queryPages } from './query-pages.js';
import { KIND, tenantPk } from './table-keys.js';
import { TenantUsage } from './tenant-usage.js';

/** pk "T#<tenant>", sk "INT#<name>"; the record as JSON text, so its shape never depends on marshalling options. */
interface IntegrationItem {
  pk: string;
  sk: string;
  record: string;
  createdAt: number;
  updatedAt: number;
}

type WriteCondition = Pick<PutCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>;

const MAX_ATTEMPTS = 8;
const NEW_ITEM: WriteCondition = { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } };
/** Still the item that was read: a concurrent delete makes the put fail, and the retry a create with its quota check. */
const unchangedSince = (createdAt: number): WriteCondition => ({
  ConditionExpression: '#createdAt = :createdAt',
  ExpressionAttributeNames: { '#createdAt': 'createdAt' },
  ExpressionAttributeValues: { ':createdAt': createdAt },
});

/**
 * The integration registry on the single DynamoDB table. The maxIntegrations quota is a per-tenant counter
 * (TenantUsage): a create reserves one first and gives it back if its item is not written, and a delete
 * gives one back, so creates racing at the limit admit exactly the quota. A tenant's counter starts from a
 * count of its items (tables written before the counter existed).
 */
export class DynamoIntegrationStore implements IntegrationStore {
  private readonly usage: TenantUsage;
  /** Tenants whose counter this process knows to exist. */
  private readonly counted = new Set<string>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {
    this.usage = new TenantUsage(client, table);
  }

  async put(session: TenantSession, record: IntegrationRecord): Promise<{ created: boolean }> {
    const pk = tenantPk(session);
    const max = session.limits.maxIntegrations;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const existing = await this.read(pk, record.name);
      if (existing) {
        const stored = { ...record, createdAt: existing.createdAt };
        if (await this.write(pk, stored, unchangedSince(existing.createdAt))) return { created: false };
      } else {
        await this.ensureCounted(pk);
        if (!(await this.usage.reserve(pk, 'integrations', 1, max))) {
          const count = await this.usage.read(pk, 'integrations');
          throw quotaExceeded('maxIntegrations', max, `tenant has ${count} integrations, the limit maxIntegrations is ${max}`);
        }
        if (await this.write(pk, record, NEW_ITEM)) return { created: true };
        // Created by someone else meanwhile: give the reservation back and replace it on the next attempt.
        await this.usage.release(pk, 'integrations', 1);
      }
    }
    throw new MeshError('unavailable', `integration "${record.name}" is being changed concurrently; retry`, {}, { retryable: true });
  }

  async get(session: TenantSession, name: string): Promise<IntegrationRecord | undefined> {
    const item = await this.read(tenantPk(session), name);
    return item ? (JSON.parse(item.record) as IntegrationRecord) : undefined;
  }

  async list(session: TenantSession): Promise<IntegrationRecord[]> {
    const items: IntegrationItem[] = [];
    for await (const item of queryItems<IntegrationItem>(this.client, this.partitionQuery(tenantPk(session)))) items.push(item);
    // Sort keys are in UTF-8 byte order, as the SQLite driver's ORDER BY name.
    return items.map((item) => JSON.parse(item.record) as IntegrationRecord);
  }

  async delete(session: TenantSession, name: string): Promise<boolean> {
    const pk = tenantPk(session);
    await this.ensureCounted(pk);
    const result = await this.client.send(new DeleteCommand({ TableName: this.table, Key: { pk, sk: KIND.integration + name }, ReturnValues: 'ALL_OLD' }));
    if (result.Attributes === undefined) return false;
    await this.usage.release(pk, 'integrations', 1);
    return true;
  }

  private async ensureCounted(pk: string): Promise<void> {
    if (this.counted.has(pk)) return;
    await this.usage.initialize(pk, 'integrations', await this.count(pk));
    this.counted.add(pk);
  }

  private partitionQuery(pk: string): QueryCommandInput {
    return {
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :kind)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': pk, ':kind': KIND.integration },
      ConsistentRead: true,
    };
  }

  private async count(pk: string): Promise<number> {
    let count = 0;
    for await (const page of queryPages(this.client, { ...this.partitionQuery(pk), Select: 'COUNT' })) count += page.Count ?? 0;
    return count;
  }

  private async read(pk: string, name: string): Promise<IntegrationItem | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: KIND.integration + name }, ConsistentRead: true }));
    return result.Item as IntegrationItem | undefined;
  }

  /** Puts the whole item if `condition` holds; false when it does not. */
  private async write(pk: string, record: IntegrationRecord, condition: WriteCondition): Promise<boolean> {
    const item: IntegrationItem = {
      pk,
      sk: KIND.integration + record.name,
      record: JSON.stringify(record),
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
    try {
      await this.client.send(new PutCommand({ TableName: this.table, Item: item, ...condition }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
