import type { TenantSession } from '../tenancy/session.js';
import type { EventEnvelope, RuleRecord } from './event-store.js';

/**
 * An external event bus that mirrors a tenant's events and rules (EventBridge on AWS), for fan-out to
 * consumers outside agent-mesh. Our own dispatcher still delivers alerts and starts workflows; a bus
 * never narrows what the tenant's rules match, only whose events they can see: the session's tenant's.
 */
export interface EventBus {
  /** Publishes the events with detail.tenant_context set from the session, whatever the caller put there. */
  publish(session: TenantSession, events: EventEnvelope[]): Promise<void>;
  /** Creates or replaces the rule; its pattern is joined with "detail.tenant_context.tenant_id is the session's tenant". */
  putRule(session: TenantSession, rule: RuleRecord): Promise<void>;
  /** Deletes the rule; deleting a missing rule is not an error. */
  deleteRule(session: TenantSession, name: string): Promise<void>;
}
