/**
 * AGENT_MESH_BACKEND=aws end to end: the built server as child processes on DynamoDB (dynalite) and S3/SNS
 * (fauxqs) on 127.0.0.1, the loopback FAKE EventBridge, and Debian's redis-server for shared limits.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEnvironment, type AwsEnvironment } from '../helpers/aws-environment.js';
import { randomBytes } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, freePort, startRedis } from '../helpers/aws-emulators.js';
import { adminAsync, httpClient, runCli, startHttpServerProcess, type HttpServerProcess } from '../helpers/http-server-process.js';
import { lazyTempDir, startServer, structured, writeConfig } from '../helpers/server-process.js';

type Structured = Record<string, unknown> & { error?: { code: string } };
const call = async (client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult & { structuredContent: Structured }> =>
  (await client.callTool({ name, arguments: args })) as CallToolResult & { structuredContent: Structured };

describe('two agent-mesh serve processes on one DynamoDB table and one Redis', () => {
  let aws: AwsEnvironment;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const data = lazyTempDir('agent-mesh-aws-serve');
  const servers: HttpServerProcess[] = [];
  const clients: Client[] = [];
  const CAPACITY = 12;
  let limitedToken = '';

  beforeAll(async () => {
    [aws, redis] = await Promise.all([startAwsEnvironment(), startRedis()]);
    const config = writeConfig(data.dir, {
      tenants: { limited: { rateLimits: { s3: { capacity: CAPACITY, refillPerSecond: 0.001 } } } },
    });
    const env = { ...aws.env, AGENT_MESH_REDIS_URL: redis.url, AGENT_MESH_CONFIG: config, AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_SECRET_KEY: 'a'.repeat(64) };
    await adminAsync(env, 'tenants', 'create', 'acme');
    const token = await adminAsync(env, 'keys', 'create', '--tenant', 'acme', '--user', 'ops');
    await adminAsync(env, 'tenants', 'create', 'limited');
    limitedToken = await adminAsync(env, 'keys', 'create', '--tenant', 'limited', '--user', 'ops');
    servers.push(...(await Promise.all([startHttpServerProcess(env), startHttpServerProcess(env)])));
    clients.push(...(await Promise.all(servers.map((server) => httpClient(server.url, token)))));
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled(servers.map((server) => server.stop()));
    await Promise.allSettled([aws?.close(), redis?.close()]);
    data.cleanup();
  });

  it("each instance reads the other's KV, artifact, event and workflow writes at once", async () => {
    const [a, b] = clients as [Client, Client];
    expect((await call(a, 'kv_set', { key: 'shared/config', value: { mode: 'blue' } })).structuredContent.version).toBe(1);
    expect((await call(b, 'kv_get', { key: 'shared/config' })).structuredContent).toMatchObject({ value: { mode: 'blue' }, version: 1 });
    expect((await call(b, 'kv_set', { key: 'shared/config', value: { mode: 'green' }, if_version: 1 })).structuredContent.version).toBe(2);
    expect((await call(a, 'kv_set', { key: 'shared/config', value: 'stale', if_version: 1 })).structuredContent.error?.code).toBe('conflict');

    await call(a, 'artifacts_put', { key: 'reports/q3.md', content: '# Q3\n', content_type: 'text/markdown' });
    expect((await call(b, 'artifacts_get', { key: 'reports/q3.md' })).structuredContent).toMatchObject({ content: '# Q3\n', version: 1 });

    const sent = await call(b, 'events_send', { source: 'billing', detail_type: 'InvoicePaid', detail: { amount: 42 } });
    const found = await call(a, 'events_query', { source: 'billing' });
    expect((found.structuredContent.events as { id: string }[]).map((e) => e.id)).toEqual([sent.structuredContent.event_id]);

    await call(a, 'workflow_create', { name: 'double', definition: { StartAt: 'Go', States: { Go: { Type: 'Pass', Parameters: { 'n.$': 'States.MathAdd($.n, $.n)' }, End: true } } } });
    const run = await call(b, 'workflow_start', { name: 'double', input: { n: 21 }, wait_seconds: 20 });
    expect(run.structuredContent).toMatchObject({ status: 'SUCCEEDED', output: { n: 42 } });
    expect((await call(a, 'workflow_status', { execution_id: run.structuredContent.execution_id })).structuredContent.status).toBe('SUCCEEDED');
  });

  it('share one rate limit through Redis: of N parallel calls over both instances exactly capacity are admitted', async () => {
    const limited = await Promise.all(servers.map((server) => httpClient(server.url, limitedToken)));
    clients.push(...limited);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => call(limited[i % 2]!, 'artifacts_list', {})));
    const admitted = results.filter((r) => !r.isError).length;
    const limitedCalls = results.filter((r) => r.structuredContent.error?.code === 'rate_limited').length;
    // Per-process buckets would admit up to 2 × CAPACITY (each instance gets 20 calls).
    expect(admitted).toBe(CAPACITY);
    expect(limitedCalls).toBe(40 - CAPACITY);
  });
});

describe('stdio on AWS: events reach EventBridge, rules are mirrored with the tenant joined in', () => {
  let aws: AwsEnvironment;
  const data = lazyTempDir('agent-mesh-aws-stdio');
  beforeAll(async () => {
    aws = await startAwsEnvironment();
  });
  afterAll(async () => {
    await aws?.close();
    data.cleanup();
  });

  it('publishes every sent event with the tenant context and mirrors rule create and delete', async () => {
    const server = await startServer({ ...aws.env, AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_TENANT_ID: 'acme', AGENT_MESH_USER_ID: 'ana' });
    try {
      await server.call('workflow_create', { name: 'noop', definition: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } });
      const rule = await server.call('events_create_rule', {
        name: 'paid',
        event_pattern: { source: ['billing'], detail: { amount: [{ numeric: ['>', 0] }] } },
        targets: [{ workflow: 'noop' }],
      });
      expect(rule.isError).toBeFalsy();
      const mirrored = [...aws.eventBridge.rules.values()];
      expect(mirrored).toHaveLength(1);
      expect(mirrored[0]!.Name).toMatch(/^agent-mesh-acme-paid$/);
      expect(JSON.parse(mirrored[0]!.EventPattern)).toEqual({
        source: ['billing'],
        detail: { amount: [{ numeric: ['>', 0] }], tenant_context: { tenant_id: ['acme'] } },
      });

      const sent = await server.call('events_send', { source: 'billing', detail_type: 'InvoicePaid', detail: { amount: 1, tenant_context: { tenant_id: 'forged' } } });
      const published = aws.eventBridge.events.find((e) => e.envelope.detail && (e.envelope as { detail: { amount?: number } }).detail.amount === 1);
      expect(published?.envelope.source).toBe('billing');
      expect(published?.envelope.detail.tenant_context).toMatchObject({ tenant_id: 'acme', user_id: 'ana' });
      expect(published?.matchedRules).toEqual(['agent-mesh-acme-paid']);
      expect((sent.structuredContent as { matched_rules: string[] }).matched_rules).toEqual(['paid']);

      expect((await server.call('events_delete_rule', { name: 'paid' })).isError).toBeFalsy();
      expect(aws.eventBridge.rules.size).toBe(0);
    } finally {
      await server.close();
    }
  });
});

describe("workflows on agent-mesh's runner over DynamoDB (no Step Functions role)", () => {
  let aws: AwsEnvironment;
  const data = lazyTempDir('agent-mesh-aws-runner');
  beforeAll(async () => {
    aws = await startAwsEnvironment();
  });
  afterAll(async () => {
    await aws?.close();
    data.cleanup();
  });

  it('fails an execution whose state outgrows a DynamoDB item, rather than retrying it forever', async () => {
    const server = await startServer({ ...aws.env, AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_TENANT_ID: 'acme' });
    try {
      // Each Map iteration turns a 60 KB item that gzip cannot shrink into 240 KB: by the second, the
      // execution's state is past 400 KB even compressed.
      const item = () => randomBytes(45_000).toString('base64');
      const definition = {
        StartAt: 'Each',
        States: {
          Each: {
            Type: 'Map',
            ItemsPath: '$.items',
            MaxConcurrency: 1,
            Iterator: { StartAt: 'Grow', States: { Grow: { Type: 'Pass', Parameters: { 'a.$': '$', 'b.$': '$', 'c.$': '$', 'd.$': '$' }, End: true } } },
            End: true,
          },
        },
      };
      expect((await server.call('workflow_create', { name: 'grow', definition })).isError).toBeFalsy();
      const run = await server.call('workflow_start', { name: 'grow', input: { items: [item(), item()] }, wait_seconds: 20 });
      expect(run.structuredContent).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
      expect(String((run.structuredContent as { cause: string }).cause)).toMatch(/could not be stored: .*too large for one DynamoDB item/);
    } finally {
      await server.close();
    }
  });
});

describe('sns alerts on AWS: a topic per alert with its subscriptions', () => {
  let aws: AwsEnvironment;
  const data = lazyTempDir('agent-mesh-aws-sns');
  beforeAll(async () => {
    aws = await startAwsEnvironment();
  });
  afterAll(async () => {
    await aws?.close();
    data.cleanup();
  });

  it('creates the topic, subscribes an SQS queue, delivers matching events to it, and deletes the topic with the alert', async () => {
    const sqs = new SQSClient({ endpoint: aws.env.AWS_ENDPOINT_URL_SNS, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS });
    const sns = new SNSClient({ endpoint: aws.env.AWS_ENDPOINT_URL_SNS, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'ops-alerts' }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const server = await startServer({ ...aws.env, AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_TENANT_ID: 'acme' });
    try {
      const created = await server.call('events_create_alert', {
        name: 'outage',
        event_pattern: { 'detail-type': ['Outage'] },
        channel: { type: 'sns', subscriptions: [{ protocol: 'sqs', endpoint: Attributes!.QueueArn! }] },
      });
      expect(created.isError).toBeFalsy();
      const topicArn = (created.structuredContent as { channel: { topic_arn: string } }).channel.topic_arn;
      expect(topicArn).toMatch(/:agent-mesh-acme-outage$/);

      await server.call('events_send', { source: 'monitor', detail_type: 'Outage', detail: { service: 'api' } });
      let body: { alert?: string; event?: { detail: { service: string } } } = {};
      for (let i = 0; i < 50 && !body.alert; i++) {
        const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }));
        const raw = Messages?.[0]?.Body;
        if (raw) body = JSON.parse((JSON.parse(raw) as { Message: string }).Message) as typeof body;
      }
      expect(body.alert).toBe('outage');
      expect(body.event?.detail.service).toBe('api');

      expect((await server.call('events_delete_alert', { name: 'outage' })).isError).toBeFalsy();
      const topics = (await sns.send(new ListTopicsCommand({}))).Topics ?? [];
      expect(topics.map((t) => t.TopicArn)).not.toContain(topicArn);
    } finally {
      await server.close();
      sqs.destroy();
      sns.destroy();
    }
  });

  it('leaves no topic behind when the alert itself is refused (maxAlerts)', async () => {
    const config = writeConfig(data.dir, { tenants: { small: { limits: { maxAlerts: 1 } } } }, 'small.json');
    const server = await startServer({ ...aws.env, AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_TENANT_ID: 'small', AGENT_MESH_CONFIG: config });
    const sns = new SNSClient({ endpoint: aws.env.AWS_ENDPOINT_URL_SNS, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS });
    try {
      const first = await server.call('events_create_alert', { name: 'a', event_pattern: { source: ['x'] }, channel: { type: 'sns', topic_arn: 'arn:aws:sns:us-west-2:000000000000:plain' } });
      expect(first.isError).toBeFalsy();
      const refused = await server.call('events_create_alert', {
        name: 'b',
        event_pattern: { source: ['x'] },
        channel: { type: 'sns', subscriptions: [{ protocol: 'email', endpoint: 'ops@example.com' }] },
      });
      expect((refused.structuredContent as { error: { code: string } }).error.code).toBe('quota_exceeded');
      const topics = ((await sns.send(new ListTopicsCommand({}))).Topics ?? []).map((t) => t.TopicArn ?? '');
      expect(topics.filter((arn) => arn.includes('agent-mesh-small-'))).toEqual([]);
    } finally {
      await server.close();
      sns.destroy();
    }
  });

  it('refuses a channel with both or neither of topic_arn and subscriptions, and bad endpoints, naming the field', async () => {
    const server = await startServer({ ...aws.env, AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_TENANT_ID: 'acme' });
    try {
      const both = await server.call('events_create_alert', { name: 'x', event_pattern: { source: ['a'] }, channel: { type: 'sns', topic_arn: 'arn:aws:sns:us-west-2:000000000000:t', subscriptions: [] } });
      expect((both.structuredContent as { error: { field: string } }).error.field).toBe('channel');
      const bad = await server.call('events_create_alert', { name: 'x', event_pattern: { source: ['a'] }, channel: { type: 'sns', subscriptions: [{ protocol: 'https', endpoint: 'http://plain.example' }] } });
      expect((bad.structuredContent as { error: { field: string } }).error.field).toBe('channel.subscriptions.0.endpoint');
    } finally {
      await server.close();
    }
  });
});

describe('agent-mesh doctor', () => {
  let aws: AwsEnvironment;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  beforeAll(async () => {
    [aws, redis] = await Promise.all([startAwsEnvironment(), startRedis()]);
  });
  afterAll(async () => {
    await Promise.allSettled([aws?.close(), redis?.close()]);
  });
  // Asynchronously: the emulators it checks run in this process.
  const doctor = (env: Record<string, string>) => runCli(env, 'doctor');

  it('passes when the table, bucket, bus and Redis are there', async () => {
    const run = await doctor({ ...aws.env, AGENT_MESH_REDIS_URL: redis.url });
    expect(run.stdout).toContain(`ok    dynamodb table ${aws.table}: ACTIVE, keys pk/sk, index gsi1`);
    expect(run.stdout).toContain(`ok    s3 bucket ${aws.bucket}`);
    expect(run.stdout).toContain(`ok    eventbridge bus ${aws.bus}`);
    expect(run.stdout).toMatch(/ok {4}redis/);
    expect(run.stdout).toContain('all checks passed');
    expect(run.status).toBe(0);
  });

  it('names what is missing and exits 1', async () => {
    const run = await doctor({ ...aws.env, AGENT_MESH_KV_TABLE: 'no-such-table', AGENT_MESH_ARTIFACTS_BUCKET: 'no-such-bucket', AGENT_MESH_EVENT_BUS: 'no-such-bus', AGENT_MESH_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(run.stdout).toMatch(/FAIL {2}dynamodb table no-such-table: missing/);
    expect(run.stdout).toMatch(/FAIL {2}s3 bucket no-such-bucket: missing/);
    expect(run.stdout).toMatch(/FAIL {2}eventbridge bus no-such-bus: missing/);
    expect(run.stdout).toMatch(/FAIL {2}redis/);
    expect(run.status).toBe(1);
  });

  it('a tool call on a missing table or an unreachable service answers unavailable, naming nothing of the deployment', async () => {
    const data = lazyTempDir('agent-mesh-aws-missing');
    const port = await freePort();
    const missingTable = await startServer({ ...aws.env, AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_KV_TABLE: 'no-such-table' });
    const unreachable = await startServer({ ...aws.env, AGENT_MESH_DATA_DIR: data.dir, AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}` });
    try {
      expect(structured(await missingTable.call('kv_get', { key: 'k' })).error).toEqual({
        code: 'unavailable',
        message: 'a table, bucket or bus agent-mesh needs does not exist (the operator can run agent-mesh doctor)',
      });
      expect(structured(await unreachable.call('kv_get', { key: 'k' })).error).toEqual({
        code: 'unavailable',
        message: 'a service agent-mesh depends on did not answer; retry later (the operator can run agent-mesh doctor)',
      });
      // The operator's detail is in the log (written asynchronously, so it may follow the reply); fails after 5 s.
      await unreachable.waitForStderr(/"code":"ECONNREFUSED"/);
      await missingTable.waitForStderr(/ResourceNotFoundException/);
      // Every line is the JSON log, including Node's own warnings (the AWS SDK warns about Node versions).
      for (const line of `${unreachable.stderr()}${missingTable.stderr()}`.split('\n').filter(Boolean)) {
        expect(() => JSON.parse(line), line).not.toThrow();
      }
    } finally {
      await Promise.all([missingTable.close(), unreachable.close()]);
      data.cleanup();
    }
  });
});
