import { structured, type ServerHandle } from './server-process.js';

export type Execution = {
  execution_id: string;
  status: string;
  output?: unknown;
  error?: string;
  cause?: string;
  stopped_at: string | null;
  history?: { type: string; state?: string; at: string }[];
};

/** Polls workflow_status until the execution has ended (or the time is up) and returns the last status. */
export async function executionEnd(server: ServerHandle, id: string, timeoutMs = 20_000): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = structured(await server.call('workflow_status', { execution_id: id })) as unknown as Execution;
    if (status.status !== 'RUNNING' || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
