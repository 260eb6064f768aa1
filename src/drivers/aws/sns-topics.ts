import { createHash } from 'node:crypto';
import { CreateTopicCommand, SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import { invalidArgument } from '../../errors.js';

export type AlertSubscription = { protocol: 'email' | 'https' | 'sqs'; endpoint: string };

const TOPIC_PREFIX = 'agent-mesh-';
const MAX_TOPIC_NAME = 256;
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ALERT_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * SNS names allow only [A-Za-z0-9_-], so "." is escaped, and "_" as the escape character; in the tenant
 * part "-" is escaped too, so the first bare "-" after the prefix ends the tenant. Distinct (tenant, alert)
 * pairs thus never share a topic — a shared topic would hand one tenant's alerts to another's subscribers.
 */
const escapeTenant = (tenantId: string): string => tenantId.replace(/[_.-]/g, (c) => ({ _: '__', '.': '_d', '-': '_h' })[c]!);
const escapeAlert = (alertName: string): string => alertName.replace(/[_.]/g, (c) => ({ _: '__', '.': '_d' })[c]!);

/** Every topic this module makes for the tenant starts with this (and no other tenant's does). */
export function alertTopicPrefix(tenantId: string): string {
  if (!TENANT_ID.test(tenantId)) throw invalidArgument('tenant_id', `"${tenantId}" is not a tenant id`);
  return `${TOPIC_PREFIX}${escapeTenant(tenantId)}-`;
}

/** `agent-mesh-<tenant>-<alert>`, escaped; an alert part too long for 256 characters ends in a hash instead. */
export function alertTopicName(tenantId: string, alertName: string): string {
  if (!ALERT_NAME.test(alertName)) throw invalidArgument('alert_name', 'must be 1-64 letters, digits, ".", "_" or "-"');
  const prefix = alertTopicPrefix(tenantId);
  const alert = escapeAlert(alertName);
  if (prefix.length + alert.length <= MAX_TOPIC_NAME) return prefix + alert;
  // "_x" is no escape sequence, so a shortened name cannot equal a full one.
  const hash = `_x${createHash('sha256').update(alertName).digest('hex').slice(0, 16)}`;
  let kept = alert.slice(0, MAX_TOPIC_NAME - prefix.length - hash.length);
  // Do not cut an escape sequence in half: an odd run of trailing "_" is a dangling escape.
  if ((kept.match(/_+$/)?.[0].length ?? 0) % 2 === 1) kept = kept.slice(0, -1);
  return prefix + kept + hash;
}

/**
 * Creates (or finds) the tenant's topic for one alert and subscribes the endpoints. Idempotent: SNS
 * returns the same topic for the same name and the same subscription for the same protocol and endpoint.
 * Email and https subscriptions stay pending until their owner confirms them.
 */
export async function ensureAlertTopic(
  client: SNSClient,
  tenantId: string,
  alertName: string,
  subscriptions: readonly AlertSubscription[],
): Promise<{ topicArn: string; subscriptionArns: string[] }> {
  const created = await client.send(new CreateTopicCommand({ Name: alertTopicName(tenantId, alertName) }));
  const topicArn = created.TopicArn;
  if (!topicArn) throw new Error('SNS CreateTopic returned no TopicArn');
  const subscriptionArns: string[] = [];
  for (const { protocol, endpoint } of subscriptions) {
    const result = await client.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: protocol, Endpoint: endpoint, ReturnSubscriptionArn: true }));
    subscriptionArns.push(result.SubscriptionArn ?? 'pending confirmation');
  }
  return { topicArn, subscriptionArns };
}
