import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  type CallToolRequest,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { CancelSignal } from '../cancellation.js';
import { ProtocolError } from './protocol-error.js';

type SdkExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What the handler uses of the SDK's per-request extra; a direct call (direct-tool-calls.ts) supplies the same. */
export interface ToolsCallExtra extends Pick<SdkExtra, 'sendNotification' | 'taskStore' | 'authInfo'> {
  signal: CancelSignal;
}
export type ToolsCallHandler = (request: CallToolRequest, rawArguments: unknown, extra: ToolsCallExtra) => Promise<CallToolResult>;

const handlers = new WeakMap<Server, ToolsCallHandler>();

/** The tools/call handler set on a server, for callers that dispatch plain calls themselves. */
export function toolsCallHandlerOf(server: Server): ToolsCallHandler {
  const handler = handlers.get(server);
  if (!handler) throw new Error('this server has no tools/call handler (setToolsCallHandler was not called)');
  return handler;
}

/** Only the method: the handler checks the params itself, so the arguments arrive as the client sent them. */
const ToolsCallMethod = z.looseObject({ method: z.literal('tools/call') });

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The SDK's Server wraps a tools/call handler to zod-parse the request twice and zod-check the result
 * (and for task-augmented calls, which agent-mesh does not offer). Our results are built to the schema by
 * one function, and on stdio those checks were a measurable part of every call. Checking the params here
 * instead also keeps keys zod would drop (a "__proto__" argument is refused, not ignored) and turns a
 * malformed request into Invalid params rather than an internal error.
 */
export function setToolsCallHandler(server: Server, handler: ToolsCallHandler): void {
  handlers.set(server, handler);
  const protocol = Object.getPrototypeOf(Server.prototype) as { setRequestHandler: Server['setRequestHandler'] };
  protocol.setRequestHandler.call(server, ToolsCallMethod as unknown as typeof CallToolRequestSchema, (raw, extra) => {
    const params = (raw as { params?: unknown }).params;
    const problem = toolsCallParamsProblem(params);
    if (problem) throw new ProtocolError(ErrorCode.InvalidParams, `Invalid tools/call params: ${problem}`);
    return handler(raw as CallToolRequest, (params as { arguments?: unknown }).arguments, extra);
  });
}

/** Why tools/call params are malformed, or undefined when they are well-formed. */
export function toolsCallParamsProblem(params: unknown): string | undefined {
  if (!isPlainObject(params)) return 'expected an object';
  if (typeof params.name !== 'string') return 'name must be a string';
  if (params.arguments !== undefined && !isPlainObject(params.arguments)) return 'arguments must be an object';
  if (params._meta !== undefined && !isPlainObject(params._meta)) return '_meta must be an object';
  return undefined;
}

/** A progress callback for the request, when the client sent a progressToken. */
export function progressReporter(request: CallToolRequest, extra: ToolsCallExtra) {
  const token = request.params._meta?.progressToken;
  if (token === undefined) return undefined;
  return (progress: number, total?: number, message?: string): void => {
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, ...(total !== undefined && { total }), ...(message !== undefined && { message }) },
      })
      .catch(() => {});
  };
}

type RequestTaskStore = NonNullable<ToolsCallExtra['taskStore']>;

/**
 * A task-augmented call (MCP tasks, experimental): answers at once with the task, runs the tool in the
 * background and stores its result for tasks/result. The caller's request ends here, so the work gets a
 * signal of its own.
 */
export async function startTask(store: RequestTaskStore, ttl: number | undefined, run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  const task = await store.createTask({ ...(ttl !== undefined && { ttl }), pollInterval: 500 });
  void run().then(
    (result) => store.storeTaskResult(task.taskId, result.isError ? 'failed' : 'completed', result).catch(() => {}),
    () => store.updateTaskStatus(task.taskId, 'failed', 'the tool failed').catch(() => {}),
  );
  return { task } as unknown as CallToolResult;
}
