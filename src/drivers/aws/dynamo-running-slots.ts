import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { quotaExceeded } from '../../errors.js';
import { namesIn, RUNNING_COUNTER_SK } from './dynamo-workflow-items.js';
import { isConditionFailure } from './query-pages.js';

/**
 * The counter of a tenant's RUNNING executions (the maxConcurrentExecutions quota), one item per tenant:
 * a slot is taken by a conditional ADD before an execution starts and given back when it ends.
 */
export class DynamoRunningSlots {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Takes one of the tenant's `max` running slots, or throws quota_exceeded. */
  async reserve(pk: string, max: number): Promise<void> {
    if (max >= 1) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk, sk: RUNNING_COUNTER_SK },
            UpdateExpression: 'ADD #running :one',
            ConditionExpression: 'attribute_not_exists(#running) OR #running < :max',
            ExpressionAttributeNames: namesIn('#running'),
            ExpressionAttributeValues: { ':one': 1, ':max': max },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    const counter = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk, sk: RUNNING_COUNTER_SK }, ConsistentRead: true }));
    const running = Number(counter.Item?.running ?? 0);
    throw quotaExceeded('maxConcurrentExecutions', max, `tenant has ${running} running executions, the limit maxConcurrentExecutions is ${max}`);
  }

  async release(pk: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk, sk: RUNNING_COUNTER_SK },
        UpdateExpression: 'ADD #running :minusOne',
        ExpressionAttributeNames: namesIn('#running'),
        ExpressionAttributeValues: { ':minusOne': -1 },
      }),
    );
  }
}
