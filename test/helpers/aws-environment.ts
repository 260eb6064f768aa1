import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  EMULATOR_CREDENTIALS,
  EMULATOR_REGION,
  createTestBucket,
  createTestTable,
  dynamoClient,
  s3Client,
  startDynalite,
  startFauxqs,
  type Emulator,
} from './aws-emulators.js';
import { startFakeEventBridge, type FakeEventBridge } from './fake-eventbridge.js';
import { startFakeStepFunctions, type FakeStepFunctions } from './fake-stepfunctions.js';

export interface AwsEnvironment {
  /** The environment a server process needs to run on these emulators with AGENT_MESH_BACKEND=aws. */
  env: Record<string, string>;
  dynamo: DynamoDBDocumentClient;
  s3: S3Client;
  table: string;
  bucket: string;
  bus: string;
  eventBridge: FakeEventBridge;
  /** With `stepFunctions: true`: the FAKE Step Functions, and the env runs workflows on it. */
  stepFunctions?: FakeStepFunctions;
  close(): Promise<void>;
}

/**
 * DynamoDB (dynalite) and S3 + SNS (fauxqs), both real APIs on 127.0.0.1, plus the loopback FAKE
 * EventBridge: everything `AGENT_MESH_BACKEND=aws` talks to, with a fresh table, bucket and bus.
 */
export async function startAwsEnvironment(options: { stepFunctions?: boolean } = {}): Promise<AwsEnvironment> {
  const started: Emulator[] = [];
  try {
    const dynalite = await startDynalite();
    started.push(dynalite);
    const fauxqs = await startFauxqs();
    started.push(fauxqs);
    const eventBridge = await startFakeEventBridge();
    started.push(eventBridge);
    const stepFunctions = options.stepFunctions ? await startFakeStepFunctions({ pollWaitMs: 1000 }) : undefined;
    if (stepFunctions) started.push(stepFunctions);
    const dynamo = dynamoClient(dynalite.endpoint);
    const s3 = s3Client(fauxqs.endpoint);
    const table = await createTestTable(dynamo);
    const bucket = await createTestBucket(s3);
    const bus = `agent-mesh-test-${process.pid}`;
    eventBridge.createEventBus(bus);
    return {
      env: {
        AGENT_MESH_BACKEND: 'aws',
        AWS_REGION: EMULATOR_REGION,
        AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
        // Nothing from the developer's own AWS set-up may leak in.
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
        AWS_ENDPOINT_URL_S3: fauxqs.endpoint,
        AWS_ENDPOINT_URL_SNS: fauxqs.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
        AGENT_MESH_KV_TABLE: table,
        AGENT_MESH_ARTIFACTS_BUCKET: bucket,
        AGENT_MESH_EVENT_BUS: bus,
        ...(stepFunctions && {
          AWS_ENDPOINT_URL_SFN: stepFunctions.endpoint,
          AGENT_MESH_SFN_ROLE_ARN: `arn:aws:iam::${stepFunctions.account}:role/agent-mesh-states`,
        }),
      },
      dynamo,
      s3,
      table,
      bucket,
      bus,
      eventBridge,
      ...(stepFunctions && { stepFunctions }),
      close: async () => {
        dynamo.destroy();
        s3.destroy();
        await Promise.allSettled(started.map((emulator) => emulator.close()));
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((emulator) => emulator.close()));
    throw error;
  }
}
