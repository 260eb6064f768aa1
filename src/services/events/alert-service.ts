import { MeshError, invalidArgument, notFound } from '../../errors.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { AlertChannel, AlertChannelType } from '../../ports/alert-sink.js';
import type { AlertSubscription, AlertTopics } from '../../ports/alert-topics.js';
import type { AlertRecord, EventStore } from '../../ports/event-store.js';
import { requirePermission } from '../../tenancy/permissions.js';
import type { TenantSession } from '../../tenancy/session.js';
import { toIso } from '../time.js';
import { validateName } from './event-input.js';
import { compileInputPattern } from './pattern-input.js';

export type ChannelInput =
  | { type: 'webhook'; url: string; headers?: Record<string, string> }
  | { type: 'email'; to: string | string[]; subject?: string }
  | { type: 'sns'; topic_arn?: string; subscriptions?: AlertSubscription[] };

export interface AlertServiceOptions {
  /** Checks a webhook URL against the egress policy (throws invalid_argument or permission_denied). */
  checkUrl(url: string, field: string): Promise<URL>;
  /** Why a channel type cannot be used on this server, by type; absent types are available. */
  unavailable: Partial<Record<AlertChannelType, string>>;
  /** Makes a topic per alert for sns channels given as subscriptions (AWS backend only). */
  topics?: AlertTopics;
}

const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const RESERVED_HEADERS = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'connection']);
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const SQS_QUEUE_ARN = /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/;

/** Header values may be secrets: listings show only their names. */
function publicChannel(channel: AlertChannel): Record<string, unknown> {
  if (channel.type !== 'webhook' || !channel.headers) return { ...channel };
  return { ...channel, headers: Object.fromEntries(Object.keys(channel.headers).map((name) => [name, '***'])) };
}

const describe = (alert: AlertRecord) => ({
  name: alert.name,
  event_pattern: JSON.parse(alert.pattern) as Record<string, unknown>,
  channel: publicChannel(alert.channel),
  created_at: toIso(alert.createdAt)!,
});

