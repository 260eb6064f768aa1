/** Helpers for the JSON values that flow through an execution. Values are never mutated. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values (object key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bo = b as JsonObject;
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) {
    if (!Object.prototype.hasOwnProperty.call(bo, k) || !deepEqual((a as JsonObject)[k], bo[k])) return false;
  }
  return true;
}

/** Compact JSON text (what Step Functions shows in causes and JsonToString returns). */
export function toJson(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

/** Size in bytes of the value's JSON text encoded as UTF-8 (how AWS measures the 256 KiB payload quota). */
export function jsonSize(value: unknown): number {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return 8;
  return Buffer.byteLength(toJson(value), 'utf8');
}

/** Freezes a value and everything in it: literals from a definition are shared by every execution. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A short description of a value's JSON type, for messages. */
export function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

export function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}
