import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fromZodError } from '../../src/mcp/errors.js';
import { eventsAnalytics, eventsCreateAlert } from '../../src/mcp/tools/events.js';
import { kvGet } from '../../src/mcp/tools/kv.js';
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
    expect(refusal(eventsAnalytics, { bucket: 'week' })).toMatchObject({ field: 'bucket', message: expect.stringMatching(/^bucket: Invalid option/) });
    const alert = refusal(eventsCreateAlert, { name: 'a', event_pattern: { source: ['x'] }, channel: { type: 'webhook', url: 'https://example.com/h', colour: 'red' } });
    expect(alert).toEqual({ field: 'channel.colour', message: 'channel.colour: is not a known argument of this tool' });
  });
});
