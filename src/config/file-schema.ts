import { z } from 'zod';
import { RATE_LIMITED_SERVICES } from '../limits/services.js';
import { isPermission } from '../tenancy/tool-groups.js';

const bucketRule = z.strictObject({
  capacity: z.number().int().positive(),
  refillPerSecond: z.number().positive(),
});

const rateLimits = z.partialRecord(z.enum(RATE_LIMITED_SERVICES), bucketRule);

const positiveInt = z.number().int().positive();
const limits = z.strictObject({
  maxValueBytes: positiveInt.optional(),
  maxKeys: positiveInt.optional(),
  maxArtifactBytes: positiveInt.optional(),
  maxTotalArtifactBytes: positiveInt.optional(),
  maxRules: positiveInt.optional(),
  maxAlerts: positiveInt.optional(),
  maxIntegrations: positiveInt.optional(),
  maxConcurrentExecutions: positiveInt.optional(),
  maxTransitionsPerExecution: positiveInt.optional(),
});

const permission = z.string().refine(isPermission, {
  message: 'not a permission: use "*", "<group>:*" or "<group>:read|write|admin" with group kv, artifacts, events, workflow, integration, mcp or admin',
});

const tenantPolicy = z.strictObject({
  permissions: z.array(permission).optional(),
  rateLimits: rateLimits.optional(),
  limits: limits.optional(),
});

export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The optional config file named by AGENT_MESH_CONFIG (JSON or YAML). Unknown keys are errors: they are usually typos. */
const eventsSettings = z.strictObject({
  /** Events are kept this many days after they were received. */
  retentionDays: z.number().positive().optional(),
  delivery: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(100).optional(),
      baseDelayMs: z.number().int().min(1).optional(),
      maxDelayMs: z.number().int().min(1).optional(),
      timeoutMs: z.number().int().min(1).optional(),
    })
    .optional(),
});

const networkSettings = z.strictObject({
  /** Loopback, private or link-local targets (IP, CIDR, host, host:port) that webhooks and upstreams may reach. */
  allow: z.array(z.string().min(1)).optional(),
});

const stdioCommand = z.union([
  z.string().min(1),
  z.strictObject({
    command: z.string().min(1),
    /** The arguments must be exactly these. */
    args: z.array(z.string()).optional(),
    /** The arguments must start with these. */
    argsPrefix: z.array(z.string()).optional(),
  }),
]);

const integrationSettings = z.strictObject({
  /** Commands tenants may register as stdio integrations: a command (any arguments) or {command, args | argsPrefix}. */
  stdioCommands: z.array(stdioCommand).optional(),
  connectTimeoutMs: z.number().int().min(1).optional(),
  callTimeoutMs: z.number().int().min(1).optional(),
  circuitBreaker: z
    .strictObject({ failureThreshold: z.number().int().min(1).optional(), openMs: z.number().int().min(1).optional() })
    .optional(),
  /** Also list connected integrations' tools as first-class tools named <integration>__<tool>. */
  exposeTools: z.boolean().optional(),
});

export const configFileSchema = z.strictObject({
  defaults: tenantPolicy.optional(),
  /** JWT bearer tokens for `agent-mesh serve` (checked by checkJwtSettings, which names the field at fault). */
  jwt: z.unknown().optional(),
  integrations: integrationSettings.optional(),
  events: eventsSettings.optional(),
  network: networkSettings.optional(),
  tenants: z
    .record(
      z.string().regex(TENANT_ID_PATTERN, 'tenant ids are 1-64 letters, digits, "_", "." or "-", starting with a letter or digit'),
      tenantPolicy,
    )
    .optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
export type StdioCommandRule = z.infer<typeof stdioCommand>;
export type TenantPolicyInput = z.infer<typeof tenantPolicy>;
