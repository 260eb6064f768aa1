import { randomUUID } from 'node:crypto';
import { invalidArgument } from '../../errors.js';
import type { CompiledPattern } from '../../engine/patterns/index.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { EventEnvelope, EventStore, NewDelivery, StoredEvent } from '../../ports/event-store.js';
import { requirePermission } from '../../tenancy/permissions.js';
import type { TenantSession } from '../../tenancy/session.js';
import {
  MAX_DETAIL_BYTES,
  TENANT_CONTEXT_FIELD,
  eventBridgeTime,
  parseTime,
  validateDetailType,
  validateResources,
  validateSource,
} from './event-input.js';
import type { LiveListeners } from './live-listeners.js';
import { compileInputPattern } from './pattern-input.js';
import { decodePosition, encodePosition } from '../position-cursor.js';
import type { RuleIndexCache } from './rule-index.js';
import { ruleExecutionName, startDepth } from './rule-workflow-starts.js';

export interface SendEventInput {
  source: string;
  detail_type: string;
  detail: Record<string, unknown>;
  resources?: string[];
  time?: string;
}

export interface QueryEventsInput {
  source?: string;
  detail_type?: string;
  pattern?: unknown;
  start_time?: string;
  end_time?: string;
  limit?: number;
  cursor?: string;
}

export interface EventServiceSettings {
  region: string;
  account: string;
  /**
   * Copies a stored event to an external bus (EventBridge on AWS). Called after the event is stored and
   * its deliveries queued; it must not throw, since the send has already happened.
   */
  mirror?: (session: TenantSession, envelope: EventEnvelope) => Promise<void>;
}

const DEFAULT_QUERY_LIMIT = 50;
/** A pattern query reads at most this many events per call, then hands back a cursor to go on. */
const MAX_SCANNED_PER_QUERY = 5000;
const SCAN_BATCH = 250;
/** A page stops growing past this much JSON, so it fits any client's message limit; the cursor goes on. */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/** events_send and events_query: envelopes, tenant context, rule matching and the delivery queue. */
export class EventService {
  constructor(
    private readonly store: EventStore,
    private readonly limiter: RateLimiter,
    private readonly rules: RuleIndexCache,
    private readonly listeners: LiveListeners,
    private readonly settings: EventServiceSettings,
    private readonly onDeliveriesQueued: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  async send(session: TenantSession, input: SendEventInput) {
    return this.sendAs(session, input, false);
  }

  /** An event of agent-mesh's own (source agent-mesh.…, which callers may not use), such as a workflow's end. */
  async announce(session: TenantSession, input: SendEventInput) {
    return this.sendAs(session, input, true);
  }

  private async sendAs(session: TenantSession, input: SendEventInput, sentByServer: boolean) {
    requirePermission(session, 'events:write');
    const envelope = this.envelope(session, input, sentByServer);
    const timeMs = input.time === undefined ? this.now() : parseTime(input.time, 'time');
    envelope.time = eventBridgeTime(timeMs);
    await this.limiter.acquire(session, 'eventbridge');

    const { index, alerts } = await this.rules.forTenant(session);
    const matchedRules: string[] = [];
    const alertNames = new Set<string>();
    // Workflow targets are queued with the event, like alert deliveries: started by the dispatcher as the
    // rule's creator, retried with backoff when refused for a limit, and listed by events_health_check.
    const workflowStarts: NewDelivery[] = [];
    const depth = startDepth(envelope);
    for (const match of index.match(envelope)) {
      if (match.kind === 'alert') {
        alertNames.add(match.alert.name);
        continue;
      }
      const { rule } = match;
      matchedRules.push(rule.name);
      rule.targets.forEach((target, position) => {
        if (target.type === 'alert') {
          alertNames.add(target.name);
          return;
        }
        workflowStarts.push({
          id: randomUUID(),
          alertName: rule.name,
          channel: {
            type: 'workflow',
            workflow: target.name,
            executionName: ruleExecutionName(envelope.id, rule.name, position, depth),
            ...(target.input !== undefined && { input: target.input }),
            ...(rule.createdBy && { createdBy: rule.createdBy }),
            depth,
          },
        });
      });
    }
    const deliveries: NewDelivery[] = [];
    for (const name of [...alertNames].sort()) {
      const alert = alerts.get(name);
      if (alert) deliveries.push({ id: randomUUID(), alertName: name, channel: alert.channel });
    }

    const stored: StoredEvent = { envelope, timeMs };
    await this.store.append(session, stored, [...deliveries, ...workflowStarts]);
    if (deliveries.length + workflowStarts.length > 0) this.onDeliveriesQueued();
    await this.settings.mirror?.(session, envelope);
    this.listeners.publish(session, envelope);
    return { event_id: envelope.id, time: envelope.time, matched_rules: matchedRules.sort(), alerts_queued: deliveries.length };
  }

  /** The envelope EventBridge would build, with the caller's tenant context put where no caller can forge it. */
  private envelope(session: TenantSession, input: SendEventInput, sentByServer: boolean): EventEnvelope {
    const source = validateSource(input.source, sentByServer);
    const detailType = validateDetailType(input.detail_type);
    if (typeof input.detail !== 'object' || input.detail === null || Array.isArray(input.detail)) {
      throw invalidArgument('detail', 'must be a JSON object');
    }
    const detail = {
      ...input.detail,
      [TENANT_CONTEXT_FIELD]: { tenant_id: session.tenantId, user_id: session.userId, context_type: session.contextType },
    };
    const bytes = Buffer.byteLength(JSON.stringify(detail), 'utf8');
    if (bytes > MAX_DETAIL_BYTES) {
      throw invalidArgument('detail', `is ${bytes} bytes as JSON; EventBridge's limit is ${MAX_DETAIL_BYTES} (256 KB)`);
    }
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      account: this.settings.account,
      time: '',
      region: this.settings.region,
      resources: validateResources(input.resources),
      detail,
    };
  }

