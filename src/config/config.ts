import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { isScalar, parseDocument, Scalar, visit } from 'yaml';
import type { z } from 'zod';
import { DEFAULT_RATE_LIMITS, RATE_LIMITED_SERVICES, type RateLimitRules } from '../limits/services.js';
import { DEFAULT_RESOURCE_LIMITS, type ResourceLimits } from '../limits/resource-limits.js';
import { TOOL_GROUPS, type Permission, type ToolGroup } from '../tenancy/tool-groups.js';
import { parseEgressAllowlist } from '../net/egress-policy.js';
import { parseKey } from '../secrets/secret-key.js';
import { checkJwtSettings, type JwtSettings } from '../tenancy/auth/jwt.js';
import { issueText, valueAt } from './issue-text.js';
import { configFileSchema, TENANT_ID_PATTERN, type ConfigFile, type StdioCommandRule, type TenantPolicyInput } from './file-schema.js';

export const CONTEXT_TYPES = ['user', 'agent', 'service', 'workflow'] as const;
export type ContextType = (typeof CONTEXT_TYPES)[number];

/** What a tenant may do and how much: the merge of the config file's defaults and its own entry. */
export interface TenantPolicy {
  permissions: readonly Permission[];
  rateLimits: RateLimitRules;
  limits: ResourceLimits;
}

export interface Config {
  dataDir: string;
  logLevel: string;
  /** Tool groups served; AGENT_MESH_TOOLS narrows it. */
  enabledToolGroups: ReadonlySet<ToolGroup>;
  /** The identity of a stdio process. */
  stdio: { tenantId: string; userId: string; contextType: ContextType };
  /** AGENT_MESH_BACKEND: `local` (SQLite + files in dataDir) or `aws`. */
  backend: BackendKind;
  aws: AwsConfig;
  /** AGENT_MESH_REDIS_URL: rate limits shared by every instance on one Redis; else per process. */
  redisUrl: string | undefined;
  events: EventsConfig;
  /** Addresses outbound requests may reach although private (the config file's network.allow). */
  networkAllow: readonly string[];
  /** AGENT_MESH_SMTP_URL: email alerts are refused without it. */
  smtp: { url: string; from: string } | undefined;
  integrations: IntegrationsConfig;
  /** AGENT_MESH_SECRET_KEY, if set (32 bytes as base64 or hex); else a key file in the data folder is used. */
  secretKey: string | undefined;
  /** JWT bearer auth for HTTP serving, when the config file has a jwt section. */
  jwt: JwtSettings | undefined;
  policyFor(tenantId: string): TenantPolicy;
}

export const BACKEND_KINDS = ['local', 'aws'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export interface AwsConfig {
  region: string;
  kvTable: string;
  artifactsBucket: string;
  eventBus: string;
  /** The account written into event envelopes (AWS_ACCOUNT_ID). */
  account: string;
  /** Path-style S3 URLs: needed by most S3-compatible services; on when an S3 endpoint URL is set. */
  s3ForcePathStyle: boolean;
  /** An optional EventBridge target for every mirrored rule (e.g. an SQS queue or archive) and its role. */
  ruleTargetArn: string | undefined;
  ruleTargetRoleArn: string | undefined;
  /** AGENT_MESH_SFN_ROLE_ARN: the role state machines run as; with it, workflows run on Step Functions. */
  stepFunctionsRoleArn: string | undefined;
  /** The Step Functions activity that hands agent-mesh its Task states (AGENT_MESH_SFN_ACTIVITY). */
  activityName: string;
}

export interface EventsConfig {
  retentionDays: number;
  delivery: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number; timeoutMs: number };
}

