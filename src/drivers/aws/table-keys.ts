import { assertSession, type TenantSession } from '../../tenancy/session.js';

/**
 * The one place the AWS drivers turn a session into physical names.
 *
 * One DynamoDB table (AGENT_MESH_KV_TABLE) holds everything but artifact bodies:
 *   pk  "T#<tenant>"                          every item of a tenant: listing is a Query on one partition
 *   sk  "<KIND>#<key>"                        kind first, so begins_with(sk, "KV#<prefix>") lists a prefix
 * System items (tenants, API keys) live under pk "SYS#…". Cross-tenant maintenance (due deliveries,
 * runnable executions, expiring keys) reads the sparse index GSI1 (gsi1pk, gsi1sk), never a Scan.
 * `ttl` (epoch seconds) lets DynamoDB delete expired items; readers still filter, since it deletes late.
 *
 * Tenant ids are validated by the auth layer (letters, digits, `_.-`), so they cannot contain "#".
 */
export const TABLE_ATTRIBUTES = { pk: 'pk', sk: 'sk', gsi1pk: 'gsi1pk', gsi1sk: 'gsi1sk', ttl: 'ttl' } as const;
export const GSI1 = 'gsi1';

export function tenantPk(session: TenantSession): string {
  assertSession(session);
  return `T#${session.tenantId}`;
}

/** For system-level code that reads a tenant's items by id (deliveries, executions): never from client input. */
export const tenantPkOf = (tenantId: string): string => `T#${tenantId}`;
export const tenantIdOfPk = (pk: string): string => pk.slice(2);

export const SYSTEM_PK = { tenants: 'SYS#TENANTS', apiKeys: 'SYS#KEYS' } as const;

/** Sort-key kinds. A key in a kind is exactly the client's key (validated, NFC) after the "#". */
export const KIND = {
  kv: 'KV#',
  artifact: 'ART#',
  usage: 'USAGE',
  integration: 'INT#',
  rule: 'RULE#',
  alert: 'ALERT#',
  rulesRevision: 'RULESREV',
  event: 'EV#',
  delivery: 'DLV#',
  attempt: 'ATT#',
  workflow: 'WF#',
  execution: 'EX#',
  executionByStart: 'EXS#',
  history: 'EXH#',
  audit: 'AUD#',
} as const;

/** GSI1 partitions for cross-tenant maintenance (sparse: only items that need the work carry them). */
export const GSI1_PK = { dueDeliveries: 'DUE', runnableExecutions: 'RUN', expiringKeys: 'EXP' } as const;

/** Fixed-width decimal, so numbers sort as strings (epoch ms fits in 15 digits for 30,000 years). */
export const pad = (n: number, width = 15): string => String(Math.max(0, Math.floor(n))).padStart(width, '0');

/** Epoch seconds for the table's TTL attribute. */
export const ttlSeconds = (epochMs: number): number => Math.ceil(epochMs / 1000);
