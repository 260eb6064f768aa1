import { z } from 'zod';
import { kindOf } from '../../config/issue-text.js';
import { defineTool } from '../tool.js';
import { isoTime, nextCursor } from './common-schemas.js';

const patternArg = z
  .union([z.record(z.string(), z.unknown()), z.string()], { error: (issue) => `must be a JSON object (or its JSON text), not ${kindOf(issue.input)}` })
  .describe('An EventBridge event pattern (object or JSON text), e.g. {"source":["app.orders"],"detail":{"amount":[{"numeric":[">",100]}]}}.');
const nameArg = z.string().describe('1-64 letters, digits, ".", "_" or "-".');
const envelope = z.record(z.string(), z.unknown()).describe('EventBridge envelope: version, id, detail-type, source, account, time, region, resources, detail.');
const deleted = z.strictObject({ name: z.string(), deleted: z.literal(true) });

export const eventsSend = defineTool({
  name: 'events_send',
  group: 'events',
  permission: 'events:write',
  rateLimit: 'eventbridge',
  title: 'Send an event',
  description:
    'Publish an event to the tenant\'s bus. agent-mesh adds detail.tenant_context (tenant_id, user_id, context_type), replacing any value sent there. ' +
    'Returns the event id and the names of the enabled rules it matched; matching alerts are queued for delivery.',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  input: z.strictObject({
    source: z.string().describe('Who sent it, e.g. "app.orders" (not starting with "aws." or "agent-mesh.", which are reserved).'),
    detail_type: z.string().describe('What happened, e.g. "OrderPlaced".'),
    detail: z.record(z.string(), z.unknown()).describe('The event body, a JSON object of at most 256 KB.'),
    resources: z.array(z.string()).optional().describe('ARNs or other identifiers the event is about.'),
    time: z.string().optional().describe('When it happened (ISO 8601); default now.'),
  }),
  output: z.strictObject({
    event_id: z.string(),
    time: isoTime,
    matched_rules: z.array(z.string()),
    alerts_queued: z.number().int().describe('Alert deliveries queued for this event.'),
  }),
  call: ({ session, services }, args) => services.events.send(session, args),
  text: (result) =>
    `sent event ${result.event_id}; matched rules: ${result.matched_rules.length ? result.matched_rules.join(', ') : 'none'}; alerts queued: ${result.alerts_queued}`,
});

export const eventsQuery = defineTool({
  name: 'events_query',
  group: 'events',
  permission: 'events:read',
  rateLimit: 'eventbridge',
  title: 'Query events',
  description: 'The tenant\'s stored events, newest first, filtered by source, detail type, time range and/or an event pattern.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({
    source: z.string().optional(),
    detail_type: z.string().optional(),
    pattern: patternArg.optional(),
    start_time: z.string().optional().describe('Events at or after this time (ISO 8601).'),
    end_time: z.string().optional().describe('Events before this time (ISO 8601).'),
    limit: z.number().int().min(1).max(500).optional().describe('At most this many events (default 50).'),
    cursor: z.string().optional().describe('next_cursor of the previous page.'),
  }),
  output: z.strictObject({ events: z.array(envelope), next_cursor: nextCursor }),
  call: ({ session, services }, args) => services.events.query(session, args),
});

export const eventsAnalytics = defineTool({
  name: 'events_analytics',
  group: 'events',
  permission: 'events:read',
  rateLimit: 'eventbridge',
  title: 'Event counts over time',
  description: 'Count the tenant\'s events per UTC time bucket and per detail type or source, with totals and the top groups.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({
    start_time: z.string().optional().describe('Default: 60 buckets (minute), 24 (hour) or 30 (day) before end_time.'),
    end_time: z.string().optional().describe('Default now.'),
    bucket: z.enum(['minute', 'hour', 'day']),
    group_by: z.enum(['detail_type', 'source']),
  }),
  output: z.strictObject({
    bucket: z.enum(['minute', 'hour', 'day']),
    group_by: z.enum(['detail_type', 'source']),
    start_time: isoTime,
    end_time: isoTime,
    total: z.number().int(),
    buckets: z.array(z.strictObject({ start: isoTime, total: z.number().int(), counts: z.record(z.string(), z.number().int()) })),
    totals: z.array(z.strictObject({ group: z.string(), count: z.number().int() })),
    top: z.array(z.strictObject({ group: z.string(), count: z.number().int() })).describe('The 10 largest groups.'),
  }),
  call: ({ session, services }, args) => services.eventAnalytics.analytics(session, args),
});