export interface IntegrationsConfig {
  stdioCommands: readonly StdioCommandRule[];
  connectTimeoutMs: number;
  callTimeoutMs: number;
  circuitBreaker: { failureThreshold: number; openMs: number };
  exposeTools: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const file = env.AGENT_MESH_CONFIG ? readConfigFile(expandHome(env.AGENT_MESH_CONFIG)) : {};
  const tenantId = env.AGENT_MESH_TENANT_ID || 'default';
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    throw new ConfigError(
      `AGENT_MESH_TENANT_ID: "${tenantId}" is not a tenant id (1-64 letters, digits, "_", "." or "-", starting with a letter or digit)`,
    );
  }
  const userId = env.AGENT_MESH_USER_ID || 'local';
  if (userId.length > 128 || /\p{Cc}/u.test(userId)) {
    throw new ConfigError('AGENT_MESH_USER_ID: at most 128 characters, no control characters');
  }
  const contextType = (env.AGENT_MESH_CONTEXT_TYPE || 'user') as ContextType;
  if (!CONTEXT_TYPES.includes(contextType)) {
    throw new ConfigError(`AGENT_MESH_CONTEXT_TYPE: "${contextType}" is not one of ${CONTEXT_TYPES.join(', ')}`);
  }
  return {
    dataDir: resolve(expandHome(env.AGENT_MESH_DATA_DIR || join(homedir(), '.agent-mesh'))),
    logLevel: parseLogLevel(env.LOG_LEVEL),
    enabledToolGroups: parseToolGroups(env.AGENT_MESH_TOOLS),
    stdio: { tenantId, userId, contextType },
    backend: parseBackend(env.AGENT_MESH_BACKEND),
    aws: parseAws(env),
    redisUrl: env.AGENT_MESH_REDIS_URL ? checkRedisUrl(env.AGENT_MESH_REDIS_URL) : undefined,
    events: {
      retentionDays: file.events?.retentionDays ?? 30,
      delivery: {
        maxAttempts: file.events?.delivery?.maxAttempts ?? 6,
        baseDelayMs: file.events?.delivery?.baseDelayMs ?? 1000,
        maxDelayMs: file.events?.delivery?.maxDelayMs ?? 300_000,
        timeoutMs: file.events?.delivery?.timeoutMs ?? 10_000,
      },
    },
    networkAllow: checkAllowlist(file.network?.allow ?? [], env.AGENT_MESH_CONFIG ?? ''),
    smtp: env.AGENT_MESH_SMTP_URL ? { url: checkSmtpUrl(env.AGENT_MESH_SMTP_URL), from: env.AGENT_MESH_SMTP_FROM || 'agent-mesh@localhost' } : undefined,
    integrations: {
      stdioCommands: file.integrations?.stdioCommands ?? [],
      connectTimeoutMs: file.integrations?.connectTimeoutMs ?? 15_000,
      callTimeoutMs: file.integrations?.callTimeoutMs ?? 60_000,
      circuitBreaker: {
        failureThreshold: file.integrations?.circuitBreaker?.failureThreshold ?? 5,
        openMs: file.integrations?.circuitBreaker?.openMs ?? 30_000,
      },
      exposeTools: file.integrations?.exposeTools ?? false,
    },
    secretKey: env.AGENT_MESH_SECRET_KEY ? checkSecretKey(env.AGENT_MESH_SECRET_KEY) : undefined,
    jwt: file.jwt === undefined ? undefined : checkJwt(file.jwt, env.AGENT_MESH_CONFIG ?? ''),
    policyFor: policyResolver(file),
  };
}

/**
 * "~/…" as the home folder: MCP clients such as Claude Desktop pass `env` values as written, without a
 * shell to expand them, and "~/.agent-mesh" is what people write.
 */
function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/**
 * YAML with every map key kept as written: keys here are names (tenant ids such as `0042` or `1e3`), and
 * plain YAML would turn those into the numbers 42 and 1000, handing a tenant's policy to another tenant.
 */
function parseYaml(text: string): unknown {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw document.errors[0];
  visit(document, {
    Pair(_, pair) {
      if (isScalar(pair.key) && typeof pair.key.value !== 'string') pair.key = new Scalar(pair.key.source ?? String(pair.key.value));
    },
  });
  return document.toJS();
}

export function parseConfigText(text: string, source: string): ConfigFile {
  let raw: unknown;
  try {
    raw = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${source}: not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = configFileSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(`${source}: ${formatIssues(parsed.error.issues, raw ?? {})}`);
  return parsed.data;
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`AGENT_MESH_CONFIG: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseConfigText(text, path);
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}`
          : issue.code === 'invalid_key'
            ? (issue.issues[0]?.message ?? issue.message)
            : issueText(issue, valueAt(input, issue.path));
      return path ? `${path}: ${message}` : message;
    })
    .join('; ');
}

