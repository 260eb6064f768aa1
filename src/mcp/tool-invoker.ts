import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MeshError, asMeshError } from '../errors.js';
import type { Services } from '../services/index.js';
import type { TenantSession } from '../tenancy/session.js';
import { toolError } from './errors.js';
import { parseToolArguments } from './tool-arguments.js';
import type { Tool } from './tool.js';

/**
 * Runs an agent-mesh tool by name as a session, exactly as a client's tools/call would (the same argument
 * checks, permissions and rate limits): how workflow Task states reach `agent-mesh:<tool>`.
 */
export function toolInvoker(tools: readonly Tool[], services: () => Services) {
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  return async (session: TenantSession, name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> => {
    const tool = byName.get(name);
    if (!tool) return toolError(new MeshError('not_found', `no agent-mesh tool "${name}"`));
    try {
      return await tool.invoke({ session, services: services(), signal }, parseToolArguments(tool, args));
    } catch (error) {
      return toolError(asMeshError(error));
    }
  };
}
