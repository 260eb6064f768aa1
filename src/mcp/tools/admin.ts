import { z } from 'zod';
import { defineTool, listText } from '../tool.js';
import { isoTime, nextCursor } from './common-schemas.js';

export const auditQuery = defineTool({
  name: 'audit_query',
  group: 'admin',
  permission: 'admin:read',
  rateLimit: 'dynamodb',
  title: 'Query the audit log',
  description: 'Who called which tool in this tenant, when, with what outcome ("ok" or an error code) and how long it took; newest first.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({
    user: z.string().optional(),
    tool: z.string().optional(),
    outcome: z.string().optional().describe('"ok" or an error code such as permission_denied.'),
    start_time: z.string().optional(),
    end_time: z.string().optional(),
    limit: z.number().int().min(1).max(1000).optional().describe('Default 100.'),
    cursor: z.string().optional(),
  }),
  output: z.strictObject({
    entries: z.array(
      z.strictObject({ at: isoTime, user: z.string(), context_type: z.string(), tool: z.string(), outcome: z.string(), duration_ms: z.number() }),
    ),
    next_cursor: nextCursor,
  }),
  call: ({ session, services }, args) => services.audit.query(session, args),
  text: (result) => listText(result.entries.map((e) => `${e.at} ${e.user} ${e.tool} ${e.outcome} ${e.duration_ms}ms`), result.next_cursor),
});

export const adminTools = [auditQuery];