function checkAllowlist(entries: string[], source: string): string[] {
  try {
    parseEgressAllowlist(entries);
  } catch (error) {
    throw new ConfigError(`${source}: ${(error as Error).message}`);
  }
  return entries;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseLogLevel(raw: string | undefined): string {
  const level = (raw || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`LOG_LEVEL: "${raw}" is not one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

function parseBackend(raw: string | undefined): BackendKind {
  const backend = (raw || 'local').toLowerCase();
  if (!(BACKEND_KINDS as readonly string[]).includes(backend)) {
    throw new ConfigError(`AGENT_MESH_BACKEND: "${raw}" is not one of ${BACKEND_KINDS.join(', ')}`);
  }
  return backend as BackendKind;
}

function parseAws(env: Env): AwsConfig {
  const account = env.AWS_ACCOUNT_ID || '000000000000';
  if (!/^\d{12}$/.test(account)) throw new ConfigError(`AWS_ACCOUNT_ID: "${account}" is not a 12-digit account id`);
  const pathStyle = env.AGENT_MESH_S3_FORCE_PATH_STYLE;
  if (pathStyle !== undefined && pathStyle !== '' && !['true', 'false', '1', '0'].includes(pathStyle)) {
    throw new ConfigError('AGENT_MESH_S3_FORCE_PATH_STYLE: expected true or false');
  }
  const bucket = env.AGENT_MESH_ARTIFACTS_BUCKET || 'agent-mesh-artifacts';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(`AGENT_MESH_ARTIFACTS_BUCKET: "${bucket}" is not a valid S3 bucket name`);
  }
  const table = env.AGENT_MESH_KV_TABLE || 'agent-mesh-kv';
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) throw new ConfigError(`AGENT_MESH_KV_TABLE: "${table}" is not a valid DynamoDB table name`);
  const targetArn = env.AGENT_MESH_EVENTBRIDGE_TARGET_ARN || undefined;
  if (targetArn !== undefined && !targetArn.startsWith('arn:')) throw new ConfigError('AGENT_MESH_EVENTBRIDGE_TARGET_ARN: expected an ARN (arn:…)');
  return {
    region: env.AWS_REGION || 'us-west-2',
    kvTable: table,
    artifactsBucket: bucket,
    eventBus: env.AGENT_MESH_EVENT_BUS || 'agent-mesh-events',
    account,
    s3ForcePathStyle:
      pathStyle === undefined || pathStyle === '' ? Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) : pathStyle === 'true' || pathStyle === '1',
    ruleTargetArn: targetArn,
    ruleTargetRoleArn: env.AGENT_MESH_EVENTBRIDGE_TARGET_ROLE_ARN || undefined,
    stepFunctionsRoleArn: checkRoleArn(env.AGENT_MESH_SFN_ROLE_ARN),
    activityName: checkActivityName(env.AGENT_MESH_SFN_ACTIVITY || 'agent-mesh-tasks'),
  };
}

function checkRoleArn(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/.test(raw)) {
    throw new ConfigError(`AGENT_MESH_SFN_ROLE_ARN: "${raw}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
  }
  return raw;
}

function checkActivityName(raw: string): string {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(raw)) throw new ConfigError(`AGENT_MESH_SFN_ACTIVITY: "${raw}" is not a Step Functions activity name (1-80 letters, digits, "-", "_")`);
  return raw;
}

/** A URL of one of `protocols` with a host, or a ConfigError naming the variable and the expected form. */
function checkServiceUrl(variable: string, raw: string, protocols: readonly string[], expected: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || !protocols.includes(url.protocol) || !url.hostname) throw new ConfigError(`${variable}: expected ${expected}`);
  return raw;
}

const checkRedisUrl = (raw: string): string =>
  checkServiceUrl('AGENT_MESH_REDIS_URL', raw, ['redis:', 'rediss:'], 'redis://[user:password@]host[:port][/db] or rediss://…');

/** smtp://user:pass@host:port or smtps://…; the message never repeats the URL, which may hold a password. */
const checkSmtpUrl = (raw: string): string =>
  checkServiceUrl('AGENT_MESH_SMTP_URL', raw, ['smtp:', 'smtps:'], 'smtp://[user:password@]host[:port] or smtps://…');

function checkJwt(settings: unknown, source: string): JwtSettings {
  try {
    return checkJwtSettings(settings);
  } catch (error) {
    throw new ConfigError(`${source}: ${(error as Error).message}`);
  }
}

function checkSecretKey(value: string): string {
  try {
    parseKey(value, 'AGENT_MESH_SECRET_KEY');
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return value;
}

function parseToolGroups(value: string | undefined): ReadonlySet<ToolGroup> {
  if (!value || value.trim() === '' || value.trim() === '*') return new Set(TOOL_GROUPS);
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new ConfigError(`AGENT_MESH_TOOLS: names no tool group (known: ${TOOL_GROUPS.join(', ')}); leave it unset for all`);
  for (const name of names) {
    if (!(TOOL_GROUPS as readonly string[]).includes(name)) {
      throw new ConfigError(`AGENT_MESH_TOOLS: unknown tool group "${name}" (known: ${TOOL_GROUPS.join(', ')})`);
    }
  }
  return new Set(names as ToolGroup[]);
}

function policyResolver(file: ConfigFile): (tenantId: string) => TenantPolicy {
  const defaults = mergePolicy({ permissions: ['*'], rateLimits: DEFAULT_RATE_LIMITS, limits: DEFAULT_RESOURCE_LIMITS }, file.defaults);
  const cache = new Map<string, TenantPolicy>();
  return (tenantId) => {
    const own = file.tenants?.[tenantId];
    if (!own) return defaults;
    let policy = cache.get(tenantId);
    if (!policy) {
      policy = mergePolicy(defaults, own);
      cache.set(tenantId, policy);
    }
    return policy;
  };
}

function mergePolicy(base: TenantPolicy, over: TenantPolicyInput | undefined): TenantPolicy {
  if (!over) return base;
  const rateLimits = { ...base.rateLimits };
  for (const service of RATE_LIMITED_SERVICES) {
    const rule = over.rateLimits?.[service];
    if (rule) rateLimits[service] = rule;
  }
  return {
    permissions: (over.permissions as Permission[] | undefined) ?? base.permissions,
    rateLimits,
    limits: { ...base.limits, ...stripUndefined(over.limits ?? {}) },
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