/** events_create_alert / list / delete: subscribe people or systems to events. */
export class AlertService {
  constructor(
    private readonly store: EventStore,
    private readonly limiter: RateLimiter,
    private readonly options: AlertServiceOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async create(session: TenantSession, input: { name: string; event_pattern: unknown; channel: ChannelInput }) {
    requirePermission(session, 'events:write');
    const name = validateName(input.name);
    const { json } = compileInputPattern(input.event_pattern, 'event_pattern');
    const reason = this.options.unavailable[input.channel.type];
    if (reason) throw new MeshError('unavailable', `channel.type: ${input.channel.type} alerts are not available here: ${reason}`, { field: 'channel.type' });
    let channel = await this.validateChannel(input.channel);
    await this.limiter.acquire(session, 'sns');
    const previous = await this.withOwnTopic(session, name);
    const subscriptions = channel.type === 'sns' ? channel.subscriptions : undefined;
    if (channel.type === 'sns' && subscriptions) channel = { ...channel, topic_arn: await this.topics().ensure(session, name, subscriptions) };
    const alert: AlertRecord = { name, pattern: json, channel, createdAt: this.now() };
    let created: boolean;
    try {
      ({ created } = await this.store.putAlert(session, alert));
    } catch (error) {
      // A refused alert (quota) leaves no topic behind, and the one it would have replaced as it was.
      if (subscriptions) await this.restoreTopic(session, name, previous);
      throw error;
    }
    if (previous && !ownsTopic(alert)) await this.topics().remove(session, name);
    return { ...describe(alert), created };
  }

  /** The stored alert of that name if it owns a topic; read only where topics are made at all. */
  private async withOwnTopic(session: TenantSession, name: string): Promise<AlertRecord | undefined> {
    if (!this.options.topics) return undefined;
    return (await this.store.listAlerts(session)).find((alert) => alert.name === name && ownsTopic(alert));
  }

  private async restoreTopic(session: TenantSession, name: string, previous: AlertRecord | undefined): Promise<void> {
    if (previous?.channel.type === 'sns' && previous.channel.subscriptions) await this.topics().ensure(session, name, previous.channel.subscriptions);
    else await this.topics().remove(session, name);
  }

  private topics(): AlertTopics {
    if (!this.options.topics) {
      throw new MeshError('unavailable', 'channel.subscriptions: topics per alert are made on the AWS backend (AGENT_MESH_BACKEND=aws)', { field: 'channel.subscriptions' });
    }
    return this.options.topics;
  }

  private async validateChannel(channel: ChannelInput): Promise<AlertChannel> {
    switch (channel.type) {
      case 'webhook': {
        const url = await this.options.checkUrl(channel.url, 'channel.url');
        const headers = channel.headers ?? {};
        if (Object.keys(headers).length > 20) throw invalidArgument('channel.headers', 'at most 20 headers');
        for (const [header, value] of Object.entries(headers)) {
          if (!HEADER_NAME.test(header)) throw invalidArgument(`channel.headers.${header}`, 'is not a valid HTTP header name');
          if (RESERVED_HEADERS.has(header.toLowerCase())) throw invalidArgument(`channel.headers.${header}`, 'is set by agent-mesh itself');
          if (/[\r\n\0]/.test(value) || value.length > 4096) throw invalidArgument(`channel.headers.${header}`, 'must be one line of at most 4096 characters');
        }
        return { type: 'webhook', url: url.toString(), ...(channel.headers && { headers }) };
      }
      case 'email': {
        const to = Array.isArray(channel.to) ? channel.to : [channel.to];
        if (to.length === 0 || to.length > 20) throw invalidArgument('channel.to', 'give 1-20 addresses');
        to.forEach((address, i) => {
          if (!EMAIL.test(address) || address.length > 254) throw invalidArgument(`channel.to.${i}`, `"${address}" is not an email address`);
        });
        if (channel.subject !== undefined && (channel.subject.length > 200 || /[\r\n]/.test(channel.subject))) {
          throw invalidArgument('channel.subject', 'must be one line of at most 200 characters');
        }
        return { type: 'email', to, ...(channel.subject !== undefined && { subject: channel.subject }) };
      }
      case 'sns':
        if ((channel.topic_arn === undefined) === (channel.subscriptions === undefined)) {
          throw invalidArgument('channel', 'an sns channel takes either topic_arn (an existing topic) or subscriptions (a topic made for this alert)');
        }
        if (channel.subscriptions) return { type: 'sns', topic_arn: '', subscriptions: validateSubscriptions(channel.subscriptions) };
        if (!SNS_TOPIC_ARN.test(channel.topic_arn!)) {
          throw invalidArgument('channel.topic_arn', 'is not an SNS topic ARN like arn:aws:sns:us-west-2:123456789012:alerts');
        }
        return { type: 'sns', topic_arn: channel.topic_arn! };
    }
  }

  async list(session: TenantSession) {
    requirePermission(session, 'events:read');
    await this.limiter.acquire(session, 'sns');
    return { alerts: (await this.store.listAlerts(session)).map(describe) };
  }

  async delete(session: TenantSession, rawName: string) {
    requirePermission(session, 'events:write');
    const name = validateName(rawName);
    await this.limiter.acquire(session, 'sns');
    const owner = await this.withOwnTopic(session, name);
    if (!(await this.store.deleteAlert(session, name))) throw notFound(`alert "${name}" not found`);
    if (owner) await this.topics().remove(session, name);
    return { name, deleted: true as const };
  }
}

const ownsTopic = (alert: AlertRecord): boolean => alert.channel.type === 'sns' && alert.channel.subscriptions !== undefined;

function validateSubscriptions(subscriptions: AlertSubscription[]): AlertSubscription[] {
  if (subscriptions.length === 0 || subscriptions.length > 10) throw invalidArgument('channel.subscriptions', 'give 1-10 subscriptions');
  return subscriptions.map(({ protocol, endpoint }, i) => {
    const field = `channel.subscriptions.${i}.endpoint`;
    if (protocol === 'email' && (!EMAIL.test(endpoint) || endpoint.length > 254)) throw invalidArgument(field, `"${endpoint}" is not an email address`);
    if (protocol === 'https') {
      let url: URL | undefined;
      try {
        url = new URL(endpoint);
      } catch {
        // reported below
      }
      if (!url || url.protocol !== 'https:') throw invalidArgument(field, 'must be an https:// URL (SNS sends to it from AWS)');
    }
    if (protocol === 'sqs' && !SQS_QUEUE_ARN.test(endpoint)) throw invalidArgument(field, 'must be an SQS queue ARN like arn:aws:sqs:us-west-2:123456789012:alerts');
    return { protocol, endpoint };
  });
}
