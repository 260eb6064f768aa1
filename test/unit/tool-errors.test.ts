import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fromZodError } from '../../src/mcp/errors.js';
import { eventsAnalytics, eventsCreateAlert, eventsSend } from '../../src/mcp/tools/events.js';
import { kvGet, kvList, kvSet } from '../../src/mcp/tools/kv.js';
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
});
