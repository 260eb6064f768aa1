import { GetCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './query-pages.js';
import { KIND } from './table-keys.js';

export type UsageField = 'kvKeys' | 'artifactBytes' | 'integrations';

/**
 * Per-tenant counters on one item (pk, "USAGE"), for quotas DynamoDB cannot count cheaply. DynamoDB
 * Local emulators lack transactions, so a driver reserves first (conditional ADD), then writes, and
 * gives the reservation back when the write does not happen: a counter may only drift up by a crash
 * between the two, never let a tenant past its quota.
 */
export class TenantUsage {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Adds `amount` unless the total would pass `max`; returns false (and changes nothing) if it would. */
  reserve(pk: string, field: UsageField, amount: number, max: number): Promise<boolean> {
    return this.updateIf({
      Key: { pk, sk: KIND.usage },
      UpdateExpression: 'ADD #f :n',
      ConditionExpression: '(attribute_not_exists(#f) AND :n <= :max) OR #f <= :room',
      ExpressionAttributeNames: { '#f': field },
      ExpressionAttributeValues: { ':n': amount, ':max': max, ':room': max - amount },
    });
  }

  async release(pk: string, field: UsageField, amount: number): Promise<void> {
    if (amount === 0) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk, sk: KIND.usage },
        UpdateExpression: 'ADD #f :n',
        ExpressionAttributeNames: { '#f': field },
        ExpressionAttributeValues: { ':n': -amount },
      }),
    );
  }

  /** Sets the counter to `value` unless it already exists (a counter added to a table that has data). */
  async initialize(pk: string, field: UsageField, value: number): Promise<void> {
    await this.updateIf({
      Key: { pk, sk: KIND.usage },
      UpdateExpression: 'SET #f = :v',
      ConditionExpression: 'attribute_not_exists(#f)',
      ExpressionAttributeNames: { '#f': field },
      ExpressionAttributeValues: { ':v': value },
    });
  }

  async read(pk: string, field: UsageField): Promise<number> {
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: KIND.usage }, ConsistentRead: true }));
    return Number(result.Item?.[field] ?? 0);
  }

  /** Runs a conditional update; false when its condition does not hold. */
  private async updateIf(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({ TableName: this.table, ...input }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
