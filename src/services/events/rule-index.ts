import { compilePattern, PatternIndex } from '../../engine/patterns/index.js';
import type { Logger } from '../../logging.js';
import type { AlertRecord, EventStore, RuleRecord } from '../../ports/event-store.js';
import type { TenantSession } from '../../tenancy/session.js';

export type Subscription = { kind: 'rule'; rule: RuleRecord } | { kind: 'alert'; alert: AlertRecord };

export interface TenantRules {
  revision: number;
  index: PatternIndex<Subscription>;
  alerts: Map<string, AlertRecord>;
}

const MAX_TENANTS_CACHED = 1000;

/**
 * Compiled rules and alerts per tenant. Each lookup asks the store for the tenant's rules revision (one
 * indexed read), so a rule another process created applies to the very next event here too.
 */
export class RuleIndexCache {
  private readonly tenants = new Map<string, TenantRules>();

  constructor(
    private readonly store: EventStore,
    private readonly logger: Logger,
  ) {}

  async forTenant(session: TenantSession): Promise<TenantRules> {
    const revision = await this.store.rulesRevision(session);
    const cached = this.tenants.get(session.tenantId);
    if (cached && cached.revision === revision) {
      this.tenants.delete(session.tenantId); // keep recently used tenants last, for eviction
      this.tenants.set(session.tenantId, cached);
      return cached;
    }
    const built = await this.build(session, revision);
    if (this.tenants.size >= MAX_TENANTS_CACHED) this.tenants.delete(this.tenants.keys().next().value!);
    this.tenants.set(session.tenantId, built);
    return built;
  }

  private async build(session: TenantSession, revision: number): Promise<TenantRules> {
    const [rules, alerts] = await Promise.all([this.store.listRules(session), this.store.listAlerts(session)]);
    const index = new PatternIndex<Subscription>();
    for (const rule of rules) {
      if (!rule.enabled) continue;
      this.add(index, `rule:${rule.name}`, rule.pattern, { kind: 'rule', rule });
    }
    for (const alert of alerts) this.add(index, `alert:${alert.name}`, alert.pattern, { kind: 'alert', alert });
    return { revision, index, alerts: new Map(alerts.map((alert) => [alert.name, alert])) };
  }

  private add(index: PatternIndex<Subscription>, id: string, pattern: string, value: Subscription): void {
    try {
      index.add(id, compilePattern(pattern), value);
    } catch (error) {
      // Stored patterns were valid when written; one that no longer compiles must not stop the others.
      this.logger.error({ err: error, id }, 'stored event pattern does not compile; skipped');
    }
  }
}
