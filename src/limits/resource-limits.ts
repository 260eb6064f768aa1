/** Per-tenant quotas. Going over one gives quota_exceeded and writes nothing. */
export interface ResourceLimits {
  /** Largest KV value, as UTF-8 JSON bytes. */
  maxValueBytes: number;
  /** Most live (unexpired) KV keys per tenant. */
  maxKeys: number;
  /** Largest single artifact, in bytes. */
  maxArtifactBytes: number;
  /** Sum of the sizes of all of a tenant's artifacts, in bytes. */
  maxTotalArtifactBytes: number;
  /** Most event rules per tenant. */
  maxRules: number;
  /** Most alerts per tenant. */
  maxAlerts: number;
  /** Most registered MCP integrations per tenant. */
  maxIntegrations: number;
  /** Most workflow executions running at once per tenant. */
  maxConcurrentExecutions: number;
  /** Most state transitions (history events) per execution; a runaway loop fails past it. */
  maxTransitionsPerExecution: number;
}

export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = {
  maxValueBytes: 400 * 1024,
  maxKeys: 100_000,
  maxArtifactBytes: 10 * 1024 * 1024,
  maxTotalArtifactBytes: 1024 * 1024 * 1024,
  maxRules: 10_000,
  maxAlerts: 1_000,
  maxIntegrations: 100,
  maxConcurrentExecutions: 100,
  maxTransitionsPerExecution: 25_000,
};
