import {
  DeleteTopicCommand,
  ListSubscriptionsByTopicCommand,
  UnsubscribeCommand,
  type SNSClient,
  type Subscription,
} from '@aws-sdk/client-sns';
import { MeshError } from '../../errors.js';
import type { AlertSubscription, AlertTopics } from '../../ports/alert-topics.js';
import { assertSession, type TenantSession } from '../../tenancy/session.js';
import { alertTopicName, ensureAlertTopic } from './sns-topics.js';

/** One SNS topic per alert, named `agent-mesh-<tenant>-<alert>`, so IAM can scope agent-mesh to its own. */
export class SnsAlertTopics implements AlertTopics {
  constructor(
    private readonly client: SNSClient,
    private readonly region: string,
    private readonly account: string,
  ) {}

  async ensure(session: TenantSession, alertName: string, subscriptions: readonly AlertSubscription[]): Promise<string> {
    assertSession(session);
    try {
      const { topicArn } = await ensureAlertTopic(this.client, session.tenantId, alertName, subscriptions);
      const wanted = new Set(subscriptions.map((s) => `${s.protocol} ${s.endpoint}`));
      for (const existing of await this.subscriptionsOf(topicArn)) {
        const arn = existing.SubscriptionArn ?? '';
        // Pending subscriptions have no ARN yet and cannot be removed; they lapse unconfirmed.
        if (!arn.startsWith('arn:') || wanted.has(`${existing.Protocol} ${existing.Endpoint}`)) continue;
        await this.client.send(new UnsubscribeCommand({ SubscriptionArn: arn }));
      }
      return topicArn;
    } catch (error) {
      throw snsError(error);
    }
  }

  async remove(session: TenantSession, alertName: string): Promise<void> {
    assertSession(session);
    const topicArn = `arn:aws:sns:${this.region}:${this.account}:${alertTopicName(session.tenantId, alertName)}`;
    try {
      // DeleteTopic removes the subscriptions too, and succeeds for a topic that is not there.
      await this.client.send(new DeleteTopicCommand({ TopicArn: topicArn }));
    } catch (error) {
      if ((error as { name?: string }).name === 'NotFoundException') return;
      throw snsError(error);
    }
  }

  private async subscriptionsOf(topicArn: string): Promise<Subscription[]> {
    const all: Subscription[] = [];
    let next: string | undefined;
    do {
      const page = await this.client.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: next }));
      all.push(...(page.Subscriptions ?? []));
      next = page.NextToken;
    } while (next);
    return all;
  }
}

function snsError(error: unknown): MeshError {
  if (error instanceof MeshError) return error;
  const name = (error as { name?: string }).name ?? 'Error';
  const message = ((error as Error).message ?? '').split('\n')[0]!.slice(0, 200);
  if (name === 'InvalidParameterException') return new MeshError('invalid_argument', `channel.subscriptions: SNS refused them: ${message}`, { field: 'channel.subscriptions' });
  return new MeshError('unavailable', `SNS: ${name}: ${message}`);
}
