import { extname } from 'node:path';

const BY_EXTENSION: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'application/jsonl',
  '.xml': 'application/xml',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
};

const CONTENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"\p{Cc}]*"|[A-Za-z0-9!#$&^_.+-]+))*$/u;

export const isValidContentType = (value: string): boolean => value.length <= 255 && CONTENT_TYPE.test(value);

/** The content type a user means when they give none: from the key's extension, else by how content came. */
export function guessContentType(key: string, sentAsText: boolean): string {
  return BY_EXTENSION[extname(key).toLowerCase()] ?? (sentAsText ? 'text/plain; charset=utf-8' : 'application/octet-stream');
}

/** Whether an artifact of this type is returned as text (when its bytes are valid UTF-8) or as base64. */
export function isTextual(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    type.endsWith('+json') ||
    type.endsWith('+xml') ||
    ['application/json', 'application/jsonl', 'application/x-ndjson', 'application/xml', 'application/yaml', 'application/javascript', 'application/x-yaml'].includes(type)
  );
}

/** The body as text when its type is textual and its bytes are valid UTF-8; otherwise undefined (send base64). */
export function textOf(contentType: string, body: Buffer): string | undefined {
  if (!isTextual(contentType)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/**
 * Text sent in one message must stay this small once JSON-escaped (control characters grow sixfold), or
 * it would pass the 10 MiB line an SDK stdio client accepts, and the client would disconnect.
 */
const MAX_TEXT_MESSAGE_CHARS = 7 * 1024 * 1024;

/** How long `text` is once JSON-escaped, quotes left out, without building the escaped copy. */
function escapedLength(text: string): number {
  let length = text.length;
  // '"', '\\' and \b \f \n \r \t take two characters; other control characters six (\u0001).
  for (const [char] of text.matchAll(/[\u0000-\u001f"\\]/g)) length += /["\\\b\f\n\r\t]/.test(char) ? 1 : 5;
  return length;
}

/** `body` as text to send, when its type is textual, it is UTF-8 and it fits a message escaped; else undefined (send base64). */
export function sendableTextOf(contentType: string, body: Buffer): string | undefined {
  const text = textOf(contentType, body);
  return text !== undefined && escapedLength(text) + 2 <= MAX_TEXT_MESSAGE_CHARS ? text : undefined;
}
