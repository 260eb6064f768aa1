import type { TenantSession } from '../tenancy/session.js';

export interface AlertSubscription {
  protocol: 'email' | 'https' | 'sqs';
  /** An email address, an https URL, or an SQS queue ARN. */
  endpoint: string;
}

/** Topics that agent-mesh creates and owns, one per alert (SNS on AWS). */
export interface AlertTopics {
  /**
   * Creates (or finds) the tenant's topic for the alert and makes its subscriptions exactly `subscriptions`
   * (missing ones added, others removed). Returns the topic ARN.
   */
  ensure(session: TenantSession, alertName: string, subscriptions: readonly AlertSubscription[]): Promise<string>;
  /** Deletes the alert's topic and its subscriptions; a missing topic is fine. */
  remove(session: TenantSession, alertName: string): Promise<void>;
}
