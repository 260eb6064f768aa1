import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteRuleCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type EventBridgeClient,
  type PutEventsRequestEntry,
  type Target,
} from '@aws-sdk/client-eventbridge';
import { invalidArgument, MeshError } from '../../errors.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { EventEnvelope, RuleRecord } from '../../ports/event-store.js';
import { assertSession, type TenantSession } from '../../tenancy/session.js';

/** Where the services put the tenant context (services/events/event-input.ts TENANT_CONTEXT_FIELD). */
const TENANT_CONTEXT_FIELD = 'tenant_context';
/** The field every tenant's rule is pinned to, as event-pattern path segments. */
const TENANT_PATH = ['detail', TENANT_CONTEXT_FIELD, 'tenant_id'] as const;

/** PutEvents takes at most 10 entries and 256 KB in one request. */
const MAX_ENTRIES_PER_PUT = 10;
const MAX_PUT_BYTES = 256 * 1024;
const MAX_RULE_NAME = 64;
const RULE_PREFIX = 'agent-mesh-';
/** The one target we manage on a rule, when a fan-out target is configured. */
const FANOUT_TARGET_ID = 'agent-mesh-fanout';

export interface EventBridgeBusOptions {
  /** The bus events are put on and rules live on (AGENT_MESH_EVENT_BUS). */
  eventBusName: string;
  /** Optional target of every rule (an SQS queue, an archive…) for fan-out inside AWS. */
  ruleTargetArn?: string;
  /** The role EventBridge assumes to reach `ruleTargetArn`, where the target type needs one. */
  ruleTargetRoleArn?: string;
  /** Tries for entries EventBridge fails (throttling, internal errors) before giving up; default 4. */
  maxAttempts?: number;
  /** First pause between tries, doubled each time; default 100 ms. */
  retryDelayMs?: number;
}

/**
 * Mirrors a tenant's events and rules onto an EventBridge bus. Every event carries the session's tenant
 * context in detail.tenant_context and every rule's pattern is pinned to the session's tenant, so a
 * tenant's rule only ever matches that tenant's events, whatever pattern it asks for.
 */
