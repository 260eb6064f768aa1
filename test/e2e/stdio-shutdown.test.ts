/**
 * How a stdio server stops. MCP clients stop a stdio server by closing its stdin (then SIGTERM), and a
 * pipeline (`… | agent-mesh`) ends the same way: every call already sent must still be carried out and
 * answered, and the process must then exit by itself with status 0.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVER_ENTRY, lazyTempDir, startServer, structured } from '../helpers/server-process.js';

const CALLS = 120;
const data = lazyTempDir('agent-mesh-stdio-shutdown');
afterAll(() => data.cleanup());

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  responses: { id: number; result?: { isError?: boolean }; error?: unknown }[];
}

/** Writes every line at once, then either closes stdin or sends `signal`, and collects the answers. */
function runBatch(dataDir: string, lines: unknown[], end: 'stdin' | NodeJS.Signals): Promise<Outcome> {
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', AGENT_MESH_DATA_DIR: dataDir },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  let signalled = false;
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    // The signal goes once the server has answered initialize, with the calls behind it still running.
    if (end !== 'stdin' && !signalled && stdout.includes('"id":"init"')) {
      signalled = true;
      child.kill(end);
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.stdin.write(lines.map((line) => JSON.stringify(line) + '\n').join(''));
  if (end === 'stdin') child.stdin.end();
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      const responses = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Outcome['responses'][number])
        .filter((message) => typeof message.id === 'number');
      resolve({ code, signal, responses });
    });
  });
}

function writes(prefix: string): unknown[] {
  const handshake = [
    { jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'shutdown-test', version: '1' } } },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
  ];
  const calls = Array.from({ length: CALLS }, (_, i) => ({
    jsonrpc: '2.0',
    id: i,
    method: 'tools/call',
    params:
      i % 2 === 0
        ? { name: 'kv_set', arguments: { key: `${prefix}/kv-${i}`, value: { i } } }
        : { name: 'artifacts_put', arguments: { key: `${prefix}/file-${i}.txt`, content: `body ${i} `.repeat(2000) } },
  }));
  // One call through the SDK's own path (a progress token), which aborts its handlers on close.
  const viaSdk = { jsonrpc: '2.0', id: CALLS, method: 'tools/call', params: { name: 'kv_set', arguments: { key: `${prefix}/via-sdk`, value: 1 }, _meta: { progressToken: 7 } } };
  return [...handshake, ...calls, viaSdk];
}

async function expectAllStored(prefix: string): Promise<void> {
  const server = await startServer({ AGENT_MESH_DATA_DIR: data.dir });
  try {
    for (let i = 0; i < CALLS; i++) {
      const result = await server.call(i % 2 === 0 ? 'kv_get' : 'artifacts_get', { key: i % 2 === 0 ? `${prefix}/kv-${i}` : `${prefix}/file-${i}.txt` });
      expect(result.isError, `call ${i} was acknowledged but is not stored`).toBeFalsy();
      if (i % 2 === 0) expect(structured(result).value).toEqual({ i });
      else expect(structured(result).content).toBe(`body ${i} `.repeat(2000));
    }
    expect(structured(await server.call('kv_get', { key: `${prefix}/via-sdk` })).value).toBe(1);
  } finally {
    await server.close();
  }
  expect(readdirSync(join(data.dir, 'artifacts', '.tmp'))).toEqual([]);
}

describe('stopping a stdio server', () => {
  it('answers every call sent before stdin closed, stores them all, and exits 0', async () => {
    const outcome = await runBatch(data.dir, writes('eof'), 'stdin');
    expect(outcome).toMatchObject({ code: 0, signal: null });
    const answered = new Map(outcome.responses.map((response) => [response.id, response]));
    for (let id = 0; id <= CALLS; id++) {
      expect(answered.get(id), `call ${id} got no answer`).toBeDefined();
      expect(answered.get(id)!.error).toBeUndefined();
      expect(answered.get(id)!.result?.isError).toBeFalsy();
    }
    await expectAllStored('eof');
  }, 60_000);

  it('on SIGTERM finishes the calls it has received, answers them, and exits 0', async () => {
    const outcome = await runBatch(data.dir, writes('term'), 'SIGTERM');
    expect(outcome).toMatchObject({ code: 0, signal: null });
    expect(outcome.responses.length).toBeGreaterThan(0);
    // Lines still unread when the signal came are never taken; every call that was taken is answered.
    for (const response of outcome.responses) expect(response.error ?? response.result?.isError ?? undefined).toBeUndefined();
    const server = await startServer({ AGENT_MESH_DATA_DIR: data.dir });
    try {
      for (const { id } of outcome.responses) {
        const tool = id % 2 === 0 || id === CALLS ? 'kv_get' : 'artifacts_get';
        const key = id === CALLS ? 'term/via-sdk' : id % 2 === 0 ? `term/kv-${id}` : `term/file-${id}.txt`;
        expect((await server.call(tool, { key })).isError, `acknowledged call ${id} is not stored`).toBeFalsy();
      }
    } finally {
      await server.close();
    }
  }, 60_000);
});
