import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { AlertChannel, AlertMessage, AlertSink, DeliveryOutcome } from '../../ports/alert-sink.js';
import type { TenantSession } from '../../tenancy/session.js';
import { alertTopicPrefix } from './sns-topics.js';

export interface SnsAlertSinkOptions {
  /** Covers one Publish call, the SDK's own retries included. Default 10 s. */
  timeoutMs?: number;
}

/** SNS's limit on a message, body and attributes together. */
const MAX_MESSAGE_BYTES = 256 * 1024;
const TOPIC_ARN = /^arn:(aws[a-z-]*):sns:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$/;
/** Characters SNS allows in MessageGroupId and MessageDeduplicationId (up to 128 of them). */
const FIFO_ID = /^[\x21-\x7e]{1,128}$/;
/** Error codes after which the same Publish can succeed later (beside any 5xx). */
const RETRYABLE_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'TooManyRequestsException',
  'KMSThrottling',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'TimeoutError',
  'AbortError',
]);

interface SdkError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

/**
 * Publishes alerts to the channel's SNS topic as JSON, with the alert name and tenant as message attributes
 * (for subscription filter policies). FIFO topics get the delivery id as deduplication id, so a retried
 * delivery whose first Publish did go through is dropped by SNS. A topic in the `agent-mesh-` namespace must
 * be the session tenant's own (see sns-topics.ts). Never throws for a failed delivery.
 */
export class SnsAlertSink implements AlertSink {
  readonly type = 'sns' as const;
  private readonly clientFor: (region: string) => SNSClient;
  private readonly timeoutMs: number;

  /** Takes one client, or one per region: SNS serves a topic only in its own region. */
  constructor(client: SNSClient | ((region: string) => SNSClient), options: SnsAlertSinkOptions = {}) {
    this.clientFor = typeof client === 'function' ? client : () => client;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async deliver(session: TenantSession, channel: AlertChannel, message: AlertMessage): Promise<DeliveryOutcome> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const fail = (error: string, retryable: boolean, status?: number): DeliveryOutcome =>
      status === undefined ? { ok: false, error, retryable, durationMs: elapsed() } : { ok: false, status, error, retryable, durationMs: elapsed() };

    if (channel.type !== 'sns') return fail(`the sns sink cannot deliver to a channel of type "${channel.type}"`, false);
    const arn = TOPIC_ARN.exec(channel.topic_arn);
    if (!arn) return fail('channel.topic_arn is not an SNS topic ARN like arn:aws:sns:us-west-2:123456789012:alerts (region or account missing)', false);
    const region = arn[2]!;
    const topicName = arn[4]!;
    if (topicName.startsWith('agent-mesh-') && !topicName.startsWith(alertTopicPrefix(session.tenantId))) {
      return fail(`topic "${topicName}" belongs to another tenant's alerts`, false);
    }

    const body = JSON.stringify({
      alert: message.alertName,
      tenant_id: session.tenantId,
      delivery_id: message.deliveryId,
      attempt: message.attempt,
      event: message.event,
    });
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES - 1024) return fail(`the alert message is ${Buffer.byteLength(body)} bytes, over SNS's limit`, false);

    const fifo = topicName.endsWith('.fifo');
    const command = new PublishCommand({
      TopicArn: channel.topic_arn,
      Message: body,
      Subject: `agent-mesh alert ${message.alertName}`.slice(0, 100),
      MessageAttributes: {
        alert_name: { DataType: 'String', StringValue: message.alertName },
        tenant_id: { DataType: 'String', StringValue: session.tenantId },
      },
      ...(fifo && {
        MessageGroupId: fifoId(`${session.tenantId}:${message.alertName}`),
        MessageDeduplicationId: fifoId(`${session.tenantId}:${message.deliveryId}`),
      }),
    });

    try {
      const result = await this.clientFor(region).send(command, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
      return { ok: true, status: result.$metadata.httpStatusCode ?? 200, retryable: false, durationMs: elapsed() };
    } catch (raw) {
      const error = raw as SdkError;
      const status = error.$metadata?.httpStatusCode;
      const line = `${error.name ?? 'Error'}: ${error.message ?? String(raw)}`;
      return fail(line, isRetryable(error), status);
    }
  }
}

function isRetryable(error: SdkError): boolean {
  const status = error.$metadata?.httpStatusCode;
  if (error.$retryable?.throttling || RETRYABLE_CODES.has(error.name ?? '')) return true;
  if (status !== undefined) return status >= 500 || status === 429;
  // No HTTP answer at all (connection refused, reset, DNS): the topic may be reachable later.
  return error.$fault !== 'client';
}

/** The value itself when SNS accepts it, else a hash of it (stable, so deduplication still works). */
function fifoId(value: string): string {
  return FIFO_ID.test(value) ? value : createHash('sha256').update(value).digest('hex');
}
