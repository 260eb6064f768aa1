/**
 * Timestamps as the States language defines them: the RFC 3339 profile of ISO 8601, with an uppercase "T"
 * between date and time and an uppercase "Z" when there is no numeric offset ("2016-03-14T01:59:00Z").
 */

const SHAPE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** An instant: whole seconds since the epoch plus nanoseconds (finer than Date's milliseconds). */
export interface Instant {
  readonly seconds: number;
  readonly nanos: number;
}

export function parseTimestamp(text: unknown): Instant | null {
  if (typeof text !== 'string') return null;
  const m = SHAPE.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null;
  let offset = 0;
  const zone = m[8]!;
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    offset = (zone[0] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const nanos = m[7] === undefined ? 0 : Number(m[7].slice(0, 9).padEnd(9, '0'));
  return { seconds: ms / 1000 - offset, nanos };
}

export function compareInstants(a: Instant, b: Instant): number {
  return a.seconds !== b.seconds ? a.seconds - b.seconds : a.nanos - b.nanos;
}

/** Milliseconds since the epoch as the context object writes times ("2019-03-26T20:14:13.192Z"). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