  async query(session: TenantSession, input: QueryEventsInput) {
    requirePermission(session, 'events:read');
    const pattern: CompiledPattern | undefined = input.pattern === undefined ? undefined : compileInputPattern(input.pattern, 'pattern').compiled;
    const startMs = input.start_time === undefined ? undefined : parseTime(input.start_time, 'start_time');
    const endMs = input.end_time === undefined ? undefined : parseTime(input.end_time, 'end_time');
    if (startMs !== undefined && endMs !== undefined && startMs > endMs) throw invalidArgument('start_time', 'is after end_time');
    const position = decodePosition(input.cursor, 'string');
    let before = position && { timeMs: position.time, id: position.tie };
    const limit = input.limit ?? DEFAULT_QUERY_LIMIT;
    await this.limiter.acquire(session, 'eventbridge');

    const filters = {
      ...(input.source !== undefined && { source: input.source }),
      ...(input.detail_type !== undefined && { detailType: input.detail_type }),
      ...(startMs !== undefined && { startMs }),
      ...(endMs !== undefined && { endMs }),
    };
    const found: StoredEvent[] = [];
    let scanned = 0;
    let bytes = 0;
    let full = false;
    let exhausted = false;
    while (!full && found.length < limit && scanned < MAX_SCANNED_PER_QUERY) {
      const batchSize = pattern ? SCAN_BATCH : limit - found.length;
      const batch = await this.store.query(session, { ...filters, ...(before && { before }), limit: batchSize });
      let consumed = 0;
      for (const event of batch) {
        if (!pattern || pattern.matches(event.envelope)) {
          const size = JSON.stringify(event.envelope).length;
          if (found.length > 0 && bytes + size > MAX_PAGE_BYTES) {
            full = true;
            break;
          }
          bytes += size;
          found.push(event);
        }
        consumed++;
        scanned++;
        before = { timeMs: event.timeMs, id: event.envelope.id };
        if (found.length === limit) break;
      }
      if (!full && batch.length < batchSize && consumed === batch.length) exhausted = true;
      if (exhausted) break;
    }
    // A full page may be the last one: look one event further so the client is not sent to an empty page.
    if (!exhausted && before && (await this.store.query(session, { ...filters, before, limit: 1 })).length === 0) exhausted = true;
    return { events: found.map((event) => event.envelope), next_cursor: exhausted || !before ? null : encodePosition(before.timeMs, before.id) };
  }
}