export class EventBridgeBus implements EventBus {
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: EventBridgeBusOptions,
  ) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.retryDelayMs = options.retryDelayMs ?? 100;
  }

  async publish(session: TenantSession, events: EventEnvelope[]): Promise<void> {
    assertSession(session);
    const entries = events.map((event) => this.entry(session, event));
    for (const batch of batches(entries)) await this.putWithRetries(batch);
  }

  async putRule(session: TenantSession, rule: RuleRecord): Promise<void> {
    assertSession(session);
    const name = eventBridgeRuleName(session.tenantId, rule.name);
    const pattern = tenantScopedPattern(rule.pattern, session.tenantId);
    await this.send('PutRule', () =>
      this.client.send(
        new PutRuleCommand({
          Name: name,
          EventBusName: this.options.eventBusName,
          EventPattern: JSON.stringify(pattern),
          State: rule.enabled ? 'ENABLED' : 'DISABLED',
          Description: rule.description,
        }),
      ),
    );
    if (!this.options.ruleTargetArn) return;
    const target: Target = { Id: FANOUT_TARGET_ID, Arn: this.options.ruleTargetArn };
    if (this.options.ruleTargetRoleArn) target.RoleArn = this.options.ruleTargetRoleArn;
    const result = await this.send('PutTargets', () =>
      this.client.send(new PutTargetsCommand({ Rule: name, EventBusName: this.options.eventBusName, Targets: [target] })),
    );
    if (result.FailedEntryCount) {
      const failure = result.FailedEntries?.[0];
      throw new MeshError('unavailable', `EventBridge PutTargets refused the target of rule ${name}: ${failure?.ErrorCode ?? 'unknown'} ${failure?.ErrorMessage ?? ''}`.trim());
    }
  }

  async deleteRule(session: TenantSession, name: string): Promise<void> {
    assertSession(session);
    const ruleName = eventBridgeRuleName(session.tenantId, name);
    const bus = this.options.eventBusName;
    // Every target, not just ours: a rule with targets cannot be deleted, and the configuration may have changed.
    const ids: string[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListTargetsByRuleCommand({ Rule: ruleName, EventBusName: bus, NextToken: nextToken }));
        for (const target of page.Targets ?? []) if (target.Id) ids.push(target.Id);
        nextToken = page.NextToken;
      } while (nextToken);
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return;
      throw this.toMeshError('ListTargetsByRule', error);
    }
    for (let i = 0; i < ids.length; i += 100) {
      await this.send('RemoveTargets', () => this.client.send(new RemoveTargetsCommand({ Rule: ruleName, EventBusName: bus, Ids: ids.slice(i, i + 100) })));
    }
    await this.send('DeleteRule', () => this.client.send(new DeleteRuleCommand({ Name: ruleName, EventBusName: bus })));
  }

  /** The entry for one envelope, its tenant context overwritten from the session. */
  private entry(session: TenantSession, event: EventEnvelope): PutEventsRequestEntry {
    const detail = {
      ...event.detail,
      [TENANT_CONTEXT_FIELD]: { tenant_id: session.tenantId, user_id: session.userId, context_type: session.contextType },
    };
    const time = Date.parse(event.time);
    const entry: PutEventsRequestEntry = {
      EventBusName: this.options.eventBusName,
      Source: event.source,
      DetailType: event['detail-type'],
      Detail: JSON.stringify(detail),
      Resources: event.resources,
    };
    if (!Number.isNaN(time)) entry.Time = new Date(time);
    if (entrySize(entry) > MAX_PUT_BYTES) throw invalidArgument('detail', `the event is over EventBridge's limit of ${MAX_PUT_BYTES} bytes (256 KB)`);
    return entry;
  }

  /** PutEvents, then again for the entries EventBridge failed (only those: the others are on the bus). */
  private async putWithRetries(entries: PutEventsRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 1; ; attempt++) {
      const result = await this.send('PutEvents', () => this.client.send(new PutEventsCommand({ Entries: pending })));
      if (!result.FailedEntryCount) return;
      const failures = pending.flatMap((entry, i) => {
        const outcome = result.Entries?.[i];
        // A reply without a per-entry outcome cannot say which entries landed: treat the entry as failed.
        return outcome?.EventId && !outcome.ErrorCode ? [] : [{ entry, code: outcome?.ErrorCode ?? 'Unknown', message: outcome?.ErrorMessage ?? '' }];
      });
      if (failures.length === 0) return;
      const first = failures[0]!;
      const summary = `EventBridge failed ${failures.length} of ${pending.length} events on bus ${this.options.eventBusName} (${first.code}${first.message ? `: ${first.message}` : ''})`;
      if (!failures.every((failure) => RETRYABLE_ENTRY_ERROR.test(failure.code))) throw new MeshError('internal', summary);
      if (attempt >= this.maxAttempts) {
        throw new MeshError('unavailable', `${summary} after ${attempt} tries; retry later`, {}, { retryable: true });
      }
      await sleep(this.retryDelayMs * 2 ** (attempt - 1));
      pending = failures.map((failure) => failure.entry);
    }
  }

  private async send<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.toMeshError(action, error);
    }
  }

  private toMeshError(action: string, error: unknown): MeshError {
    if (error instanceof MeshError) return error;
    const name = errorName(error);
    const message = error instanceof Error ? error.message : String(error);
    if (name === 'InvalidEventPatternException') return invalidArgument('event_pattern', `EventBridge refused the pattern: ${message}`);
    if (name === 'ResourceNotFoundException') {
      return new MeshError('unavailable', `EventBridge ${action}: ${message} (is AGENT_MESH_EVENT_BUS "${this.options.eventBusName}" created?)`);
    }
    return new MeshError('unavailable', `EventBridge ${action} failed: ${name}: ${message}`, {}, { retryable: true });
  }
}

