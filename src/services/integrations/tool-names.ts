import { createHash } from 'node:crypto';

export const NAMESPACE_SEPARATOR = '__';
const MAX_TOOL_NAME = 64;
const CLEAN = /^[A-Za-z0-9_-]+$/;
/** Integration names cannot contain "__", so the first "__" of a namespaced name always ends the integration. */
export const INTEGRATION_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_)){0,31}$/;

const hash8 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8);

/**
 * `<integration>__<tool>`, always matching ^[a-zA-Z0-9_-]{1,64}$ and unique within the integration.
 * A tool name that is clean and fits is kept as is. Otherwise characters outside [A-Za-z0-9_-] become
 * "_", the name is cut to fit, and "_" plus the first 8 hex digits of the SHA-256 of the original name
 * are appended. Should two tools still meet (a literal name equal to another's hashed form), the later
 * one in the upstream's order hashes its name with a counter until it is unique. The rule depends only
 * on the integration name and its tool list, so names are stable.
 */
export function namespaceTools(integration: string, toolNames: readonly string[]): Map<string, string> {
  const prefix = `${integration}${NAMESPACE_SEPARATOR}`;
  const room = MAX_TOOL_NAME - prefix.length;
  const taken = new Set<string>();
  const result = new Map<string, string>();
  for (const original of toolNames) {
    let name = CLEAN.test(original) && original.length <= room ? prefix + original : hashed(prefix, room, original, original);
    for (let n = 1; taken.has(name); n++) name = hashed(prefix, room, original, `${original}#${n}`);
    taken.add(name);
    result.set(original, name);
  }
  return result;
}

function hashed(prefix: string, room: number, original: string, hashInput: string): string {
  const stem = original.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, Math.max(0, room - 9));
  return `${prefix}${stem}_${hash8(hashInput)}`;
}
