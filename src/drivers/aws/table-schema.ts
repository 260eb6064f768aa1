import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { GSI1, TABLE_ATTRIBUTES as A } from './table-keys.js';

/** The table every AWS driver expects; DEPLOYMENT.md's template declares the same, with TTL on `ttl`. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: A.pk, AttributeType: 'S' },
      { AttributeName: A.sk, AttributeType: 'S' },
      { AttributeName: A.gsi1pk, AttributeType: 'S' },
      { AttributeName: A.gsi1sk, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: A.pk, KeyType: 'HASH' },
      { AttributeName: A.sk, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: GSI1,
        KeySchema: [
          { AttributeName: A.gsi1pk, KeyType: 'HASH' },
          { AttributeName: A.gsi1sk, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}
