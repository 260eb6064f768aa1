import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
  async reserve(pk: string, field: UsageField, amount: number, max: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: KIND.usage },
          UpdateExpression: 'ADD #f :n',
          ConditionExpression: '(attribute_not_exists(#f) AND :n <= :max) OR #f <= :room',
          ExpressionAttributeNames: { '#f': field },
          ExpressionAttributeValues: { ':n': amount, ':max': max, ':room': max - amount },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
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
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: KIND.usage },
          UpdateExpression: 'SET #f = :v',
          ConditionExpression: 'attribute_not_exists(#f)',
          ExpressionAttributeNames: { '#f': field },
          ExpressionAttributeValues: { ':v': value },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async read(pk: string, field: UsageField): Promise<number> {
    const result = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: KIND.usage }, ConsistentRead: true }));
    return Number(result.Item?.[field] ?? 0);
  }
}
