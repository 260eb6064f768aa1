import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** The built server, as a user runs it (npm test builds first). */
export const SERVER_ENTRY = resolve(import.meta.dirname, '../../dist/cli/main.js');

export function tempDataDir(label = 'agent-mesh-test'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A temp folder made on first use, so a describe filtered out by `-t` leaves nothing behind. */
export function lazyTempDir(label: string): { readonly dir: string; cleanup(): void } {
  let made: { dir: string; cleanup(): void } | undefined;
  return {
    get dir() {
      return (made ??= tempDataDir(label)).dir;
    },
    cleanup() {
      made?.cleanup();
    },
  };
}

export function writeConfig(dir: string, config: unknown, name = 'agent-mesh.json'): string {
  const path = join(dir, name);
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}

export interface ServerHandle {
  client: Client;
  transport: StdioClientTransport;
  /** The child's pid, for kill -9 tests. */
  pid: number;
  stderr(): string;
  /** Waits until stderr matches: the server's log is written asynchronously, so it can follow the reply it explains. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** Starts `node dist/cli/main.js` as a child over stdio and connects the official SDK client. */
export async function startServer(env: Record<string, string>): Promise<ServerHandle> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_ENTRY],
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const client = new Client({ name: 'agent-mesh-tests', version: '1.0.0' });
  try {
    await client.connect(transport);
  } catch (error) {
    // A server that died at start-up says why on stderr; without it the client only sees "Connection closed".
    await new Promise((resolve) => setTimeout(resolve, 100));
    throw new Error(`agent-mesh did not start: ${(error as Error).message}\n${stderr.slice(-4000)}`);
  }
  return {
    client,
    transport,
    pid: transport.pid!,
    stderr: () => stderr,
    waitForStderr: async (pattern, timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stderr)) {
        if (Date.now() > deadline) throw new Error(`stderr never matched ${pattern}:\n${stderr.slice(-4000)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return stderr;
    },
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    // Waits for the process to exit too: it flushes (audit, deliveries) on the way out, and a test must not
    // stop the store under it (an in-process emulator) before it is done.
    close: async () => {
      const pid = transport.pid;
      await client.close();
      if (pid !== null) await waitForExit(pid);
    },
  };
}

async function waitForExit(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export type Structured = Record<string, unknown> & { error?: { code: string; message: string; retry_after_ms?: number; field?: string } };

export const structured = (result: CallToolResult): Structured => result.structuredContent as Structured;
export const errorCode = (result: CallToolResult): string | undefined => (result.isError ? structured(result).error?.code : undefined);
