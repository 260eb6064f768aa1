import { expect } from 'vitest';
import { compilePattern, PatternError } from '../../../src/engine/patterns/index.js';

/** Whether `pattern` matches `event`. */
export function matches(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern).matches(event);
}

/** Compiles `pattern`, expecting a PatternError at `path` whose message contains `fragment`. */
export function refused(pattern: unknown, path: string, fragment?: string | RegExp): PatternError {
  let caught: unknown;
  try {
    compilePattern(pattern);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${JSON.stringify(pattern)} to be refused`).toBeInstanceOf(PatternError);
  const error = caught as PatternError;
  expect(error.path).toBe(path);
  expect(error.message.startsWith(path === '' ? 'pattern: ' : `${path}: `)).toBe(true);
  if (fragment !== undefined) expect(error.message).toMatch(fragment);
  return error;
}

/** A complete EventBridge envelope around `detail` (and any envelope overrides). */
export function envelope(detail: unknown, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '111122223333',
    time: '2017-12-22T18:43:48Z',
    region: 'us-west-1',
    resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
    detail,
    ...overrides,
  };
}