const targetSchema = z.union(
  [
    z.strictObject({ alert: z.string().describe('Deliver matching events to this alert.') }),
    z.strictObject({ workflow: z.string().describe('Start this workflow with the event.'), input: z.unknown().optional() }),
  ],
  { error: 'must be {"alert": name} or {"workflow": name, "input"?: …}' },
);

const ruleSchema = z.strictObject({
  name: z.string(),
  event_pattern: z.record(z.string(), z.unknown()),
  targets: z.array(z.record(z.string(), z.unknown())),
  description: z.string(),
  enabled: z.boolean(),
  created_at: isoTime,
  updated_at: isoTime,
});

export const eventsCreateRule = defineTool({
  name: 'events_create_rule',
  group: 'events',
  permission: 'events:write',
  rateLimit: 'eventbridge',
  title: 'Create or replace a rule',
  description: 'A rule matches the tenant\'s events by an EventBridge pattern and sends each match to its targets (alerts, workflows). Same name replaces. A workflow target also needs workflow:write, and its workflow runs as the rule\'s creator.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({
    name: nameArg,
    event_pattern: patternArg,
    targets: z.array(targetSchema).describe('An array, even of one target: up to 5, each {"alert": name} or {"workflow": name, "input"?: …}, e.g. [{"alert":"ops-webhook"}].'),
    description: z.string().optional(),
    enabled: z.boolean().optional().describe('Default true.'),
  }),
  output: ruleSchema.extend({ created: z.boolean() }),
  call: ({ session, services }, args) => services.rules.create(session, args),
});

export const eventsListRules = defineTool({
  name: 'events_list_rules',
  group: 'events',
  permission: 'events:read',
  rateLimit: 'eventbridge',
  title: 'List rules',
  description: 'The tenant\'s rules by name, with patterns and targets.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({
    limit: z.number().int().min(1).max(1000).optional().describe('Page size (default 100).'),
    cursor: z.string().optional(),
  }),
  output: z.strictObject({ rules: z.array(ruleSchema), next_cursor: nextCursor }),
  call: ({ session, services }, args) => services.rules.list(session, args),
});

export const eventsDeleteRule = defineTool({
  name: 'events_delete_rule',
  group: 'events',
  permission: 'events:write',
  rateLimit: 'eventbridge',
  title: 'Delete a rule',
  description: 'Delete a rule by name.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ name: nameArg }),
  output: deleted,
  call: ({ session, services }, args) => services.rules.delete(session, args.name),
  text: (result) => `deleted rule ${JSON.stringify(result.name)}`,
});

const channelSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    url: z.string().describe('http(s) URL; private and loopback addresses only if the server\'s network.allow names them.'),
    headers: z.record(z.string(), z.string()).optional().describe('Extra request headers, e.g. Authorization (shown masked afterwards).'),
  }),
  z.strictObject({
    type: z.literal('email'),
    to: z.union([z.string(), z.array(z.string())]).describe('One address or a list.'),
    subject: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('sns'),
    topic_arn: z.string().optional().describe('An existing topic, arn:aws:sns:<region>:<account>:<topic>. Give this or subscriptions.'),
    subscriptions: z
      .array(z.strictObject({ protocol: z.enum(['email', 'https', 'sqs']), endpoint: z.string().describe('Email address, https URL or SQS queue ARN.') }))
      .optional()
      .describe('agent-mesh creates a topic for this alert with these subscriptions (email and https ones must be confirmed by their owner).'),
  }),
]);

