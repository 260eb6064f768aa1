import { z } from 'zod';
import { MAX_READ_BYTES } from '../../services/artifact-service.js';
import { MAX_TEXT_COPY_CHARS, defineTool, listText } from '../tool.js';
import { cursorArg, deletedResult, isoTime, version, keyArg, limitArg, nextCursor, prefixArg } from './common-schemas.js';

const artifactInfo = {
  key: z.string(),
  size: z.number().int().describe('Bytes.'),
  sha256: z.string().describe('SHA-256 of the content, hex.'),
  content_type: z.string(),
  metadata: z.record(z.string(), z.string()),
  version,
  updated_at: isoTime,
};

export const artifactsPut = defineTool({
  name: 'artifacts_put',
  group: 'artifacts',
  permission: 'artifacts:write',
  rateLimit: 's3',
  title: 'Store an artifact',
  description:
    'Store a file-like artifact: text as content, or binary as content_base64. Replaces any artifact under the key atomically. ' +
    'content_type defaults from the key\'s extension. Also readable as the resource artifact://{key}.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({
    key: keyArg,
    content: z.string().optional().describe('Text content (stored as UTF-8).'),
    content_base64: z.string().optional().describe('Binary content, base64-encoded.'),
    content_type: z.string().optional().describe('Media type, e.g. "text/markdown" or "image/png".'),
    metadata: z.record(z.string(), z.string()).optional().describe('String metadata, at most 2 KB in all (as on S3).'),
  }),
  output: z.strictObject(artifactInfo),
  call: ({ session, services }, args) => services.artifacts.put(session, args),
  text: (result) => `stored artifact ${JSON.stringify(result.key)}: ${result.size} bytes, ${result.content_type}, version ${result.version}, sha256 ${result.sha256}`,
});

export const artifactsGet = defineTool({
  name: 'artifacts_get',
  group: 'artifacts',
  permission: 'artifacts:read',
  rateLimit: 's3',
  title: 'Read an artifact',
  description:
    'Read an artifact with its metadata: text content for textual types, content_base64 otherwise. ' +
    `One call returns at most ${MAX_READ_BYTES} bytes: for a larger artifact, call again with offset = next_offset until next_offset is null.`,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({
    key: keyArg,
    offset: z.number().int().min(0).optional().describe('First byte to return (default 0): the next_offset of the previous call.'),
    length: z.number().int().min(1).max(MAX_READ_BYTES).optional().describe(`Most bytes to return (default and maximum ${MAX_READ_BYTES}).`),
  }),
  output: z.strictObject({
    ...artifactInfo,
    offset: z.number().int().describe('First byte of this answer.'),
    length: z.number().int().describe('Bytes in this answer.'),
    next_offset: z.number().int().nullable().describe('Where the rest starts (pass it as offset), or null when this answer reaches the end.'),
    encoding: z.enum(['utf8', 'base64']),
    content: z.string().optional(),
    content_base64: z.string().optional(),
  }),
  call: ({ session, services }, args) => services.artifacts.get(session, args),
  // The content once, as text when it is text: a second copy could double a large artifact's message.
  text: (result) => {
    const about = `artifact ${result.key}: ${result.size} bytes, ${result.content_type}, version ${result.version}, sha256 ${result.sha256}`;
    const rest =
      result.next_offset === null ? '' : ` This is bytes ${result.offset}-${result.offset + result.length - 1}; call again with offset ${result.next_offset} for the rest.`;
    if (result.content === undefined) return `${about}; binary content is in structuredContent.content_base64.${rest}`;
    return result.content.length <= MAX_TEXT_COPY_CHARS && rest === '' ? result.content : `${about}; the text is in structuredContent.content.${rest}`;
  },
});

export const artifactsList = defineTool({
  name: 'artifacts_list',
  group: 'artifacts',
  permission: 'artifacts:read',
  rateLimit: 's3',
  title: 'List artifacts',
  description: 'List the tenant\'s artifacts in key order, optionally under a prefix, a page at a time.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ prefix: prefixArg, limit: limitArg, cursor: cursorArg }),
  output: z.strictObject({ artifacts: z.array(z.strictObject(artifactInfo)), next_cursor: nextCursor }),
  call: ({ session, services }, args) => services.artifacts.list(session, args),
  text: (result) => listText(result.artifacts.map((a) => `${a.key} (${a.size} bytes, ${a.content_type})`), result.next_cursor),
});

export const artifactsDelete = defineTool({
  name: 'artifacts_delete',
  group: 'artifacts',
  permission: 'artifacts:write',
  rateLimit: 's3',
  title: 'Delete an artifact',
  description: 'Delete an artifact. Missing artifacts give not_found.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ key: keyArg }),
  output: deletedResult,
  call: ({ session, services }, args) => services.artifacts.delete(session, args.key),
  text: (result) => `deleted artifact ${JSON.stringify(result.key)}`,
});

export const artifactTools = [artifactsPut, artifactsGet, artifactsList, artifactsDelete];
