import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';

/** A Query's input, or a function giving it afresh for each page (for a Limit that shrinks with what was found). */
export type QueryInput = QueryCommandInput | (() => QueryCommandInput);

/**
 * Every page of a Query, following LastEvaluatedKey; a caller that has enough breaks out. The next page
 * is read only when the caller asks for it, so a function `input` sees all that the previous page gave.
 */
export async function* queryPages(client: DynamoDBDocumentClient, input: QueryInput): AsyncGenerator<QueryCommandOutput> {
  const inputOfPage = typeof input === 'function' ? input : () => input;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new QueryCommand({ ...inputOfPage(), ...(startKey && { ExclusiveStartKey: startKey }) }));
    yield page;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** The items of every page of a Query, in order (see queryPages). */
export async function* queryItems<T = Record<string, unknown>>(client: DynamoDBDocumentClient, input: QueryInput): AsyncGenerator<T> {
  for await (const page of queryPages(client, input)) yield* (page.Items ?? []) as T[];
}

export const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
