import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  ListToolsResultSchema,
  McpError,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import type { buildConnector } from 'undici';
import { z } from 'zod';
import { MeshError } from '../../errors.js';
import { EGRESS_BLOCKED, type EgressPolicy } from '../../net/egress-policy.js';
import { redactSecrets } from './redact-secrets.js';
import type {
  UpstreamCallOptions,
  UpstreamConnector,
  UpstreamProgress,
  UpstreamSession,
  UpstreamSpec,
  UpstreamTool,
} from '../../ports/mcp-upstream.js';
import { assertSession, type TenantSession } from '../../tenancy/session.js';

export interface SdkUpstreamConnectorOptions {
  /** Decides which addresses an HTTP upstream (and every redirect) may reach; applied to each connection. */
  policy: EgressPolicy;
  /** What the mesh calls itself in `initialize`. */
  clientInfo: { name: string; version: string };
}

/** How much of a stdio child's stderr is shown in error messages. */
const STDERR_TAIL_BYTES = 4096;
/** How much is kept to cut that from, so secrets are hidden (see redactSecrets) before the cut. */
const STDERR_KEPT_BYTES = 4 * STDERR_TAIL_BYTES;
/** How many redirects one HTTP request may follow (each target checked by the egress policy first). */
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Pages of tools/list at most, in case an upstream hands out cursors forever. */
const MAX_TOOL_PAGES = 1000;
/** How long close() waits for an HTTP upstream to acknowledge the end of the session (DELETE). */
const TERMINATE_TIMEOUT_MS = 1000;
/** Header names that the transport sets itself; a spec cannot replace them. */
const PROTOCOL_HEADERS = new Set([
  'accept',
  'content-type',
  'content-length',
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
]);

/**
 * Checks only the shape of a tools/call result that the mesh relies on, by hand (the proxy's hot path), and keeps everything else as the
 * upstream sent it: unknown fields of the result and of every content block, content types newer than this SDK,
 * `_meta`. (The SDK's CallToolResultSchema parses content blocks with strict-shaped objects, which drops unknown
 * fields and rejects unknown block types.) structuredContent is not checked against the tool's outputSchema:
 * that is between the upstream and the agent that reads it.
 */
function asToolResult(raw: unknown): CallToolResult | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const result = raw as Record<string, unknown>;
  const content = result.content ?? [];
  if (!Array.isArray(content) || !content.every((block) => typeof block === 'object' && block !== null && typeof (block as { type?: unknown }).type === 'string')) {
    return undefined;
  }
  const structured = result.structuredContent;
  if (structured !== undefined && (typeof structured !== 'object' || structured === null || Array.isArray(structured))) return undefined;
  if (result.isError !== undefined && typeof result.isError !== 'boolean') return undefined;
  return (result.content === undefined ? { ...result, content } : result) as CallToolResult;
}

/** Why nothing could be done: thrown before a request reached the upstream, so trying again is safe. */
const unavailable = (message: string): MeshError => new MeshError('unavailable', message, {}, { retryable: true });

/**
 * Opens MCP client sessions with the official SDK: stdio upstreams as child processes (with a minimal
 * environment), Streamable HTTP upstreams through the egress policy.
 */
export class SdkUpstreamConnector implements UpstreamConnector {
  constructor(private readonly options: SdkUpstreamConnectorOptions) {}

