import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** A line may carry a whole artifact as base64; beyond this the line is refused and skipped. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Newline-delimited JSON-RPC over stdin/stdout, like the SDK's StdioServerTransport, except that every
 * line that is not a valid JSON-RPC message is answered with a JSON-RPC error (parse error or invalid
 * request) instead of being dropped, and an oversize line is skipped instead of closing the transport.
 */
export class StdioServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private chunks: Buffer[] = [];
  private buffered = 0;
  private skippingOversizeLine = false;
  private closed = false;
  private closeReported = false;

  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
  ) {}

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.appendToLine(chunk.subarray(start, newline));
      this.finishLine();
      start = newline + 1;
    }
    if (start < chunk.length) this.appendToLine(chunk.subarray(start));
  };

  /** The client closed stdin: nothing more will arrive, but answers still in the making can be written. */
  private readonly onEnd = (): void => {
    this.stopReading();
    this.reportClose();
  };
  private readonly onStreamError = (error: Error): void => this.onerror?.(error);

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onStreamError);
  }

  private appendToLine(part: Buffer): void {
    if (this.skippingOversizeLine || part.length === 0) return;
    if (this.buffered + part.length > MAX_LINE_BYTES) {
      this.chunks = [];
      this.buffered = 0;
      this.skippingOversizeLine = true;
      return;
    }
    this.chunks.push(part);
    this.buffered += part.length;
  }

  private finishLine(): void {
    if (this.skippingOversizeLine) {
      this.skippingOversizeLine = false;
      this.reject(null, ErrorCode.InvalidRequest, `Invalid Request: message larger than ${MAX_LINE_BYTES} bytes`);
      return;
    }
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const line = bytes.toString('utf8');
    this.chunks = [];
    this.buffered = 0;
    if (/^\s*$/.test(line)) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      this.reject(null, ErrorCode.ParseError, `Parse error: ${(error as Error).message}`);
      return;
    }
    if (!isPlainRequestOrNotification(value) && !JSONRPCMessageSchema.safeParse(value).success) {
      this.reject(requestIdOf(value), ErrorCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message');
      return;
    }
    try {
      // The message as parsed, not zod's copy: tool arguments keep every key the client sent.
      this.onmessage?.(value as JSONRPCMessage);
    } catch (error) {
      this.onerror?.(error as Error);
    }
  }

  private reject(id: string | number | null, code: number, message: string): void {
    this.write(JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }) + '\n').catch(() => {});
  }

  async send(message: JSONRPCMessage): Promise<void> {
    await this.write(JSON.stringify(message) + '\n');
  }

  private write(text: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.output.write(text)) resolve();
      else this.output.once('drain', resolve);
    });
  }

  /** Resolves once everything sent has left the process: on some platforms pipes are written asynchronously. */
  flushed(): Promise<void> {
    return new Promise((resolve) => this.output.write('', () => resolve()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopReading();
    this.reportClose();
  }

  private stopReading(): void {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('error', this.onStreamError);
    this.input.pause();
  }

  private reportClose(): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.onclose?.();
  }
}

const MESSAGE_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);

/**
 * The common case, checked by hand: a request or notification that JSONRPCMessageSchema accepts (strict
 * keys, a string or integer id, object params) and that carries no `_meta`. Anything else, responses
 * included, goes to the schema; this only spares every tools/call a zod union parse.
 */
export function isPlainRequestOrNotification(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const message = value as Record<string, unknown>;
  if (message.jsonrpc !== '2.0' || typeof message.method !== 'string') return false;
  for (const key in message) if (!MESSAGE_KEYS.has(key)) return false;
  if ('id' in message && typeof message.id !== 'string' && !Number.isInteger(message.id)) return false;
  const params = message.params;
  if (params === undefined) return true;
  return typeof params === 'object' && params !== null && !Array.isArray(params) && !('_meta' in params);
}

/** The id of a malformed request, when it has a usable one, so the client can match the error. */
function requestIdOf(value: unknown): string | number | null {
  if (typeof value !== 'object' || value === null || !('id' in value)) return null;
  const id = (value as { id: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
