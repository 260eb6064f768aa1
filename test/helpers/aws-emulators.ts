import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { tableDefinition } from '../../src/drivers/aws/table-schema.js';

/** Credentials the emulators accept; nothing here ever reaches AWS. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
export const EMULATOR_REGION = 'us-west-2';

export interface Emulator {
  endpoint: string;
  close(): Promise<void>;
}

/** dynalite: a real DynamoDB API (in memory) on 127.0.0.1. It has no TTL expiry and no transactions. */
export async function startDynalite(): Promise<Emulator> {
  const { default: dynalite } = await import('dynalite');
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function dynamoClient(endpoint: string): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ endpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

let tableCounter = 0;
/** A fresh table with the production schema; each test gets its own so tests never share state. */
export async function createTestTable(client: DynamoDBDocumentClient, name = `agent-mesh-test-${process.pid}-${++tableCounter}`): Promise<string> {
  await client.send(new CreateTableCommand(tableDefinition(name)));
  // dynalite answers ResourceNotFound until the table is ACTIVE, a moment after CreateTable returns.
  for (let tries = 0; tries < 200; tries++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return name;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${name} did not become ACTIVE`);
}

export interface DynaliteSuite {
  readonly endpoint: string;
  /** A client shared by the test file. */
  readonly client: DynamoDBDocumentClient;
  /** A fresh, ACTIVE table with the production schema. */
  table(): Promise<string>;
  dropTable(name: string): Promise<void>;
}

/** dynalite for one test file: started before its tests and stopped after them. */
export function useDynalite(): DynaliteSuite {
  let dynalite: Emulator | undefined;
  let client: DynamoDBDocumentClient | undefined;
  beforeAll(async () => {
    dynalite = await startDynalite();
    client = dynamoClient(dynalite.endpoint);
  });
  afterAll(async () => {
    client?.destroy();
    await dynalite?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('dynalite is not started yet (use it inside tests or hooks)');
    return value;
  };
  return {
    get endpoint() {
      return started(dynalite).endpoint;
    },
    get client() {
      return started(client);
    },
    table: () => createTestTable(started(client)),
    dropTable: async (name) => void (await started(client).send(new DeleteTableCommand({ TableName: name }))),
  };
}

/**
 * fauxqs@1.9.2: S3, SNS and SQS. Its own start function binds 0.0.0.0, so we build its app and listen on
 * loopback ourselves.
 */
export async function startFauxqs(): Promise<Emulator> {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { endpoint: address.replace('localhost', '127.0.0.1'), close: () => app.close() };
}

export function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: EMULATOR_REGION,
    credentials: EMULATOR_CREDENTIALS,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

let bucketCounter = 0;
export async function createTestBucket(client: S3Client): Promise<string> {
  const name = `agent-mesh-test-${process.pid}-${++bucketCounter}`;
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

export function snsClient(endpoint: string): SNSClient {
  return new SNSClient({ endpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Debian's redis-server on a free loopback port, no persistence; `.ci/run` installs it. */
export async function startRedis(): Promise<Emulator & { url: string }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    };
    child.stdout?.on('data', onData);
    child.once('error', (error) => reject(new Error(`redis-server did not start (is it installed? .ci/run installs it): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)));
  });
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    endpoint: url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
