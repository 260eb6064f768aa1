import { createHash } from 'node:crypto';
import { invalidArgument, notFound, quotaExceeded } from '../errors.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { ArtifactMeta, ArtifactStore } from '../ports/artifact-store.js';
import { requirePermission } from '../tenancy/permissions.js';
import type { TenantSession } from '../tenancy/session.js';
import { guessContentType, isTextual, isValidContentType, sendableTextOf } from './content-types.js';
import { DEFAULT_PAGE_SIZE } from './kv-service.js';
import { decodeCursor, encodeCursor, validateKey, validatePrefix } from './keys.js';
import { toIso } from './time.js';

export interface ArtifactPutInput {
  key: string;
  content?: string;
  content_base64?: string;
  content_type?: string;
  metadata?: Record<string, string>;
}

export interface ArtifactGetInput {
  key: string;
  offset?: number;
  length?: number;
}

/**
 * The most bytes one artifacts_get answers. As base64 (4/3 larger) it stays well under the 10 MiB line an
 * SDK stdio client accepts; a client that gets more closes the connection. Larger artifacts are read in
 * parts, following next_offset.
 */
export const MAX_READ_BYTES = 4 * 1024 * 1024;
/** `end` moved back to the start of a UTF-8 character, so a text part never splits one (unless it is one). */
function characterBoundary(body: Buffer, start: number, end: number): number {
  let boundary = end;
  while (boundary > start && end - boundary < 3 && (body[boundary]! & 0xc0) === 0x80) boundary--;
  return boundary > start && (body[boundary]! & 0xc0) !== 0x80 ? boundary : end;
}

/** S3's own limits on user metadata, so artifacts move to the AWS backend unchanged. */
const METADATA_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MAX_METADATA_BYTES = 2048;
// Linear-time checks: a backtracking pattern over megabytes of base64 overflows the regex stack.
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;

const describe = (meta: ArtifactMeta) => ({
  key: meta.key,
  size: meta.size,
  sha256: meta.sha256,
  content_type: meta.contentType,
  metadata: meta.metadata,
  version: meta.version,
  updated_at: toIso(meta.updatedAt)!,
});

/** The rules of the artifacts tool group: permission, validation, rate limit (service `s3`), quotas. */
export class ArtifactService {
  constructor(
    private readonly store: ArtifactStore,
    private readonly limiter: RateLimiter,
  ) {}

  async put(session: TenantSession, input: ArtifactPutInput) {
    requirePermission(session, 'artifacts:write');
    const key = validateKey(input.key);
    const body = decodeBody(input);
    const contentType = input.content_type ?? guessContentType(key, input.content !== undefined);
    if (!isValidContentType(contentType)) throw invalidArgument('content_type', `"${contentType}" is not a media type like "text/plain"`);
    const metadata = validateMetadata(input.metadata ?? {});
    const { maxArtifactBytes } = session.limits;
    if (body.length > maxArtifactBytes) {
      throw quotaExceeded('maxArtifactBytes', maxArtifactBytes, `artifact is ${body.length} bytes, over the limit maxArtifactBytes ${maxArtifactBytes}`);
    }
    await this.limiter.acquire(session, 's3');
    const sha256 = createHash('sha256').update(body).digest('hex');
    return describe(await this.store.put(session, key, { body, sha256, contentType, metadata }));
  }

  /**
   * The artifact, or the part of it from `offset` (at most `length`, at most MAX_READ_BYTES bytes): as text
   * when the content type is textual and the part is UTF-8, else base64.
   */
  async get(session: TenantSession, input: ArtifactGetInput) {
    const { meta, body } = await this.read(session, input.key);
    const offset = input.offset ?? 0;
    if (offset > body.length) throw invalidArgument('offset', `${offset} is past the end of the artifact (${body.length} bytes)`);
    let end = Math.min(body.length, offset + Math.min(input.length ?? MAX_READ_BYTES, MAX_READ_BYTES));
    if (end < body.length && isTextual(meta.contentType)) end = characterBoundary(body, offset, end);
    const part = body.subarray(offset, end);
    const range = { offset, length: part.length, next_offset: end < body.length ? end : null };
    // Not valid UTF-8 (binary, or an offset inside a character): base64, as for binary types.
    const text = sendableTextOf(meta.contentType, part);
    return text !== undefined
      ? { ...describe(meta), ...range, encoding: 'utf8' as const, content: text }
      : { ...describe(meta), ...range, encoding: 'base64' as const, content_base64: part.toString('base64') };
  }

  async read(session: TenantSession, rawKey: string): Promise<{ meta: ArtifactMeta; body: Buffer }> {
    requirePermission(session, 'artifacts:read');
    const key = validateKey(rawKey);
    await this.limiter.acquire(session, 's3');
    const found = await this.store.get(session, key);
    if (!found) throw notFound(`artifact "${key}" not found`);
    return found;
  }

  async list(session: TenantSession, input: { prefix?: string; limit?: number; cursor?: string }) {
    requirePermission(session, 'artifacts:read');
    const prefix = validatePrefix(input.prefix);
    const after = decodeCursor(input.cursor);
    await this.limiter.acquire(session, 's3');
    const page = await this.store.list(session, { prefix, limit: input.limit ?? DEFAULT_PAGE_SIZE, ...(after !== undefined && { after }) });
    return { artifacts: page.items.map(describe), next_cursor: encodeCursor(page.nextAfter) };
  }

  async delete(session: TenantSession, rawKey: string) {
    requirePermission(session, 'artifacts:write');
    const key = validateKey(rawKey);
    await this.limiter.acquire(session, 's3');
    if (!(await this.store.delete(session, key))) throw notFound(`artifact "${key}" not found`);
    return { key, deleted: true as const };
  }
}

function decodeBody(input: ArtifactPutInput): Buffer {
  if (input.content !== undefined && input.content_base64 !== undefined) {
    throw invalidArgument('content_base64', 'give either content or content_base64, not both');
  }
  if (input.content !== undefined) return Buffer.from(input.content, 'utf8');
  if (input.content_base64 === undefined) throw invalidArgument('content', 'is required (or content_base64 for binary data)');
  const compact = input.content_base64.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64_CHARS.test(compact)) throw invalidArgument('content_base64', 'is not valid base64');
  return Buffer.from(compact, 'base64');
}

function validateMetadata(metadata: Record<string, string>): Record<string, string> {
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_KEY.test(name)) throw invalidArgument(`metadata.${name}`, 'names are letters, digits, "_", "." or "-", starting with a letter or digit');
    if (/\p{Cc}/u.test(value)) throw invalidArgument(`metadata.${name}`, 'contains a control character');
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (bytes > MAX_METADATA_BYTES) throw invalidArgument('metadata', `is ${bytes} bytes; the limit is ${MAX_METADATA_BYTES} (as on S3)`);
  return metadata;
}

