import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type CallToolRequest, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Cancellation } from '../cancellation.js';
import { toolsCallParamsProblem, type ToolsCallExtra, type ToolsCallHandler } from './tools-call-handler.js';

type Message = Record<string, unknown>;

/** A tools/call the handler can take without the SDK: well-formed, no _meta (progress, related task), no task. */
function isPlainToolsCall(message: Message): boolean {
  if (message.method !== 'tools/call' || !('id' in message)) return false;
  const params = message.params as Message | undefined;
  return toolsCallParamsProblem(params) === undefined && params!._meta === undefined && params!.task === undefined;
}

const isCancellation = (message: Message): boolean => message.method === 'notifications/cancelled' && !('id' in message);

/**
 * A Transport between the stdio transport and the SDK's Server that hands plain tools/call requests
 * straight to the server's tools/call handler and writes the response itself. On the way through the SDK,
 * every request is classified by trying zod schemas in turn (two misses), gets an AbortController (slow
 * to make on Node 20, even when nothing listens) and several promise hops: for short calls such as kv_get,
 * a large part of the server's own time. Here a Cancellation stands in for the AbortController.
 * Everything else (initialize, lists, resources, calls with progress tokens or tasks, malformed calls)
 * passes through to the SDK unchanged. Cancellation matches the SDK's: a cancelled call's signal aborts
 * and it gets no response.
 */
export class DirectToolCalls implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];

  private readonly inFlight = new Map<RequestId, Cancellation>();

  constructor(
    private readonly inner: Transport,
    private readonly handler: ToolsCallHandler,
  ) {}

  async start(): Promise<void> {
    this.inner.onmessage = (message, extra) => this.route(message, extra);
    this.inner.onclose = () => this.onclose?.();
    this.inner.onerror = (error) => this.onerror?.(error);
    await this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private route(message: JSONRPCMessage, extra: Parameters<NonNullable<Transport['onmessage']>>[1]): void {
    const fields = message as unknown as Message;
    if (isPlainToolsCall(fields)) {
      void this.call(fields as unknown as CallToolRequest & { id: RequestId });
      return;
    }
    if (isCancellation(fields)) {
      const params = fields.params as { requestId?: RequestId; reason?: unknown } | undefined;
      if (params?.requestId !== undefined) this.inFlight.get(params.requestId)?.abort(params.reason);
    }
    this.onmessage?.(message, extra);
  }

  private async call(request: CallToolRequest & { id: RequestId }): Promise<void> {
    const abort = new Cancellation();
    this.inFlight.set(request.id, abort);
    const extra: ToolsCallExtra = {
      signal: abort,
      sendNotification: (notification) => this.inner.send(notification as JSONRPCMessage),
    };
    let response: JSONRPCMessage;
    try {
      const result = await this.handler(request, request.params.arguments, extra);
      response = { jsonrpc: '2.0', id: request.id, result };
    } catch (error) {
      // As the SDK answers a handler that throws.
      const { code, message, data } = error as { code?: unknown; message?: string; data?: unknown };
      response = {
        jsonrpc: '2.0',
        id: request.id,
        error: { code: Number.isSafeInteger(code) ? (code as number) : ErrorCode.InternalError, message: message ?? 'Internal error', ...(data !== undefined && { data }) },
      };
    } finally {
      if (this.inFlight.get(request.id) === abort) this.inFlight.delete(request.id);
    }
    if (abort.aborted) return;
    await this.inner.send(response).catch((error: unknown) => this.onerror?.(error as Error));
  }
}
