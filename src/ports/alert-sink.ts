import type { TenantSession } from '../tenancy/session.js';
import type { AlertSubscription } from './alert-topics.js';
import type { EventEnvelope } from './event-store.js';

/** Where an alert sends matching events. */
export type AlertChannel =
  | { type: 'webhook'; url: string; headers?: Record<string, string> }
  | { type: 'email'; to: string[]; subject?: string }
  /** `subscriptions` is set when agent-mesh made the topic for this alert (and deletes it with the alert). */
  | { type: 'sns'; topic_arn: string; subscriptions?: AlertSubscription[] };

export type AlertChannelType = AlertChannel['type'];

export interface AlertMessage {
  alertName: string;
  /** Which delivery and attempt this is, for receivers that deduplicate (at-least-once delivery). */
  deliveryId: string;
  attempt: number;
  event: EventEnvelope;
}

export interface DeliveryOutcome {
  ok: boolean;
  /** HTTP status, SMTP reply code, or undefined when no answer came. */
  status?: number;
  /** One line on what went wrong. */
  error?: string;
  /** False when trying again cannot help (e.g. a refused address); the delivery then fails at once. */
  retryable: boolean;
  durationMs: number;
}

/** Sends one alert message over one kind of channel. One implementation per channel type. */
export interface AlertSink {
  readonly type: AlertChannelType;
  deliver(session: TenantSession, channel: AlertChannel, message: AlertMessage): Promise<DeliveryOutcome>;
}
