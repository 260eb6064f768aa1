import { invalidArgument, notFound } from '../../errors.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { EventStore, RuleRecord, RuleTarget } from '../../ports/event-store.js';
import { requirePermission } from '../../tenancy/permissions.js';
import { principalOf } from '../../tenancy/principal.js';
import type { TenantSession } from '../../tenancy/session.js';
import { decodeCursor, encodeCursor } from '../keys.js';
import { toIso } from '../time.js';
import { validateName } from './event-input.js';
import { compileInputPattern } from './pattern-input.js';

export type TargetInput = { alert: string } | { workflow: string; input?: unknown };

export interface CreateRuleInput {
  name: string;
  event_pattern: unknown;
  targets: TargetInput[];
  description?: string;
  enabled?: boolean;
}

/** Whether a workflow of this name exists; until workflows land, none does. */
export type WorkflowLookup = (session: TenantSession, name: string) => Promise<boolean>;

const describe = (rule: RuleRecord) => ({
  name: rule.name,
  event_pattern: JSON.parse(rule.pattern) as Record<string, unknown>,
  targets: rule.targets.map((t) => (t.type === 'alert' ? { alert: t.name } : { workflow: t.name, ...(t.input !== undefined && { input: t.input }) })),
  description: rule.description,
  enabled: rule.enabled,
  created_at: toIso(rule.createdAt)!,
  updated_at: toIso(rule.updatedAt)!,
});

/** events_create_rule / list / delete: rules match a tenant's events and start their targets. */
export class RuleService {
  constructor(
    private readonly store: EventStore,
    private readonly limiter: RateLimiter,
    private readonly workflowExists: WorkflowLookup | undefined,
    /** An external bus the rules are mirrored to (EventBridge on AWS). */
    private readonly bus?: EventBus,
    private readonly now: () => number = Date.now,
  ) {}

  async create(session: TenantSession, input: CreateRuleInput) {
    requirePermission(session, 'events:write');
    // A workflow target starts executions as the rule's creator: only one who may start workflows may set one.
    if (input.targets.some((target) => 'workflow' in target)) requirePermission(session, 'workflow:write');
    const name = validateName(input.name);
    const { json } = compileInputPattern(input.event_pattern, 'event_pattern');
    if ((input.description ?? '').length > 512) throw invalidArgument('description', 'at most 512 characters');
    if (input.targets.length > 5) throw invalidArgument('targets', 'at most 5 targets per rule (as on EventBridge)');
    await this.limiter.acquire(session, 'eventbridge');
    const targets = await this.resolveTargets(session, input.targets);
    const now = this.now();
    const rule: RuleRecord = {
      name,
      pattern: json,
      targets,
      description: input.description ?? '',
      enabled: input.enabled ?? true,
      createdAt: now,
      updatedAt: now,
      createdBy: principalOf(session),
    };
    const previous = this.bus ? (await this.store.listRules(session)).find((r) => r.name === name) : undefined;
    const { created } = await this.store.putRule(session, rule);
    if (this.bus) await this.mirrorOrUndo(session, rule, created ? undefined : previous);
    return { ...describe(rule), created };
  }

  /** A rule the bus refused is taken back out of the store (or the one it replaced is put back). */
  private async mirrorOrUndo(session: TenantSession, rule: RuleRecord, previous: RuleRecord | undefined): Promise<void> {
    try {
      await this.bus!.putRule(session, rule);
    } catch (error) {
      if (previous) await this.store.putRule(session, previous);
      else await this.store.deleteRule(session, rule.name);
      throw error;
    }
  }

  private async resolveTargets(session: TenantSession, inputs: TargetInput[]): Promise<RuleTarget[]> {
    const alerts = new Set((await this.store.listAlerts(session)).map((alert) => alert.name));
    const targets: RuleTarget[] = [];
    for (const [i, target] of inputs.entries()) {
      if ('alert' in target) {
        if (!alerts.has(target.alert)) throw invalidArgument(`targets.${i}.alert`, `no alert named "${target.alert}" (create it with events_create_alert)`);
        targets.push({ type: 'alert', name: target.alert });
        continue;
      }
      if (!this.workflowExists) {
        throw invalidArgument(`targets.${i}.workflow`, 'workflow targets need durable workflows, which this server does not offer yet');
      }
      if (!(await this.workflowExists(session, target.workflow))) throw invalidArgument(`targets.${i}.workflow`, `no workflow named "${target.workflow}"`);
      targets.push({ type: 'workflow', name: target.workflow, ...(target.input !== undefined && { input: target.input }) });
    }
    return targets;
  }

  async list(session: TenantSession, input: { limit?: number; cursor?: string }) {
    requirePermission(session, 'events:read');
    await this.limiter.acquire(session, 'eventbridge');
    const after = decodeCursor(input.cursor) ?? '';
    const limit = input.limit ?? 100;
    const rules = (await this.store.listRules(session)).filter((rule) => rule.name > after);
    const page = rules.slice(0, limit);
    const next = rules.length > limit ? encodeCursor(page[page.length - 1]!.name) : null;
    return { rules: page.map(describe), next_cursor: next };
  }

  async delete(session: TenantSession, rawName: string) {
    requirePermission(session, 'events:write');
    const name = validateName(rawName);
    await this.limiter.acquire(session, 'eventbridge');
    // The bus first: its delete is idempotent, so a failure after it leaves a rule that a retry removes.
    if (this.bus) {
      if (!(await this.store.listRules(session)).some((rule) => rule.name === name)) throw notFound(`rule "${name}" not found`);
      await this.bus.deleteRule(session, name);
    }
    if (!(await this.store.deleteRule(session, name))) throw notFound(`rule "${name}" not found`);
    return { name, deleted: true as const };
  }
}
