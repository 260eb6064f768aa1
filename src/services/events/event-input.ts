import { invalidArgument } from '../../errors.js';

/** EventBridge refuses entries over 256 KB. */
export const MAX_DETAIL_BYTES = 256 * 1024;
export const TENANT_CONTEXT_FIELD = 'tenant_context';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO 8601 time (e.g. 2026-05-01T12:00:00Z) as epoch ms, or an error naming the field. */
export function parseTime(value: string, field: string): number {
  const ms = ISO_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw invalidArgument(field, `"${value}" is not an ISO 8601 time like 2026-05-01T12:00:00Z`);
  return ms;
}

/** EventBridge writes event times to the second, in UTC. */
export const eventBridgeTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The sources of agent-mesh's own events (agent-mesh.workflows): only the server sends them, so rules can trust them. */
export const SERVER_SOURCE_PREFIX = 'agent-mesh.';

export function validateSource(source: string, sentByServer = false): string {
  if (source.length === 0 || source.length > 256) throw invalidArgument('source', 'must be 1-256 characters');
  if (/\p{Cc}/u.test(source)) throw invalidArgument('source', 'contains a control character');
  if (source.startsWith('aws.')) throw invalidArgument('source', 'sources starting with "aws." are reserved for AWS services');
  if (!sentByServer && source.startsWith(SERVER_SOURCE_PREFIX)) {
    throw invalidArgument('source', `sources starting with "${SERVER_SOURCE_PREFIX}" are reserved for agent-mesh's own events`);
  }
  return source;
}

export function validateDetailType(detailType: string): string {
  if (detailType.length === 0 || detailType.length > 128) throw invalidArgument('detail_type', 'must be 1-128 characters');
  if (/\p{Cc}/u.test(detailType)) throw invalidArgument('detail_type', 'contains a control character');
  return detailType;
}

export function validateResources(resources: string[] | undefined): string[] {
  if (!resources) return [];
  if (resources.length > 100) throw invalidArgument('resources', 'at most 100 resources');
  resources.forEach((resource, i) => {
    if (resource.length === 0 || resource.length > 2048) throw invalidArgument(`resources.${i}`, 'must be 1-2048 characters');
  });
  return resources;
}

/** Rule and alert names, as EventBridge allows for rule names. */
export function validateName(name: string, field = 'name'): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw invalidArgument(field, 'must be 1-64 letters, digits, ".", "_" or "-"');
  return name;
}
