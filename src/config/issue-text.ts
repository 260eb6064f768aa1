import type { z } from 'zod';

/** The value at a zod issue's path in the input it was found in. */
export const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((value, key) => (typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined), input);

/** What a value is, in the words of a message: `a string`, `an array`, `null`, `1.5`. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  record: 'an object',
};

const UNITS: Record<string, [string, string]> = { string: ['character', 'characters'], array: ['item', 'items'], set: ['item', 'items'] };

function bound(origin: string, relation: 'min' | 'max', limit: number | bigint, inclusive: boolean): string {
  const units = UNITS[origin];
  if (units) return `must have ${relation === 'min' ? 'at least' : 'at most'} ${limit} ${Number(limit) === 1 ? units[0] : units[1]}`;
  if (relation === 'min') return inclusive ? `must be at least ${limit}` : `must be more than ${limit}`;
  return inclusive ? `must be at most ${limit}` : `must be less than ${limit}`;
}

/**
 * One zod issue (of a tool's arguments or of the config file) as the rest of a one-line message after the
 * field's name: `is required`, `must be a whole number, not 1.5`, `must be at most 1000`, `must be one of
 * "minute", "hour", "day"`. zod's own wording ("Too big: expected number to be <=1000", "expected record,
 * received string") reads as a schema's, not a person's.
 */
export function issueText(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (value === undefined) return 'is required';
      const expected = EXPECTED[issue.expected];
      if (expected) return `must be ${expected}, not ${kindOf(value)}`;
      break;
    }
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return 'must not be empty';
      return bound(issue.origin, 'min', issue.minimum, issue.inclusive ?? true);
    case 'too_big':
      return bound(issue.origin, 'max', issue.maximum, issue.inclusive ?? true);
    case 'invalid_union': {
      if (value === undefined) return 'is required';
      // A schema's own wording of what it must be stands; zod's "Invalid input" says nothing, so when each
      // alternative wanted another type, they are named.
      if (issue.message !== 'Invalid input') break;
      const wanted = issue.errors.map((errors) => {
        const wrongType = errors.find((e) => e.code === 'invalid_type' && e.path.length === 0);
        return wrongType?.code === 'invalid_type' ? EXPECTED[wrongType.expected] : undefined;
      });
      if (wanted.length > 0 && wanted.every(Boolean)) return `must be ${[...new Set(wanted)].join(' or ')}, not ${kindOf(value)}`;
      break;
    }
    case 'invalid_value': {
      const choices = issue.values.map((choice) => JSON.stringify(choice)).join(', ');
      return value === undefined ? `is required: ${choices}` : `must be one of ${choices}`;
    }
  }
  return issue.message.replace(/^Invalid input: /, '');
}