  async connect(session: TenantSession, spec: UpstreamSpec, options: { timeoutMs: number }): Promise<UpstreamSession> {
    assertSession(session);
    const { timeoutMs } = options;
    const started = Date.now();
    let abandoned = false;
    let opened: SdkUpstreamSession | undefined;

    const attempt = (async (): Promise<SdkUpstreamSession> => {
      const link = spec.transport === 'stdio' ? openStdio(spec) : await openHttp(spec, this.options.policy);
      const upstream = new SdkUpstreamSession(new Client(this.options.clientInfo, { capabilities: {} }), link);
      opened = upstream;
      if (abandoned) {
        await upstream.discard();
        throw timeoutError(timeoutMs);
      }
      await upstream.initialize(Math.max(1, timeoutMs - (Date.now() - started)), timeoutMs);
      return upstream;
    })();

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeoutError(timeoutMs)), timeoutMs);
    });
    try {
      return await Promise.race([attempt, deadline]);
    } catch (error) {
      abandoned = true;
      attempt.catch(() => undefined);
      await opened?.discard();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

function timeoutError(timeoutMs: number): MeshError {
  return new MeshError('timeout', `the upstream did not complete initialize within ${timeoutMs} ms`);
}

// ---------------------------------------------------------------------------------------------------------
// Links: a transport plus what it knows about its failures

interface Link {
  readonly kind: 'stdio' | 'http';
  readonly transport: Transport;
  /** Called (at most once) when the link finds the upstream gone: HTTP session unknown, nothing listening. */
  onGone?: (reason: string) => void;
  /** `; its stderr ended with: …` for a stdio child that wrote to stderr, else '' — for error messages. */
  lastWords(): string;
  /** Ends an HTTP session politely (DELETE), bounded; nothing for stdio. */
  terminate(): Promise<void>;
  /** For a session that never got going: stops a stdio child at once instead of the transport's graceful close. */
  kill(): void;
  /** Releases what the transport does not: HTTP connection pools. */
  dispose(): Promise<void>;
}

function openStdio(spec: Extract<UpstreamSpec, { transport: 'stdio' }>): Link {
  // `env` is merged over the SDK's default environment (HOME, LOGNAME, PATH, SHELL, TERM, USER only), so the
  // child never sees the server's own environment (keys, cloud credentials).
  const transport = new StdioClientTransport({ command: spec.command, args: [...spec.args], env: { ...spec.env }, stderr: 'pipe' });
  let tail = Buffer.alloc(0);
  let cut = false;
  transport.stderr?.on('data', (chunk: Buffer | string) => {
    const next = Buffer.concat([tail, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    cut ||= next.length > STDERR_KEPT_BYTES;
    tail = next.length > STDERR_KEPT_BYTES ? next.subarray(next.length - STDERR_KEPT_BYTES) : next;
  });
  return {
    kind: 'stdio',
    transport,
    lastWords() {
      // The child's 'close' (which ends the transport) comes after its stderr has ended, so the tail is complete.
      const kept = tail.toString('utf8').replace(/^\uFFFD+/, '');
      const text = oneLine(redactSecrets(kept, Object.values(spec.env), cut), STDERR_TAIL_BYTES, 'end');
      return text === '' ? '' : `; its stderr ended with: ${text}`;
    },
    async terminate() {},
    kill() {
      const pid = transport.pid;
      if (pid !== null) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    },
    async dispose() {},
  };
}

async function openHttp(spec: Extract<UpstreamSpec, { transport: 'http' }>, policy: EgressPolicy): Promise<Link> {
  // Loaded with the first HTTP upstream: a server without one (most stdio servers) never pays for undici.
  const { Agent, buildConnector, fetch: undiciFetch } = await import('undici');
  const base = await policy.checkUrl(spec.url, 'url');
  const custom: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.headers)) {
    const lower = name.toLowerCase();
    try {
      http.validateHeaderName(lower);
      http.validateHeaderValue(lower, value);
    } catch {
      throw new MeshError('invalid_argument', `headers: "${name}" is not a valid HTTP header`, { field: 'headers' });
    }
    if (PROTOCOL_HEADERS.has(lower)) {
      throw new MeshError('invalid_argument', `headers: "${name}" is set by the MCP transport and cannot be configured`, { field: 'headers' });
    }
    custom[lower] = value;
  }

  // One pool per session. Each connection resolves its host through the policy's lookup for its own port, so a
  // name that re-resolves to a blocked address after checkUrl (DNS rebinding) is refused at connect time.
  const connectors = new Map<number, buildConnector.connector>();
  const agent = new Agent({
    headersTimeout: 0, // deadlines are the MCP layer's (a JSON response arrives only when the tool is done)
    bodyTimeout: 0, // the standalone SSE stream may be idle for a long time
    connect: (options, callback) => {
      const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
      let connector = connectors.get(port);
      if (!connector) {
        connector = buildConnector({ lookup: policy.lookupFor(port) });
        connectors.set(port, connector);
      }
      return connector(options, callback);
    },
  });

  /**
   * Reports the upstream gone, after the request that found out has failed with its own error (closing the
   * session at once would fail that request as "connection closed" instead).
   */
  const gone = (reason: string): void => {
    const onGone = link.onGone;
    link.onGone = undefined;
    if (onGone) setImmediate(() => onGone(reason));
  };

  /**
   * The transport's fetch: every request goes through the policed pool, carries the spec's headers (to the
   * spec's origin only: a redirect elsewhere does not get the credentials), and follows at most MAX_REDIRECTS
   * redirects, each target checked by the policy first (a literal IP is connected to without a lookup).
   */
  const policedFetch = async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    let url = new URL(String(input));
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body ?? undefined;
    const protocolHeaders: Record<string, string> = {};
    for (const [name, value] of new Headers(init.headers)) protocolHeaders[name] = value;
    const hadSession = 'mcp-session-id' in protocolHeaders;

    for (let hop = 0; ; hop++) {
      const headers = url.origin === base.origin ? { ...custom, ...protocolHeaders } : { ...protocolHeaders };
      let response: Awaited<ReturnType<typeof undiciFetch>>;
      try {
        response = await undiciFetch(url, {
          method,
          headers,
          body: body as string | undefined,
          signal: init.signal ?? null,
          redirect: 'manual',
          dispatcher: agent,
        });
      } catch (error) {
        throw fetchError(error, gone);
      }
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
      if (location === null) {
        if (response.status === 404 && hadSession) {
          // Read the (error) body now, so the transport's failure settles before `gone` closes the session.
          const text = await response.text().catch(() => '');
          gone('the upstream no longer knows the session (HTTP 404)');
          return new Response(text, { status: response.status, statusText: response.statusText, headers: new Headers([...response.headers]) });
        }
        return response as unknown as Response;
      }
      await response.body?.cancel().catch(() => undefined);
      if (hop === MAX_REDIRECTS) throw new MeshError('unavailable', `the upstream redirected more than ${MAX_REDIRECTS} times`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new MeshError('unavailable', `the upstream redirected to an invalid URL (HTTP ${response.status})`);
      }
      if (url.protocol === 'https:' && next.protocol === 'http:') {
        throw new MeshError('permission_denied', 'the upstream redirected from https to plain http; the redirect was not followed');
      }
      try {
        next = await policy.checkUrl(next.href, 'redirect');
      } catch (error) {
        if (error instanceof MeshError && error.code === 'permission_denied') {
          throw new MeshError('permission_denied', `the upstream redirected to a URL that is not allowed: ${error.message}`);
        }
        const reason = error instanceof Error ? error.message : String(error);
        throw new MeshError('unavailable', `the upstream redirected to a URL that cannot be used: ${reason}`);
      }
      // 303 (and 301/302 after a POST) turn the request into a GET without a body, as browsers do.
      if ((response.status === 303 && method !== 'GET' && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        delete protocolHeaders['content-type'];
        delete protocolHeaders['content-length'];
      }
      url = next;
    }
  };

  const transport = new StreamableHTTPClientTransport(base, {
    fetch: policedFetch,
    // Redirects are left to policedFetch, which checks every target; the SDK follows none itself.
    redirectPolicy: 'follow',
  });
  const link: Link = {
    kind: 'http',
    transport,
    lastWords: () => '',
    async terminate() {
      if (transport.sessionId === undefined) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        transport.terminateSession().catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, TERMINATE_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
    },
    kill() {},
    async dispose() {
      await agent.destroy().catch(() => undefined);
    },
  };
  return link;
}

/** A failed fetch (undici wraps the reason in `cause`) as a MeshError. */
function fetchError(error: unknown, gone: (reason: string) => void): unknown {
  if (error instanceof MeshError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error; // the transport is closing
  const cause = (error instanceof Error && error.cause) || error;
  const code = errorCode(cause);
  if (code === EGRESS_BLOCKED) return new MeshError('permission_denied', (cause as Error).message);
  if (code !== undefined && CONNECT_ERRORS.has(code)) {
    gone(`nothing answers at the upstream's address (${code})`);
    return unavailable(`could not connect to the upstream (${code})`);
  }
  const text = cause instanceof Error ? cause.message : String(cause);
  return new MeshError('unavailable', `the connection to the upstream failed: ${oneLine(code && !text.includes(code) ? `${code}: ${text}` : text, 300)}`);
}

/** Errors that mean a request never left: the connection itself failed. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(error: unknown): string | undefined {
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const code = errorCode(inner);
      if (code !== undefined) return code;
    }
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// The session

class SdkUpstreamSession implements UpstreamSession {
  serverInfo = { name: '', version: '' };
  private closed = false;
  private closedError: Error | undefined;
  private closing: Promise<void> | undefined;
  private closeRequested = false;
  private readonly toolsChangedListeners: Array<() => void> = [];
  private readonly progressListeners = new Map<string, (progress: UpstreamProgress) => void>();
  private requestIds = 0;
  /** Our own tools/call requests in flight, by id (see callTool). */
  private readonly pending = new Map<string, { resolve(result: unknown): void; reject(error: unknown): void; timer: NodeJS.Timeout }>();
  private readonly closedListeners: Array<(error?: Error) => void> = [];

  constructor(
    private readonly client: Client,
    private readonly link: Link,
  ) {
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      for (const listener of this.toolsChangedListeners) {
        try {
          listener();
        } catch {
          // a listener's failure is its own
        }
      }
    });
    client.onclose = () => this.transportClosed();
    link.onGone = (reason) => {
      this.closedError = new Error(reason);
      void this.close();
    };
  }

  /** Connects and initializes within `remainingMs`; `timeoutMs` is the caller's whole budget, for messages. */
  async initialize(remainingMs: number, timeoutMs: number): Promise<void> {
    try {
      await this.client.connect(this.link.transport, { timeout: remainingMs });
    } catch (error) {
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) throw timeoutError(timeoutMs);
      throw this.meshError(error, 'initialize', timeoutMs, true);
    }
    const info = this.client.getServerVersion();
    this.serverInfo = { name: info?.name ?? '', version: info?.version ?? '' };

    // Progress notifications are taken off the wire here, synchronously. The SDK dispatches notifications a
    // microtask later than responses, so its own onprogress misses a last progress that arrives together with the
    // response (and it drops the handler when the response comes).
    const transport = this.link.transport;
    const sdkOnMessage = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (this.settle(message)) return;
      if ('method' in message && message.method === 'notifications/progress' && !('id' in message)) {
        const params = (message.params ?? {}) as { progressToken?: unknown; progress?: unknown; total?: unknown; message?: unknown };
        const listener = typeof params.progressToken === 'string' ? this.progressListeners.get(params.progressToken) : undefined;
        if (listener) {
          if (typeof params.progress === 'number') {
            const update: UpstreamProgress = { progress: params.progress };
            if (typeof params.total === 'number') update.total = params.total;
            if (typeof params.message === 'string') update.message = params.message;
            try {
              listener(update);
            } catch {
              // a listener's failure is its own
            }
          }
          return;
        }
      }
      sdkOnMessage?.(message, extra);
    };
  }

  async listTools(timeoutMs: number): Promise<UpstreamTool[]> {
    const deadline = Date.now() + timeoutMs;
    const tools: UpstreamTool[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      let result: z.infer<typeof ListToolsResultSchema>;
      try {
        result = await this.client.request(
          { method: 'tools/list', params: cursor === undefined ? {} : { cursor } },
          ListToolsResultSchema,
          { timeout: Math.max(1, deadline - Date.now()) },
        );
      } catch (error) {
        throw this.meshError(error, 'tools/list', timeoutMs, false);
      }
      for (const tool of result.tools) tools.push(toUpstreamTool(tool));
      cursor = result.nextCursor;
      if (cursor === undefined || seen.has(cursor)) break;
      seen.add(cursor);
    }
    return tools;
  }

  /**
   * tools/call is the proxy's hot path, so it goes straight over the transport with an id of our own and its
   * answer is taken off the wire in `initialize`'s message hook: no per-call AbortController, timeout bookkeeping
   * and schema parse of the SDK's Protocol.request. Timeouts and aborts send notifications/cancelled, as the SDK
   * would.
   */
  async callTool(name: string, args: Record<string, unknown>, options: UpstreamCallOptions): Promise<CallToolResult> {
    // Nothing is sent on an ended session, so trying again (on a new one) is safe.
    if (this.closed) throw unavailable(`the upstream session has ended${this.closedError ? `: ${this.closedError.message}` : ''}`);
    const id = `agent-mesh-${++this.requestIds}`;
    // Progress goes to our own token (see initialize), not through the SDK's onprogress.
    const progressToken = options.onProgress ? `agent-mesh-progress-${this.requestIds}` : undefined;
    if (progressToken !== undefined) this.progressListeners.set(progressToken, options.onProgress!);
    const params = { name, arguments: args, ...(progressToken !== undefined && { _meta: { progressToken } }) };
    let onAbort: (() => void) | undefined;
    try {
      const raw = await new Promise<unknown>((resolve, reject) => {
        const cancel = (error: unknown, reason: string): void => {
          if (!this.pending.delete(id)) return;
          clearTimeout(timer);
          this.link.transport.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } }).catch(() => {});
          reject(error);
        };
        const timer = setTimeout(() => cancel(new McpError(ErrorCode.RequestTimeout, 'Request timed out'), 'timeout'), options.timeoutMs);
        this.pending.set(id, { resolve, reject, timer });
        if (options.signal) {
          onAbort = () => cancel(cancelled(options.signal!.reason), 'cancelled by the client');
          if (options.signal.aborted) return onAbort();
          options.signal.addEventListener('abort', onAbort, { once: true });
        }
        this.link.transport.send({ jsonrpc: '2.0', id, method: 'tools/call', params }).catch((error: unknown) => {
          if (!this.pending.delete(id)) return;
          clearTimeout(timer);
          reject(error);
        });
      });
      const result = asToolResult(raw);
      if (!result) throw new MeshError('unavailable', 'the upstream answered tools/call with something that is not a tool result');
      return result;
    } catch (error) {
      throw this.meshError(error, 'tools/call', options.timeoutMs, false);
    } finally {
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
      if (progressToken !== undefined) this.progressListeners.delete(progressToken);
    }
  }

  /** Settles a tools/call of ours; false when the message is not an answer to one. */
  private settle(message: JSONRPCMessage): boolean {
    if (!('id' in message) || typeof message.id !== 'string' || ('method' in message)) return false;
    const waiter = this.pending.get(message.id);
    if (!waiter) return false;
    this.pending.delete(message.id);
    clearTimeout(waiter.timer);
    if ('error' in message) waiter.reject(new McpError(message.error.code, message.error.message, message.error.data));
    else waiter.resolve((message as { result: unknown }).result);
    return true;
  }

  async ping(timeoutMs: number): Promise<void> {
    try {
      await this.client.ping({ timeout: timeoutMs });
    } catch (error) {
      throw this.meshError(error, 'ping', timeoutMs, false);
    }
  }

  /** Closes a session whose connect failed, without waiting for a stdio child to exit gracefully. */
  discard(): Promise<void> {
    if (!this.closed) this.link.kill();
    return this.close();
  }

  close(): Promise<void> {
    this.closeRequested = true;
    this.closing ??= (async () => {
      if (!this.closed && !this.closedError) await this.link.terminate();
      await this.client.close().catch(() => undefined);
      await this.link.dispose();
      // A transport that never started (spawn failed) does not report its end; make sure listeners hear it.
      this.transportClosed();
    })();
    return this.closing;
  }

  onToolsChanged(listener: () => void): void {
    this.toolsChangedListeners.push(listener);
  }

  /** Fires once; a listener added after the session ended is called on the next turn. */
  onClosed(listener: (error?: Error) => void): void {
    if (this.closed) queueMicrotask(() => listener(this.closedError));
    else this.closedListeners.push(listener);
  }

  private transportClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, waiter] of this.pending) {
      this.pending.delete(id);
      clearTimeout(waiter.timer);
      waiter.reject(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'));
    }
    if (!this.closeRequested) {
      // The upstream went away on its own.
      this.closedError ??= new Error(this.link.kind === 'stdio' ? `the upstream process exited${this.link.lastWords()}` : 'the upstream closed the connection');
    }
    if (!this.closeRequested) void this.close(); // release the pool, clear the SDK's state
    const listeners = this.closedListeners.splice(0);
    for (const listener of listeners) {
      try {
        listener(this.closedError);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /**
   * Maps an SDK failure to a MeshError. JSON-RPC errors the upstream sent for a request:
   * - -32602 invalid params, -32600 invalid request, -32700 parse error → invalid_argument (the call as made
   *   cannot succeed), except an invalid-params error whose message says the tool is unknown ("not found",
   *   "unknown tool"), which is how servers report an unknown tool name → not_found;
   * - -32601 method not found, -32002 resource not found → not_found;
   * - anything else (-32603 internal error, server-defined codes) → unavailable, not retryable (the request was
   *   delivered, so it may have had effects).
   * Local failures: the SDK's own timeout → timeout; the connection closing while a request was pending →
   * unavailable, not retryable (it was sent); no connection at all (spawn failed, refused, not connected) →
   * unavailable, retryable.
   */
  private meshError(error: unknown, method: string, timeoutMs: number, connecting: boolean): MeshError {
    if (error instanceof MeshError) return error;
    if (error instanceof McpError) {
      if (error.code === ErrorCode.RequestTimeout) {
        return new MeshError('timeout', `the upstream did not answer ${method} within ${timeoutMs} ms`);
      }
      if (error.code === ErrorCode.ConnectionClosed && this.closed) {
        if (connecting) {
          return unavailable(
            this.link.kind === 'stdio'
              ? `the upstream process exited before initialize completed${this.link.lastWords()}`
              : `the upstream closed the connection before initialize completed`,
          );
        }
        if (this.closeRequested && !this.closedError) return unavailable('the upstream session was closed');
        return new MeshError('unavailable', `upstream closed the connection before answering ${method}: ${this.closedError?.message ?? 'it went away'}`);
      }
      const message = `upstream error ${error.code}: ${oneLine(error.message.replace(/^MCP error -?\d+: /, ''), 500)}`;
      switch (error.code) {
        case ErrorCode.InvalidParams:
          return new MeshError(/\bnot found\b|\bunknown tool\b|\bno such tool\b/i.test(error.message) ? 'not_found' : 'invalid_argument', message);
        case ErrorCode.InvalidRequest:
        case ErrorCode.ParseError:
          return new MeshError('invalid_argument', message);
        case ErrorCode.MethodNotFound:
        case -32002:
          return new MeshError('not_found', message);
        default:
          return new MeshError('unavailable', message);
      }
    }
    if (error instanceof StreamableHTTPError) return httpStatusError(error, method, connecting);
    const code = errorCode(error);
    if (code !== undefined && code.startsWith('ERR_INVALID_ARG') && this.link.kind === 'stdio' && connecting) {
      return new MeshError('invalid_argument', `the command or its arguments are invalid: ${oneLine(error instanceof Error ? error.message : String(error), 200)}`);
    }
    if (code !== undefined && /^E[A-Z]+$/.test(code) && this.link.kind === 'stdio' && connecting) {
      // spawn failed: ENOENT (no such command), EACCES (not executable), ...
      const what = code === 'ENOENT' ? 'the command was not found' : code === 'EACCES' ? 'the command is not executable' : 'spawn failed';
      return unavailable(`could not start the upstream process: ${what} (${code})`);
    }
    if (error instanceof Error && error.message === 'Not connected') return unavailable('the upstream session is closed');
    if (error instanceof z.ZodError || (error instanceof Error && error.name === 'ZodError')) {
      return new MeshError('unavailable', `the upstream sent an invalid ${method} result`);
    }
    const text = error instanceof Error ? error.message : String(error);
    return new MeshError('unavailable', `${method} failed: ${oneLine(text, 300)}`);
  }
}

function httpStatusError(error: StreamableHTTPError, method: string, connecting: boolean): MeshError {
  const status = error.code ?? -1;
  const detail = oneLine(error.message.replace(/^Streamable HTTP error: /, ''), 200);
  if (status === -1) return new MeshError('unavailable', `the upstream answered ${method} with something that is not MCP: ${detail}`);
  const line = `the upstream answered ${method} with HTTP ${status}`;
  if (status === 401 || status === 403) return new MeshError('permission_denied', `${line}; check the credentials in the headers`);
  if (status === 404 && !connecting) return unavailable(`${line}: the upstream no longer knows the session`);
  if (status === 408 || status === 429 || status === 502 || status === 503 || status === 504) return unavailable(`${line}: ${detail}`);
  if (connecting && status >= 400 && status < 500) {
    return new MeshError('invalid_argument', `${line}: is the URL an MCP Streamable HTTP endpoint? (${detail})`, { field: 'url' });
  }
  return new MeshError('unavailable', `${line}: ${detail}`);
}

/** An aborted call: the caller's own reason when it is a MeshError, else timeout or cancellation. */
function cancelled(reason: unknown): MeshError {
  if (reason instanceof MeshError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new MeshError('timeout', 'the call was aborted: its deadline passed');
  return new MeshError('unavailable', 'the call was cancelled before the upstream answered');
}

function toUpstreamTool(tool: z.infer<typeof ListToolsResultSchema>['tools'][number]): UpstreamTool {
  return {
    name: tool.name,
    ...(tool.title !== undefined && { title: tool.title }),
    ...(tool.description !== undefined && { description: tool.description }),
    inputSchema: tool.inputSchema as Record<string, unknown>,
    ...(tool.outputSchema !== undefined && { outputSchema: tool.outputSchema as Record<string, unknown> }),
    ...(tool.annotations !== undefined && { annotations: tool.annotations as Record<string, unknown> }),
  };
}

/** Whitespace runs (newlines too) as single spaces, cut to `max` characters keeping the start or the end. */
function oneLine(text: string, max: number, keep: 'start' | 'end' = 'start'): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  return keep === 'start' ? `${line.slice(0, max - 1)}…` : `…${line.slice(line.length - max + 1)}`;
}
