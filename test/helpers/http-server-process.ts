import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SERVER_ENTRY } from './server-process.js';

export interface HttpServerProcess {
  url: string;
  child: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** `agent-mesh serve` as a child on a free loopback port; resolves once it prints its URL. */
export async function startHttpServerProcess(env: Record<string, string>, args: string[] = []): Promise<HttpServerProcess> {
  const child = spawn(process.execPath, [SERVER_ENTRY, 'serve', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const match = /serving MCP at (\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    child,
    stderr: () => stderr,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs an admin command (tenants, keys) and returns its stdout, throwing on failure. */
export function admin(env: Record<string, string>, ...args: string[]): string {
  const run = spawnSync(process.execPath, [SERVER_ENTRY, ...args], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`agent-mesh ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return run.stdout.trim();
}

/**
 * Like `admin`, without blocking this process: needed when the backend the command talks to (an emulator)
 * runs inside the test process.
 */
export async function adminAsync(env: Record<string, string>, ...args: string[]): Promise<string> {
  const run = await runCli(env, ...args);
  if (run.status !== 0) throw new Error(`agent-mesh ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return run.stdout.trim();
}

export function runCli(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SERVER_ENTRY, ...args], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

export async function httpClient(url: string, token?: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {});
  const client = new Client({ name: 'agent-mesh-tests', version: '1.0.0' });
  await client.connect(transport);
  return client;
}
