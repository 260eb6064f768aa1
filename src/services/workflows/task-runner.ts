import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { asMeshError } from '../../errors.js';
import type { TenantSession } from '../../tenancy/session.js';

/** Runs an agent-mesh tool by name as a session (the composition root wires it to the MCP tool table). */
export type ToolInvoker = (session: TenantSession, tool: string, args: Record<string, unknown>, signal: AbortSignal) => Promise<CallToolResult>;
/** Calls a tool of a registered integration (the proxy). */
export type UpstreamInvoker = (session: TenantSession, integration: string, tool: string, args: Record<string, unknown>, signal: AbortSignal) => Promise<CallToolResult>;

export type TaskOutcome = { ok: true; output: unknown } | { ok: false; error: string; cause: string };

const textOf = (result: CallToolResult): string =>
  result.content
    .map((block) => (block.type === 'text' ? (block as { text: string }).text : `[${block.type}]`))
    .join('\n');

/**
 * Runs a Task state's resource: `agent-mesh:<tool>` or `mcp:<integration>/<tool>`, with the state's input as
 * arguments, as the execution's tenant. A tool's structuredContent (else its text, parsed as JSON when it is
 * JSON) is the result. Failures become ASL errors the definition can Retry or Catch: `agent-mesh.<code>` for
 * refusals (e.g. agent-mesh.rate_limited), `mcp.ToolError` for an upstream tool's isError, States.Timeout past
 * TimeoutSeconds.
 */
export async function runTask(
  session: TenantSession,
  resource: string,
  input: unknown,
  timeoutSeconds: number | undefined,
  invoke: { tool: ToolInvoker; upstream: UpstreamInvoker },
  /** Cancels the task from outside (a remote engine gave up on it). */
  signal?: AbortSignal,
): Promise<TaskOutcome> {
  const args = (typeof input === 'object' && input !== null && !Array.isArray(input) ? input : { input }) as Record<string, unknown>;
  const abort = new AbortController();
  signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const timer = timeoutSeconds === undefined ? undefined : setTimeout(() => abort.abort(), timeoutSeconds * 1000);
  try {
    const call = async (): Promise<CallToolResult> => {
      if (resource.startsWith('agent-mesh:')) return invoke.tool(session, resource.slice('agent-mesh:'.length), args, abort.signal);
      const match = /^mcp:([^/]+)\/(.+)$/.exec(resource);
      if (match) return invoke.upstream(session, match[1]!, match[2]!, args, abort.signal);
      return { isError: true, content: [{ type: 'text', text: `unsupported resource ${resource}` }], structuredContent: { error: { code: 'invalid_argument' } } };
    };
    const timeout = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(new Error('timeout')), { once: true }));
    const result = await Promise.race([call(), timeout]);
    if (result.isError) {
      const code = (result.structuredContent as { error?: { code?: string } } | undefined)?.error?.code;
      return { ok: false, error: code ? `agent-mesh.${code}` : 'mcp.ToolError', cause: textOf(result).slice(0, 32_000) };
    }
    if (result.structuredContent !== undefined) return { ok: true, output: result.structuredContent };
    const text = textOf(result);
    try {
      return { ok: true, output: JSON.parse(text) };
    } catch {
      return { ok: true, output: text };
    }
  } catch (error) {
    if (abort.signal.aborted) return { ok: false, error: 'States.Timeout', cause: `the task did not finish within ${timeoutSeconds} seconds` };
    const meshError = asMeshError(error);
    return { ok: false, error: `agent-mesh.${meshError.code}`, cause: meshError.message };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
