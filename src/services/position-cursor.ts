import { invalidArgument } from '../errors.js';

/**
 * Cursors of newest-first pages: the (time, tie-breaker) position of the last item returned, as base64url
 * JSON. Opaque to clients; a cursor that was not made here is refused, naming the field.
 */
export function encodePosition(time: number, tie: string | number): string {
  return Buffer.from(JSON.stringify([time, tie])).toString('base64url');
}

export function decodePosition(cursor: string | undefined, tie: 'string'): { time: number; tie: string } | undefined;
export function decodePosition(cursor: string | undefined, tie: 'number'): { time: number; tie: number } | undefined;
export function decodePosition(cursor: string | undefined, tie: 'string' | 'number'): { time: number; tie: string | number } | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const [time, last] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof time === 'number' && Number.isFinite(time) && typeof last === tie) return { time, tie: last as string | number };
  } catch {
    // refused below
  }
  throw invalidArgument('cursor', 'is not a cursor returned by a previous call');
}
