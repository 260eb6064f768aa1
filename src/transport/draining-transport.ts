import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

type Message = Record<string, unknown>;

const isRequest = (message: Message): boolean => typeof message.method === 'string' && 'id' in message;
const isResponse = (message: Message): boolean => !('method' in message) && 'id' in message && ('result' in message || 'error' in message);
const isCancellation = (message: Message): boolean => message.method === 'notifications/cancelled';

/**
 * Keeps a connection open until every request it received has been answered. A client that closes its
 * end (stdin at EOF: how MCP clients ask a stdio server to stop, and how `… | agent-mesh` ends) still
 * gets the answers to the calls it sent, and writes already received are finished, not dropped: the
 * SDK's Server aborts every running handler the moment its transport reports close, so that report
 * waits here until nothing is outstanding (or `graceMs` has passed).
 */
export class DrainingTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];

  private readonly unanswered = new Set<RequestId>();
  private wakeWhenAnswered?: () => void;
  private closeReported = false;

  constructor(
    private readonly inner: Transport,
    private readonly graceMs: number,
  ) {}

  async start(): Promise<void> {
    this.inner.onmessage = (message, extra) => {
      const fields = message as unknown as Message;
      if (isRequest(fields)) this.unanswered.add(fields.id as RequestId);
      else if (isCancellation(fields)) this.answered((fields.params as { requestId?: RequestId } | undefined)?.requestId);
      this.onmessage?.(message, extra);
    };
    this.inner.onclose = () => void this.drain().then(() => this.reportClose());
    this.inner.onerror = (error) => this.onerror?.(error);
    await this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const sent = this.inner.send(message, options);
    // Written in order after everything before it: the process flushes stdout before it exits.
    const fields = message as unknown as Message;
    if (isResponse(fields)) this.answered(fields.id as RequestId);
    return sent;
  }

  /** Resolves when every request received so far has its answer written, or after `graceMs`. */
  async drain(): Promise<void> {
    if (this.unanswered.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.graceMs);
      timer.unref();
      this.wakeWhenAnswered = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async close(): Promise<void> {
    await this.inner.close();
    this.reportClose();
  }

  private answered(id: RequestId | undefined): void {
    if (id === undefined || !this.unanswered.delete(id) || this.unanswered.size > 0) return;
    this.wakeWhenAnswered?.();
    this.wakeWhenAnswered = undefined;
  }

  private reportClose(): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.onclose?.();
  }
}
