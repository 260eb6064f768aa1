import { z } from 'zod';
import { defineTool, listText } from '../tool.js';
import { isoTime, nextCursor } from './common-schemas.js';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

const execution = {
  execution_id: z.string(),
  execution_name: z.string(),
  workflow: z.string(),
  version: z.number().int(),
  status: z.enum(STATUSES),
  current_state: z.string().nullable(),
  started_at: isoTime,
  stopped_at: isoTime.nullable(),
  input: z.unknown().optional(),
  output: z.unknown().optional(),
  error: z.string().optional(),
  cause: z.string().optional(),
};

export const workflowCreate = defineTool({
  name: 'workflow_create',
  group: 'workflow',
  permission: 'workflow:write',
  rateLimit: 'stepfunctions',
  title: 'Create a workflow',
  description:
    'Create a workflow from an Amazon States Language definition (validated; each problem is listed with its path). Task resources: ' +
    '"agent-mesh:<tool>" runs an agent-mesh tool with the state\'s input as arguments; "mcp:<integration>/<tool>" calls an integration\'s tool. ' +
    'Creating an existing name adds a new version; running executions keep theirs.',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: z.strictObject({
    name: z.string().describe('1-64 letters, digits, ".", "_" or "-".'),
    definition: z.union([z.record(z.string(), z.unknown()), z.string()]).describe('The ASL document (object or JSON text).'),
    description: z.string().optional(),
  }),
  output: z.strictObject({ name: z.string(), version: z.number().int(), created: z.boolean().describe('True for version 1.') }),
  call: ({ session, services }, args) => services.workflows.create(session, args),
  text: (result) => `workflow ${JSON.stringify(result.name)} version ${result.version}`,
});

export const workflowStart = defineTool({
  name: 'workflow_start',
  group: 'workflow',
  permission: 'workflow:write',
  rateLimit: 'stepfunctions',
  title: 'Start a workflow',
  description:
    'Start an execution of the latest version. execution_name makes the start idempotent (same name and input: the same execution). ' +
    'With wait_seconds (at most 300), waits for the end (sending a progress notification per transition when the client asked for progress).',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  input: z.strictObject({
    name: z.string(),
    input: z.unknown().optional().describe('The execution input (JSON); default {}.'),
    execution_name: z.string().optional().describe('1-80 letters, digits, "-" or "_"; default a UUID.'),
    wait_seconds: z.number().min(0).max(300).optional().describe('Wait up to this long (0-300 seconds) for the execution to end.'),
  }),
  output: z.strictObject(execution),
  call: ({ session, services, progress }, args) =>
    services.workflows.start(session, args, progress && ((count, message) => progress(count, undefined, message))),
  text: (result) => `execution ${result.execution_id} (${result.execution_name}): ${result.status}${result.error ? ` ${result.error}` : ''}`,
  // As a task, the call follows the execution to its end (or the longest wait) while the client polls.
  asTask: (args) => ({ ...args, wait_seconds: args.wait_seconds ?? 300 }),
});

export const workflowStatus = defineTool({
  name: 'workflow_status',
  group: 'workflow',
  permission: 'workflow:read',
  rateLimit: 'stepfunctions',
  title: 'Execution status',
  description: 'Status, current state, output or error and cause, and the history of state transitions with timestamps.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ execution_id: z.string() }),
  output: z.strictObject({
    ...execution,
    history: z.array(
      z.strictObject({ seq: z.number().int(), at: isoTime, type: z.string(), state: z.string().optional(), detail: z.record(z.string(), z.unknown()).optional() }),
    ),
  }),
  call: ({ session, services }, args) => services.workflows.status(session, args.execution_id),
  text: (result) => `${result.status}${result.current_state ? ` at ${result.current_state}` : ''}; ${result.history.length} history events`,
});

export const workflowList = defineTool({
  name: 'workflow_list',
  group: 'workflow',
  permission: 'workflow:read',
  rateLimit: 'stepfunctions',
  title: 'List workflows and executions',
  description: 'Workflows (latest versions) and their executions, newest first, filtered by workflow name and status.',
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({
    name: z.string().optional(),
    status: z.enum(STATUSES).optional(),
    limit: z.number().int().min(1).max(500).optional().describe('Executions per page (default 50).'),
    cursor: z.string().optional(),
  }),
  output: z.strictObject({
    workflows: z.array(z.strictObject({ name: z.string(), version: z.number().int(), description: z.string(), created_at: isoTime })),
    executions: z.array(z.strictObject(execution)),
    next_cursor: nextCursor,
  }),
  call: ({ session, services }, args) => services.workflows.list(session, args),
  text: (result) =>
    listText(
      [...result.workflows.map((w) => `workflow ${w.name} v${w.version}`), ...result.executions.map((e) => `execution ${e.execution_id} ${e.workflow}: ${e.status}`)],
      result.next_cursor,
    ),
});

export const workflowCancel = defineTool({
  name: 'workflow_cancel',
  group: 'workflow',
  permission: 'workflow:write',
  rateLimit: 'stepfunctions',
  title: 'Cancel an execution',
  description: 'Stop a running execution (it ends ABORTED); refused with conflict once it has ended.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({ execution_id: z.string() }),
  output: z.strictObject({ ...execution, cancel_requested: z.literal(true) }),
  call: ({ session, services }, args) => services.workflows.cancel(session, args.execution_id),
});

export const workflowTools = [workflowCreate, workflowStart, workflowStatus, workflowList, workflowCancel];
