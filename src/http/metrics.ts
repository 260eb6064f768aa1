import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Tenants beyond this many share one label, so a flood of tenants cannot explode the series count. */
export const MAX_TENANT_LABELS = 50;
/** Tenant ids start with a letter or digit, so no tenant's own label can be this one. */
export const OTHER_TENANTS_LABEL = '_other';

/** Prometheus metrics for /metrics: tool calls by tool and outcome, latency, rate-limit rejections, sessions. */
export class Metrics {
  readonly registry = new Registry();
  private readonly tenants = new Set<string>();
  private readonly calls: Counter<'tool' | 'outcome' | 'tenant'>;
  private readonly latency: Histogram<'tool'>;
  private readonly rejections: Counter<'service' | 'tenant'>;

  constructor(openSessions: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: 'agent_mesh_' });
    this.calls = new Counter({ name: 'agent_mesh_tool_calls_total', help: 'Tool calls by tool, outcome ("ok" or error code) and tenant.', labelNames: ['tool', 'outcome', 'tenant'], registers: [this.registry] });
    this.latency = new Histogram({
      name: 'agent_mesh_tool_call_duration_seconds',
      help: 'Tool call latency inside the server.',
      labelNames: ['tool'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.rejections = new Counter({ name: 'agent_mesh_rate_limit_rejections_total', help: 'Calls refused by a rate limit.', labelNames: ['service', 'tenant'], registers: [this.registry] });
    new Gauge({
      name: 'agent_mesh_open_sessions',
      help: 'Open MCP sessions over HTTP.',
      registers: [this.registry],
      collect() {
        this.set(openSessions());
      },
    });
  }

  /** A tenant's own label while there are few; OTHER_TENANTS_LABEL once MAX_TENANT_LABELS are taken. */
  private tenantLabel(tenantId: string): string {
    if (this.tenants.has(tenantId)) return tenantId;
    if (this.tenants.size < MAX_TENANT_LABELS) {
      this.tenants.add(tenantId);
      return tenantId;
    }
    return OTHER_TENANTS_LABEL;
  }

  toolCall(tenantId: string, tool: string, outcome: string, ms: number): void {
    this.calls.inc({ tool, outcome, tenant: this.tenantLabel(tenantId) });
    this.latency.observe({ tool }, ms / 1000);
  }

  rateLimited(tenantId: string, service: string): void {
    this.rejections.inc({ service, tenant: this.tenantLabel(tenantId) });
  }
}
