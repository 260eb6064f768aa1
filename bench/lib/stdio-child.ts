import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export const MESH_ENTRY = resolve(import.meta.dirname, '../../dist/cli/main.js');

/** High enough that no call of a benchmark is ever rate limited. */
export const UNLIMITED = { capacity: 100_000_000, refillPerSecond: 100_000_000 };

export interface Child {
  label: string;
  client: Client;
  stderr(): string;
  /** Calls a tool and throws if it returns an error result. */
  call(tool: string, args: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** A server as a child process under plain `node`, with one official SDK client, as MCP clients run them. */
export async function startChild(label: string, entry: string, env: Record<string, string>, listTools = true, nodeArgs: string[] = []): Promise<Child> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...nodeArgs, entry],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const client = new Client({ name: 'agent-mesh-bench', version: '1.0.0' });
  await client.connect(transport);
  // Real clients list tools first, after which the SDK client validates structuredContent against outputSchema.
  if (listTools) await client.listTools();
  return {
    label,
    client,
    stderr: () => stderr,
    call: async (tool, args) => {
      const result = (await client.callTool({ name: tool, arguments: args })) as CallToolResult;
      if (result.isError) throw new Error(`${label} ${tool} failed: ${JSON.stringify(result.structuredContent ?? result.content)}\n${stderr}`);
      return result;
    },
    close: () => client.close(),
  };
}

export function positiveIntFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return value;
}
