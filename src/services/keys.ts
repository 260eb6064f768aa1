import { invalidArgument } from '../errors.js';

export const MAX_KEY_BYTES = 512;

// Control characters, lone surrogates are caught separately; noncharacters (U+FDD0-FDEF, U+xFFFE/F) are
// refused so drivers can use U+10FFFF as an upper bound.
const CONTROL = /\p{Cc}/u;
const NONCHARACTER = /[\uFDD0-\uFDEF\uFFFE\uFFFF]|[\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}\u{FFFFE}\u{FFFFF}\u{10FFFE}\u{10FFFF}]/u;

/** Printable ASCII without "\\": already NFC, one byte per character, nothing to refuse character by character. */
const PLAIN_ASCII = /^[\x20-\x5b\x5d-\x7e]*$/;

/** A "." or ".." segment between slashes or at either end. */
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)/;

function checkCharacters(field: string, value: string): string {
  if (value.length <= MAX_KEY_BYTES && PLAIN_ASCII.test(value)) return value;
  if (!value.isWellFormed()) throw invalidArgument(field, 'contains an unpaired UTF-16 surrogate');
  const normalized = value.normalize('NFC');
  if (CONTROL.test(normalized)) throw invalidArgument(field, 'contains a control character');
  if (NONCHARACTER.test(normalized)) throw invalidArgument(field, 'contains a Unicode noncharacter');
  const bytes = Buffer.byteLength(normalized, 'utf8');
  if (bytes > MAX_KEY_BYTES) throw invalidArgument(field, `is ${bytes} bytes as UTF-8; the limit is ${MAX_KEY_BYTES}`);
  return normalized;
}

/**
 * A key for KV entries and artifacts: 1-512 UTF-8 bytes after NFC normalization, no control characters,
 * no backslash, not starting with "/", and no "." or ".." path segment. "/" separates segments.
 */
export function validateKey(value: string, field = 'key'): string {
  if (value.length === 0) throw invalidArgument(field, 'must not be empty');
  const key = checkCharacters(field, value);
  if (key.startsWith('/')) throw invalidArgument(field, 'must not start with "/" (keys are relative)');
  if (key.includes('\\')) throw invalidArgument(field, 'must not contain "\\"');
  if (DOT_SEGMENT.test(key)) {
    throw invalidArgument(field, 'must not contain a "." or ".." path segment');
  }
  return key;
}

/** A listing prefix: like a key, but may be empty and may end in the middle of a segment. */
export function validatePrefix(value: string | undefined, field = 'prefix'): string {
  if (value === undefined || value === '') return '';
  const prefix = checkCharacters(field, value);
  if (prefix.includes('\\')) throw invalidArgument(field, 'must not contain "\\"');
  return prefix;
}

/** Cursors are opaque to clients: the last key of the previous page, base64url-encoded. */
export function encodeCursor(afterKey: string | undefined): string | null {
  return afterKey === undefined ? null : Buffer.from(afterKey, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, field = 'cursor'): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidArgument(field, 'is not a cursor returned by a previous call');
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key.isWellFormed() || key.includes('\uFFFD') || Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw invalidArgument(field, 'is not a cursor returned by a previous call');
  }
  return key;
}
