import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand, BatchWriteCommand, type BatchWriteCommandInput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MeshError } from '../../errors.js';
import { keys, type ExecutionItem } from './dynamo-workflow-items.js';

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

const MAX_BATCH_ROUNDS = 8;

async function backOff(attempt: number): Promise<void> {
  if (attempt >= MAX_BATCH_ROUNDS) throw new MeshError('unavailable', 'DynamoDB is throttling the table; retry shortly', {}, { retryable: true });
  await sleep(Math.min(1_000, 25 * 2 ** attempt));
}

/** Execution items in the order of `ids`, skipping any that do not exist. */
export async function readExecutions(client: DynamoDBDocumentClient, table: string, pk: string, ids: string[]): Promise<ExecutionItem[]> {
  const byId = new Map<string, ExecutionItem>();
  let pending = ids.map((id) => ({ pk, sk: keys.execution(id) }));
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 0) await backOff(attempt);
    const result = await client.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
    for (const item of (result.Responses?.[table] ?? []) as ExecutionItem[]) byId.set(item.id, item);
    pending = (result.UnprocessedKeys?.[table]?.Keys ?? []) as typeof pending;
  }
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/** Unconditional puts, 25 a request; fine for items whose keys no other writer can hold (see checkpoint). */
export async function putAll(client: DynamoDBDocumentClient, table: string, items: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let pending: WriteRequests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await backOff(attempt);
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = result.UnprocessedItems?.[table] ?? [];
    }
  }
}