const alertSchema = z.strictObject({
  name: z.string(),
  event_pattern: z.record(z.string(), z.unknown()),
  channel: z.record(z.string(), z.unknown()),
  created_at: isoTime,
});

export const eventsCreateAlert = defineTool({
  name: 'events_create_alert',
  group: 'events',
  permission: 'events:write',
  rateLimit: 'sns',
  title: 'Create or replace an alert',
  description:
    'Subscribe a webhook, email addresses or an SNS topic to the tenant\'s events that match a pattern. Webhooks are retried with exponential backoff. ' +
    'Email needs AGENT_MESH_SMTP_URL on the server; SNS needs the AWS backend, and either names a topic or has agent-mesh create one with subscriptions.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  input: z.strictObject({ name: nameArg, event_pattern: patternArg, channel: channelSchema }),
  output: alertSchema.extend({ created: z.boolean() }),
  call: ({ session, services }, args) => services.alerts.create(session, args),
});

export const eventsListAlerts = defineTool({
  name: 'events_list_alerts',
  group: 'events',
  permission: 'events:read',
  rateLimit: 'sns',
  title: 'List alerts',
  description: 'The tenant\'s alerts with their patterns and channels (header values masked).',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({}),
  output: z.strictObject({ alerts: z.array(alertSchema) }),
  call: ({ session, services }) => services.alerts.list(session),
});

export const eventsDeleteAlert = defineTool({
  name: 'events_delete_alert',
  group: 'events',
  permission: 'events:write',
  rateLimit: 'sns',
  title: 'Delete an alert',
  description: 'Delete an alert by name; refused with conflict while a rule targets it.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ name: nameArg }),
  output: deleted,
  call: ({ session, services }, args) => services.alerts.delete(session, args.name),
  text: (result) => `deleted alert ${JSON.stringify(result.name)}`,
});

export const eventsHealthCheck = defineTool({
  name: 'events_health_check',
  group: 'events',
  permission: 'events:read',
  rateLimit: 'eventbridge',
  title: 'Health check',
  description: 'Store status and latency, rule and alert counts, alert delivery backlog and recent failures, rule workflow starts (backlog, started, failed, recent failures), this tenant\'s rate-limit buckets, uptime and version.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({}),
  output: z.strictObject({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    backend: z.string(),
    uptime_seconds: z.number().int(),
    store: z.strictObject({ status: z.enum(['ok', 'error']), latency_ms: z.number(), error: z.string().optional() }),
    rules: z.strictObject({ total: z.number().int(), enabled: z.number().int() }),
    alerts: z.number().int(),
    deliveries: z.strictObject({ backlog: z.number().int(), delivered: z.number().int(), failed: z.number().int() }),
    recent_failures: z.array(
      z.strictObject({
        alert: z.string(),
        delivery_id: z.string(),
        attempt: z.number().int(),
        at: isoTime,
        status: z.number().int().nullable(),
        error: z.string().nullable(),
      }),
    ),
    workflow_starts: z.strictObject({
      backlog: z.number().int(),
      started: z.number().int(),
      failed: z.number().int(),
      recent_failures: z.array(
        z.strictObject({
          rule: z.string(),
          workflow: z.string(),
          start_id: z.string(),
          attempt: z.number().int(),
          at: isoTime,
          error: z.string().nullable(),
        }),
      ),
    }),
    rate_limits: z.array(
      z.strictObject({ service: z.string(), tokens: z.number(), capacity: z.number(), refill_per_second: z.number() }),
    ),
  }),
  call: ({ session, services }) => services.health.check(session),
});

export const eventTools = [
  eventsSend,
  eventsQuery,
  eventsAnalytics,
  eventsCreateRule,
  eventsListRules,
  eventsDeleteRule,
  eventsCreateAlert,
  eventsListAlerts,
  eventsDeleteAlert,
  eventsHealthCheck,
];
