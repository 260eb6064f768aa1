import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsAlertSink } from '../../src/drivers/aws/sns-alert-sink.js';
import { alertTopicName, ensureAlertTopic } from '../../src/drivers/aws/sns-topics.js';
import type { AlertMessage } from '../../src/ports/alert-sink.js';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, freePort, snsClient, startFauxqs, type Emulator } from '../helpers/aws-emulators.js';
import { ORDER_PLACED } from '../helpers/events.js';
import { testSession } from '../helpers/sessions.js';

const session = testSession('acme');

const event = ORDER_PLACED;

/** A client that records the input of every command it sends. */
function recordingClient(): { client: SNSClient; inputs: Array<Record<string, unknown>> } {
  const client = snsClient(fauxqs.endpoint);
  const inputs: Array<Record<string, unknown>> = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      inputs.push(args.input as Record<string, unknown>);
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, inputs };
}

const message = (deliveryId = 'dlv-123', attempt = 1): AlertMessage => ({ alertName: 'big-orders', deliveryId, attempt, event });

let fauxqs: Emulator;
let sns: SNSClient;
let sqs: SQSClient;
let queueCounter = 0;

beforeAll(async () => {
  fauxqs = await startFauxqs();
  sns = snsClient(fauxqs.endpoint);
  sqs = new SQSClient({ endpoint: fauxqs.endpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS });
});

afterAll(async () => {
  sns?.destroy();
  sqs?.destroy();
  await fauxqs?.close();
});

async function createQueue(fifo = false): Promise<{ url: string; arn: string }> {
  const name = `alerts-${++queueCounter}${fifo ? '.fifo' : ''}`;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, ...(fifo && { Attributes: { FifoQueue: 'true' } }) }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

interface Notification {
  TopicArn: string;
  Subject: string | null;
  Message: string;
  MessageAttributes: Record<string, { Type: string; Value: string }>;
}

/** Receives and deletes until the queue is empty (a FIFO queue holds back a group's next message until then). */
async function receiveAll(queueUrl: string): Promise<Notification[]> {
  const received: Notification[] = [];
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!Messages?.length) return received;
    for (const m of Messages) {
      received.push(JSON.parse(m.Body!) as Notification);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

describe('SnsAlertSink on fauxqs', () => {
  it('publishes the alert as JSON with alert and tenant attributes, read back from a subscribed queue', async () => {
    const queue = await createQueue();
    const { topicArn } = await ensureAlertTopic(sns, 'acme', 'big-orders', [{ protocol: 'sqs', endpoint: queue.arn }]);
    expect(topicArn).toMatch(/^arn:aws:sns:us-west-2:\d{12}:agent-mesh-acme-big-orders$/);

    const { client, inputs } = recordingClient();
    const outcome = await new SnsAlertSink(client).deliver(session, { type: 'sns', topic_arn: topicArn }, message('dlv-123', 2));
    client.destroy();
    expect(outcome).toMatchObject({ ok: true, status: 200, retryable: false });
    expect(inputs[0]).not.toHaveProperty('MessageGroupId'); // SNS refuses both on a standard topic
    expect(inputs[0]).not.toHaveProperty('MessageDeduplicationId');

    const [notification, ...rest] = await receiveAll(queue.url);
    expect(rest).toEqual([]);
    expect(notification!.TopicArn).toBe(topicArn);
    expect(notification!.Subject).toBe('agent-mesh alert big-orders');
    expect(JSON.parse(notification!.Message)).toEqual({ alert: 'big-orders', tenant_id: 'acme', delivery_id: 'dlv-123', attempt: 2, event });
    expect(notification!.MessageAttributes).toEqual({
      alert_name: { Type: 'String', Value: 'big-orders' },
      tenant_id: { Type: 'String', Value: 'acme' },
    });
  });

  it('makes the topic and subscriptions idempotently', async () => {
    const queue = await createQueue();
    const first = await ensureAlertTopic(sns, 'acme', 'twice', [{ protocol: 'sqs', endpoint: queue.arn }]);
    const second = await ensureAlertTopic(sns, 'acme', 'twice', [{ protocol: 'sqs', endpoint: queue.arn }]);
    expect(second).toEqual(first);
    expect(first.subscriptionArns).toHaveLength(1);
    await new SnsAlertSink(sns).deliver(session, { type: 'sns', topic_arn: first.topicArn }, message());
    expect(await receiveAll(queue.url)).toHaveLength(1); // one subscription, one copy
  });

  it('deduplicates a retried delivery on a FIFO topic', async () => {
    const queue = await createQueue(true);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'acme-orders.fifo', Attributes: { FifoTopic: 'true' } }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: queue.arn }));
    const { client, inputs } = recordingClient();
    const sink = new SnsAlertSink(client);
    expect(await sink.deliver(session, { type: 'sns', topic_arn: TopicArn! }, message('dlv-fifo', 1))).toMatchObject({ ok: true });
    expect(await sink.deliver(session, { type: 'sns', topic_arn: TopicArn! }, message('dlv-fifo', 2))).toMatchObject({ ok: true });
    expect(await sink.deliver(session, { type: 'sns', topic_arn: TopicArn! }, message('dlv-other', 1))).toMatchObject({ ok: true });
    client.destroy();
    expect(inputs[0]).toMatchObject({ MessageGroupId: 'acme:big-orders', MessageDeduplicationId: 'acme:dlv-fifo' });
    const received = (await receiveAll(queue.url)).map((n) => JSON.parse(n.Message) as { delivery_id: string; attempt: number });
    expect(received.map((m) => [m.delivery_id, m.attempt])).toEqual([
      ['dlv-fifo', 1],
      ['dlv-other', 1],
    ]);
  });

  it('fails without retry for a topic that does not exist', async () => {
    const outcome = await new SnsAlertSink(sns).deliver(session, { type: 'sns', topic_arn: 'arn:aws:sns:us-west-2:000000000000:no-such-topic' }, message());
    expect(outcome).toMatchObject({ ok: false, retryable: false, status: 404 });
    expect(outcome.error).toMatch(/NotFound/);
  });

  it('refuses, without trying, an ARN it cannot parse and another tenant’s topic', async () => {
    const sink = new SnsAlertSink(() => {
      throw new Error('no client should be asked for');
    });
    for (const topic_arn of ['arn:aws:sns::123456789012:alerts', 'arn:aws:sns:us-west-2::alerts', 'arn:aws:sqs:us-west-2:123456789012:alerts', 'alerts']) {
      expect(await sink.deliver(session, { type: 'sns', topic_arn }, message()), topic_arn).toMatchObject({ ok: false, retryable: false });
    }
    const other = `arn:aws:sns:us-west-2:123456789012:${alertTopicName('acme-corp', 'big-orders')}`;
    expect(await sink.deliver(session, { type: 'sns', topic_arn: other }, message())).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/another tenant/) });
    expect(await sink.deliver(session, { type: 'webhook', url: 'https://example.com' }, message())).toMatchObject({ ok: false, retryable: false });
  });

  it('publishes through the client of the topic’s region', async () => {
    const regions: string[] = [];
    const sink = new SnsAlertSink((region) => {
      regions.push(region);
      return sns;
    });
    const { topicArn } = await ensureAlertTopic(sns, 'acme', 'regional', []);
    expect(await sink.deliver(session, { type: 'sns', topic_arn: topicArn }, message())).toMatchObject({ ok: true });
    expect(regions).toEqual(['us-west-2']);
  });
});

