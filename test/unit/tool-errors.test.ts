import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fromZodError } from '../../src/mcp/errors.js';
import { eventsAnalytics, eventsCreateAlert, eventsCreateRule, eventsQuery, eventsSend } from '../../src/mcp/tools/events.js';
import { compileInputPattern } from '../../src/services/events/pattern-input.js';
import { kvGet, kvList, kvSet } from '../../src/mcp/tools/kv.js';
import { workflowCreate } from '../../src/mcp/tools/workflows.js';
import { artifactsPut } from '../../src/mcp/tools/artifacts.js';
import type { Tool } from '../../src/mcp/tool.js';

/** The error a tools/call with these arguments gets, as the server builds it. */
function refusal(tool: Tool, args: Record<string, unknown>) {
  const parsed = tool.input.safeParse(args);
  if (parsed.success) throw new Error('expected the arguments to be refused');
  const error = fromZodError(parsed.error as z.ZodError, args, tool.input);
  return { field: error.details.field, message: error.message };
}

describe('argument errors, as a model reads them', () => {
  it('names a misnamed argument first, with the arguments the tool takes, rather than the one it then lacks', () => {
    expect(refusal(eventsAnalytics, { period: 'week' })).toEqual({
      field: 'period',
      message: 'period: is not a known argument of this tool (its arguments: start_time, end_time, bucket, group_by)',
    });
  });

  it('says a missing argument is required, with its choices when it has them', () => {
    expect(refusal(eventsAnalytics, {})).toEqual({ field: 'bucket', message: 'bucket: is required: "minute", "hour", "day"' });
    expect(refusal(kvGet, {})).toEqual({ field: 'key', message: 'key: is required' });
  });

  it('names a wrong value by its path, and an unknown key inside an argument without the tool list', () => {
    expect(refusal(eventsAnalytics, { bucket: 'week' })).toEqual({ field: 'bucket', message: 'bucket: must be one of "minute", "hour", "day"' });
    const alert = refusal(eventsCreateAlert, { name: 'a', event_pattern: { source: ['x'] }, channel: { type: 'webhook', url: 'https://example.com/h', colour: 'red' } });
    expect(alert).toEqual({ field: 'channel.colour', message: 'channel.colour: is not a known argument of this tool' });
  });

  it('says what a wrong value should be, and what it was, in plain words', () => {
    const message = (tool: Tool, args: Record<string, unknown>) => refusal(tool, args).message;
    expect(message(kvSet, { key: 'k', value: 1, ttl_seconds: 1.5 })).toBe('ttl_seconds: must be a whole number, not 1.5');
    expect(message(kvSet, { key: 'k', value: 1, ttl_seconds: '60' })).toBe('ttl_seconds: must be a number, not a string');
    expect(message(kvSet, { key: 'k', value: 1, ttl_seconds: 0 })).toBe('ttl_seconds: must be at least 1');
    expect(message(kvSet, { key: 'k', value: 1, if_absent: 'yes' })).toBe('if_absent: must be true or false, not a string');
    expect(message(kvGet, { key: 5 })).toBe('key: must be a string, not 5');
    expect(message(kvList, { limit: 5000 })).toBe('limit: must be at most 1000');
    expect(message(eventsSend, { source: 'a', detail_type: 'b', detail: 'text' })).toBe('detail: must be an object, not a string');
    expect(message(eventsSend, { source: 'a', detail_type: 'b', detail: [] })).toBe('detail: must be an object, not an array');
    expect(message(artifactsPut, { key: 'a.txt', content: 'x', metadata: { owner: null } })).toBe('metadata.owner: must be a string, not null');
  });

  it('says what a target or a pattern must be, not "Invalid input", and names the field once', () => {
    const rule = (args: Record<string, unknown>) => refusal(eventsCreateRule, { name: 'r', event_pattern: { source: ['a'] }, targets: [], ...args });
    const target = 'targets.0: must be {"alert": name} or {"workflow": name, "input"?: …}';
    expect(rule({ targets: [{ lambda: 'x' }] })).toEqual({ field: 'targets.0', message: target });
    expect(rule({ targets: [{ alert: 'a', workflow: 'w' }] })).toEqual({ field: 'targets.0', message: target });
    expect(rule({ targets: ['a'] }).message).toBe(target);
    expect(rule({ event_pattern: [] })).toEqual({ field: 'event_pattern', message: 'event_pattern: must be a JSON object (or its JSON text), not an array' });
    expect(rule({ event_pattern: undefined }).message).toBe('event_pattern: is required');
    expect(refusal(eventsQuery, { pattern: 5 }).message).toBe('pattern: must be a JSON object (or its JSON text), not 5');
    // A union without wording of its own names the types its alternatives take.
    expect(refusal(workflowCreate, { name: 'w', definition: 5 }).message).toBe('definition: must be an object or a string, not 5');
    // Past the arguments' schema, the pattern compiler's reasons carry the field's name, once.
    const compileError = (pattern: unknown, field: string) => {
      try {
        compileInputPattern(pattern, field);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected the pattern to be refused');
    };
    expect(compileError({}, 'pattern')).toBe('pattern: empty objects are not allowed');
    expect(compileError('[]', 'event_pattern')).toBe('event_pattern: must be a JSON object, got an array');
    expect(compileError({ detail: {} }, 'event_pattern')).toBe('event_pattern: detail: empty objects are not allowed');
  });
});
