import { z } from 'zod';
import type { JsonValue } from '../../services/kv-service.js';
import { MAX_TEXT_COPY_CHARS, defineTool, listText } from '../tool.js';
import { cursorArg, deletedResult, expiresAt, isoTime, version, keyArg, limitArg, nextCursor, prefixArg } from './common-schemas.js';

const versionArg = z.number().int().min(1);

export const kvGet = defineTool({
  name: 'kv_get',
  group: 'kv',
  permission: 'kv:read',
  rateLimit: 'dynamodb',
  title: 'Get a value',
  description: 'Read a value from the tenant\'s key-value store, with its version and expiry. Missing or expired keys give not_found.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ key: keyArg }),
  output: z.strictObject({
    key: z.string(),
    value: z.unknown().describe('The stored JSON value.'),
    version,
    expires_at: expiresAt,
    updated_at: isoTime,
  }),
  call: ({ session, services }, args) => services.kv.get(session, args.key),
  text: (result) => {
    const json = JSON.stringify(result.value);
    return json.length <= MAX_TEXT_COPY_CHARS ? json : `The value is ${json.length} characters of JSON; read it from structuredContent.value.`;
  },
});

export const kvSet = defineTool({
  name: 'kv_set',
  group: 'kv',
  permission: 'kv:write',
  rateLimit: 'dynamodb',
  title: 'Set a value',
  description:
    'Store any JSON value under a key, optionally expiring after ttl_seconds. Returns the new version. ' +
    'if_version writes only if the key is at that version, if_absent only if the key does not exist; otherwise conflict.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  input: z.strictObject({
    key: keyArg,
    value: z.unknown().describe('Any JSON value (object, array, string, number, boolean or null).'),
    ttl_seconds: z.number().int().min(1).max(315_360_000).optional().describe('Expire the key after this many seconds.'),
    if_version: versionArg.optional().describe('Compare-and-set: write only if the current version is this.'),
    if_absent: z.boolean().optional().describe('Write only if the key does not exist.'),
  }),
  output: z.strictObject({ key: z.string(), version, expires_at: expiresAt }),
  call: ({ session, services }, args) => services.kv.set(session, { ...args, value: args.value as JsonValue }),
  text: (result) => `stored ${JSON.stringify(result.key)} at version ${result.version}${result.expires_at ? `, expires ${result.expires_at}` : ''}`,
});

export const kvDelete = defineTool({
  name: 'kv_delete',
  group: 'kv',
  permission: 'kv:write',
  rateLimit: 'dynamodb',
  title: 'Delete a key',
  description: 'Delete a key. With if_version, only if the key is at that version (otherwise conflict, also when the key is missing). A missing key gives not_found.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ key: keyArg, if_version: versionArg.optional().describe('Delete only if the current version is this.') }),
  output: deletedResult,
  call: ({ session, services }, args) => services.kv.delete(session, args.key, args.if_version),
  text: (result) => `deleted ${JSON.stringify(result.key)}`,
});

export const kvList = defineTool({
  name: 'kv_list',
  group: 'kv',
  permission: 'kv:read',
  rateLimit: 'dynamodb',
  title: 'List keys',
  description: 'List the tenant\'s live keys in key order, with version and expiry, a page at a time.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ prefix: prefixArg, limit: limitArg, cursor: cursorArg }),
  output: z.strictObject({
    keys: z.array(z.strictObject({ key: z.string(), version, expires_at: expiresAt, updated_at: isoTime })),
    next_cursor: nextCursor,
  }),
  call: ({ session, services }, args) => services.kv.list(session, args),
  text: (result) => listText(result.keys.map((k) => `${k.key} (version ${k.version})`), result.next_cursor),
});

export const kvTools = [kvGet, kvSet, kvDelete, kvList];