const RETRYABLE_ENTRY_ERROR = /Throttl|Internal|Unavailable|Timeout/i;

const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'Error');

/** Groups entries into PutEvents requests: at most 10 entries and 256 KB each. */
function batches(entries: PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const result: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (current.length === MAX_ENTRIES_PER_PUT || (current.length > 0 && bytes + size > MAX_PUT_BYTES)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}

/** An entry's size as EventBridge counts it against the 256 KB request limit. */
function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return (
    (entry.Time ? 14 : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

/**
 * The EventBridge rule name for a tenant's rule: `agent-mesh-<tenant>-<rule>` when that is unambiguous
 * (the tenant id has no "-", so the first "-" ends it) and fits 64 characters; otherwise
 * `agent-mesh--<readable part>-<16 hex of SHA-256 of both>`. A tenant id starts with a letter or digit,
 * so the two forms never meet, and distinct (tenant, rule) pairs never share a name.
 */
export function eventBridgeRuleName(tenantId: string, ruleName: string): string {
  const plain = `${RULE_PREFIX}${tenantId}-${ruleName}`;
  if (/^[A-Za-z0-9][A-Za-z0-9._]*$/.test(tenantId) && /^[A-Za-z0-9._-]+$/.test(ruleName) && plain.length <= MAX_RULE_NAME) return plain;
  const hash = createHash('sha256').update(JSON.stringify([tenantId, ruleName])).digest('hex').slice(0, 16);
  const room = MAX_RULE_NAME - RULE_PREFIX.length - 1 - 1 - hash.length;
  const readable = `${tenantId}-${ruleName}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, room);
  return `${RULE_PREFIX}-${readable}-${hash}`;
}

type PatternObject = Record<string, unknown>;

const isObject = (value: unknown): value is PatternObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The rule's pattern with `detail.tenant_context.tenant_id` pinned to the tenant. Any condition the
 * pattern already puts on that field (nested, as a dotted key, or inside `$or`) is replaced rather than
 * joined, since a later condition on the same field would override ours; then ours is added at the top,
 * where it is ANDed with every alternative.
 */
export function tenantScopedPattern(patternJson: string, tenantId: string): PatternObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(patternJson);
  } catch {
    throw invalidArgument('event_pattern', 'is not valid JSON');
  }
  if (!isObject(parsed)) throw invalidArgument('event_pattern', 'must be a JSON object');
  const scoped = replaceTenantConditions(parsed, [], tenantId);
  pinTenant(scoped, tenantId);
  return scoped;
}

function replaceTenantConditions(node: PatternObject, path: readonly string[], tenantId: string): PatternObject {
  const result: PatternObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$or' && Array.isArray(value) && value.every(isObject)) {
      result[key] = value.map((alternative) => replaceTenantConditions(alternative, path, tenantId));
      continue;
    }
    const keyPath = [...path, ...key.split('.')];
    if (samePath(keyPath, TENANT_PATH)) result[key] = [tenantId];
    else if (keyPath.length < TENANT_PATH.length && samePath(keyPath, TENANT_PATH.slice(0, keyPath.length)) && isObject(value)) {
      result[key] = replaceTenantConditions(value, keyPath, tenantId);
    } else result[key] = value;
  }
  return result;
}

/** Adds the tenant condition, nested where the pattern has objects on the way, else as a dotted key. */
function pinTenant(pattern: PatternObject, tenantId: string): void {
  let node = pattern;
  for (let i = 0; i < TENANT_PATH.length - 1; i++) {
    const segment = TENANT_PATH[i]!;
    const next = node[segment];
    if (next === undefined) node[segment] = {};
    else if (!isObject(next)) {
      // A leaf condition sits on the way (e.g. "detail": [...]): keep it and name the rest of the path in one key.
      node[TENANT_PATH.slice(i).join('.')] = [tenantId];
      return;
    }
    node = node[segment] as PatternObject;
  }
  node[TENANT_PATH[TENANT_PATH.length - 1]!] = [tenantId];
}

const samePath = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((segment, i) => segment === b[i]);