describe('alert topic names', () => {
  it('keep distinct tenant and alert pairs apart and stay within SNS limits', () => {
    expect(alertTopicName('acme', 'big-orders')).toBe('agent-mesh-acme-big-orders');
    const pairs: Array<[string, string]> = [
      ['a-b', 'c'],
      ['a', 'b-c'],
      ['a.b', 'c'],
      ['a_b', 'c'],
      ['a', 'b.c'],
      ['a', 'b_c'],
      ['a', 'b_dc'],
      ['a', 'b_d.c'],
      ['x'.repeat(64), 'y'.repeat(64)],
      ['a' + '.'.repeat(63), '.'.repeat(64)],
      ['a' + '.'.repeat(63), '.'.repeat(63) + '_'],
      ['a' + '-'.repeat(63), '_'.repeat(64)],
    ];
    const names = pairs.map(([tenant, alert]) => alertTopicName(tenant, alert));
    expect(new Set(names).size).toBe(pairs.length);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    expect(() => alertTopicName('acme', 'bad name')).toThrow(/alert_name/);
    expect(() => alertTopicName('-bad', 'alert')).toThrow(/tenant/);
  });
});

describe('SnsAlertSink error classes (a stand-in HTTP server answering as SNS does)', () => {
  let server: http.Server;
  let endpoint: string;
  const answers: Record<string, { status: number; code: string }> = {
    throttled: { status: 400, code: 'Throttling' },
    internal: { status: 500, code: 'InternalError' },
    unavailable: { status: 503, code: 'ServiceUnavailable' },
    denied: { status: 403, code: 'AuthorizationError' },
    invalid: { status: 400, code: 'InvalidParameter' },
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const topicArn = new URLSearchParams(Buffer.concat(chunks).toString()).get('TopicArn') ?? '';
        const answer = answers[topicArn.split(':').pop()!] ?? { status: 400, code: 'InvalidParameter' };
        res.writeHead(answer.status, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${answer.code}</Code><Message>stand-in ${answer.code}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const sinkAt = (url: string) =>
    new SnsAlertSink(new SNSClient({ endpoint: url, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 }), { timeoutMs: 5_000 });

  it.each([
    ['throttled', true, 400],
    ['internal', true, 500],
    ['unavailable', true, 503],
    ['denied', false, 403],
    ['invalid', false, 400],
  ] as const)('%s: retryable %s', async (topic, retryable, status) => {
    const outcome = await sinkAt(endpoint).deliver(session, { type: 'sns', topic_arn: `arn:aws:sns:us-west-2:123456789012:${topic}` }, message());
    expect(outcome).toMatchObject({ ok: false, retryable, status });
    expect(outcome.error).toContain(answers[topic]!.code);
  });

  it('retries when SNS cannot be reached', async () => {
    const outcome = await sinkAt(`http://127.0.0.1:${await freePort()}`).deliver(session, { type: 'sns', topic_arn: 'arn:aws:sns:us-west-2:123456789012:alerts' }, message());
    expect(outcome).toMatchObject({ ok: false, retryable: true });
    expect(outcome.status).toBeUndefined();
  });
});
