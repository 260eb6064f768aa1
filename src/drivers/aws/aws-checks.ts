import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeEventBusCommand } from '@aws-sdk/client-eventbridge';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { dependencyProblem } from '../../errors.js';
import type { BackendCheck } from '../../ports/backend.js';
import type { AwsClients } from './aws-clients.js';
import type { StepFunctionsEngine } from './sfn-workflow-engine.js';
import { GSI1, TABLE_ATTRIBUTES } from './table-keys.js';

export interface AwsNames {
  region: string;
  kvTable: string;
  artifactsBucket: string;
  eventBus: string;
}

/** What `agent-mesh doctor` checks on AWS: each resource exists, has the expected shape, and can be used. */
export async function checkAwsResources(clients: AwsClients, names: AwsNames, stepFunctions?: StepFunctionsEngine): Promise<BackendCheck[]> {
  const results = await Promise.all([
    checkTable(clients, names.kvTable),
    checkBucket(clients, names.artifactsBucket),
    checkBus(clients, names.eventBus),
    checkSns(clients),
    checkStepFunctions(stepFunctions),
  ]);
  return results.flat();
}

async function checkStepFunctions(engine: StepFunctionsEngine | undefined): Promise<BackendCheck[]> {
  if (!engine) {
    return [{ subject: 'workflows', status: 'warn', detail: "run on agent-mesh's own runner over the table; set AGENT_MESH_SFN_ROLE_ARN to run them on Step Functions" }];
  }
  const subject = `step functions activity ${engine.workflows.activityArn}`;
  try {
    await engine.ensureActivity();
    return [{ subject, status: 'ok', detail: 'ready: workflows run on Step Functions, their tasks on this activity' }];
  } catch (error) {
    return [failure(subject, error, 'states:CreateActivity')];
  }
}

async function checkTable({ dynamo }: AwsClients, table: string): Promise<BackendCheck[]> {
  const subject = `dynamodb table ${table}`;
  let description;
  try {
    description = (await dynamo.send(new DescribeTableCommand({ TableName: table }))).Table;
  } catch (error) {
    return [failure(subject, error, 'dynamodb:DescribeTable', 'create it with the template in DEPLOYMENT.md')];
  }
  const keys = (description?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  const checks: BackendCheck[] = [];
  if (keys !== `${TABLE_ATTRIBUTES.pk}:HASH,${TABLE_ATTRIBUTES.sk}:RANGE`) {
    checks.push({ subject, status: 'fail', detail: `key schema is ${keys || 'unknown'}, expected pk (HASH) and sk (RANGE) strings` });
  } else if (!(description?.GlobalSecondaryIndexes ?? []).some((index) => index.IndexName === GSI1)) {
    checks.push({ subject, status: 'fail', detail: `index ${GSI1} (gsi1pk, gsi1sk) is missing: deliveries, workflow runs and key expiry need it` });
  } else {
    checks.push({ subject, status: 'ok', detail: `${description?.TableStatus ?? 'unknown status'}, keys pk/sk, index ${GSI1}` });
  }
  try {
    const ttl = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: table }));
    const spec = ttl.TimeToLiveDescription;
    const on = spec?.TimeToLiveStatus === 'ENABLED' && spec.AttributeName === TABLE_ATTRIBUTES.ttl;
    checks.push({
      subject: `${subject} TTL`,
      status: on ? 'ok' : 'warn',
      detail: on ? `enabled on "${TABLE_ATTRIBUTES.ttl}"` : `not enabled on "${TABLE_ATTRIBUTES.ttl}": expired events and audit entries are hidden but never deleted`,
    });
  } catch (error) {
    checks.push({ ...failure(`${subject} TTL`, error, 'dynamodb:DescribeTimeToLive'), status: 'warn' });
  }
  const probe = { pk: 'SYS#DOCTOR', sk: randomUUID() };
  try {
    await dynamo.send(new PutCommand({ TableName: table, Item: { ...probe, ttl: Math.ceil(Date.now() / 1000) + 60 } }));
    await dynamo.send(new DeleteCommand({ TableName: table, Key: probe }));
    checks.push({ subject: `${subject} write`, status: 'ok', detail: 'put and delete allowed' });
  } catch (error) {
    checks.push(failure(`${subject} write`, error, 'dynamodb:PutItem/DeleteItem'));
  }
  return checks;
}

async function checkBucket({ s3 }: AwsClients, bucket: string): Promise<BackendCheck[]> {
  const subject = `s3 bucket ${bucket}`;
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    return [failure(subject, error, 's3:ListBucket', 'create it with the template in DEPLOYMENT.md')];
  }
  // The underscore keeps the probe out of every tenant's prefix (tenant ids start with a letter or digit).
  const key = `tenants/_doctor/${randomUUID()}`;
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'agent-mesh doctor', ContentType: 'text/plain' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return [{ subject, status: 'ok', detail: 'exists; put and delete under tenants/ allowed' }];
  } catch (error) {
    return [failure(`${subject} write`, error, 's3:PutObject/DeleteObject on tenants/*')];
  }
}

async function checkBus({ eventBridge }: AwsClients, bus: string): Promise<BackendCheck[]> {
  const subject = `eventbridge bus ${bus}`;
  try {
    const found = await eventBridge.send(new DescribeEventBusCommand({ Name: bus }));
    return [{ subject, status: 'ok', detail: `exists (${found.Arn ?? 'no ARN returned'})` }];
  } catch (error) {
    return [failure(subject, error, 'events:DescribeEventBus', 'create it with the template in DEPLOYMENT.md')];
  }
}

async function checkSns({ sns }: AwsClients): Promise<BackendCheck[]> {
  try {
    await sns.send(new ListTopicsCommand({}));
    return [{ subject: 'sns', status: 'ok', detail: 'reachable (alerts with an sns channel can be sent)' }];
  } catch (error) {
    return [{ ...failure('sns', error, 'sns:ListTopics'), status: 'warn' }];
  }
}

/** One line naming what is missing or denied, from an SDK error. */
function failure(subject: string, error: unknown, action: string, fix?: string): BackendCheck {
  const name = (error as { name?: string }).name ?? 'Error';
  const message = ((error as Error).message ?? String(error)).split('\n')[0]!.slice(0, 200);
  if (/NotFound|NoSuchBucket|NoSuchEntity/i.test(name) || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
    return { subject, status: 'fail', detail: `missing (${name})${fix ? `: ${fix}` : ''}` };
  }
  switch (dependencyProblem(error)) {
    case 'denied':
      return { subject, status: 'fail', detail: `denied (${name}): the IAM policy must allow ${action}` };
    case 'credentials':
      return { subject, status: 'fail', detail: `no usable AWS credentials (${name}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY` };
    case 'unreachable':
      return { subject, status: 'fail', detail: `unreachable (${message}): check AWS_REGION and any AWS_ENDPOINT_URL* variables` };
    default:
      return { subject, status: 'fail', detail: `${name}: ${message}` };
  }
}
