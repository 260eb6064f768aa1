import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SFNClient } from '@aws-sdk/client-sfn';

export interface AwsClientSettings {
  region: string;
  s3ForcePathStyle: boolean;
}

export interface AwsClients {
  dynamo: DynamoDBDocumentClient;
  s3: S3Client;
  eventBridge: EventBridgeClient;
  sns: SNSClient;
  /** SNS in another region, for alerts that name a topic there (made on first use, then kept). */
  snsIn(region: string): SNSClient;
  sfn: SFNClient;
  destroy(): void;
}

/**
 * SDK clients for the AWS backend. Credentials and endpoints come from the SDK's own chain
 * (AWS_PROFILE, AWS_ACCESS_KEY_ID, instance roles; AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, …), so
 * DynamoDB- and S3-compatible services work by setting those variables.
 */
export function createAwsClients(settings: AwsClientSettings): AwsClients {
  const base = { region: settings.region, maxAttempts: 4 };
  const dynamoBase = new DynamoDBClient(base);
  const dynamo = DynamoDBDocumentClient.from(dynamoBase, { marshallOptions: { removeUndefinedValues: true } });
  const s3 = new S3Client({
    ...base,
    forcePathStyle: settings.s3ForcePathStyle,
    // S3-compatible services often reject the SDK's default streaming checksums; we send SHA-256 ourselves.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const eventBridge = new EventBridgeClient(base);
  const sns = new SNSClient(base);
  const snsByRegion = new Map<string, SNSClient>([[settings.region, sns]]);
  const snsIn = (region: string): SNSClient => {
    let client = snsByRegion.get(region);
    if (!client) snsByRegion.set(region, (client = new SNSClient({ ...base, region })));
    return client;
  };
  // Activity polls are long (up to 60 s): the request timeout must outlast them.
  const sfn = new SFNClient({ ...base, requestHandler: { requestTimeout: 70_000 } });
  return {
    dynamo,
    s3,
    eventBridge,
    sns,
    snsIn,
    sfn,
    destroy() {
      dynamoBase.destroy();
      s3.destroy();
      eventBridge.destroy();
      for (const client of snsByRegion.values()) client.destroy();
      sfn.destroy();
    },
  };
}
