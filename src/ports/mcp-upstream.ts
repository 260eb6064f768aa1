import type { CancelSignal } from '../cancellation.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { TenantSession } from '../tenancy/session.js';

/** How to reach an upstream MCP server. Secrets are already decrypted here; never log a spec. */
export type UpstreamSpec =
  | { transport: 'stdio'; command: string; args: string[]; env: Record<string, string> }
  | { transport: 'http'; url: string; headers: Record<string, string> };

export interface UpstreamTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export interface UpstreamProgress {
  progress: number;
  total?: number;
  message?: string;
}

export interface UpstreamCallOptions {
  timeoutMs: number;
  signal?: CancelSignal;
  onProgress?: (progress: UpstreamProgress) => void;
}

/** One open client session to one upstream, for one tenant. */
export interface UpstreamSession {
  readonly serverInfo: { name: string; version: string };
  /** Every page of tools/list. */
  listTools(timeoutMs: number): Promise<UpstreamTool[]>;
  /** The upstream's result, untouched: every content type, structuredContent, isError, _meta. */
  callTool(name: string, args: Record<string, unknown>, options: UpstreamCallOptions): Promise<CallToolResult>;
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
  /** The upstream sent notifications/tools/list_changed. */
  onToolsChanged(listener: () => void): void;
  /** The session ended (process exited, connection dropped, or close()). */
  onClosed(listener: (error?: Error) => void): void;
}

/**
 * Opens client sessions to upstream MCP servers. Failures throw MeshError: `unavailable` with
 * `retryable: true` when nothing was sent yet (connect refused, process failed to start),
 * `timeout` when a deadline passed, `permission_denied` for egress refusals, `invalid_argument` for a
 * bad spec.
 */
export interface UpstreamConnector {
  connect(session: TenantSession, spec: UpstreamSpec, options: { timeoutMs: number }): Promise<UpstreamSession>;
}
