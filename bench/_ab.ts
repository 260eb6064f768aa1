/**
 * The servers' own time per call, measured inside each process: from a request's bytes arriving on stdin
 * to the response being written to stdout (bench/lib/server-time-hook.mjs, preloaded into every server
 * alike). Unlike calls/s over stdio (bench/stdio-throughput.ts), this leaves out the client and the
 * wake-ups of two processes ping-ponging on a pipe, which on a small VM are most of a round trip and
 * swing with the machine's idle state. Same servers and calls as stdio-throughput.
 *
 *   npm run bench:server-time          (BENCH_CALLS=3000 BENCH_ROUNDS=3 BENCH_BLOCK=250)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MESH_ENTRY, UNLIMITED, positiveIntFromEnv, startChild, type Child } from './lib/stdio-child.js';
import { fixed, percentile, round3 } from './lib/stats.js';
import { runMain } from './lib/run-main.js';

const CALLS = positiveIntFromEnv('BENCH_CALLS', 3000);
const ROUNDS = positiveIntFromEnv('BENCH_ROUNDS', 3);
const BLOCK = positiveIntFromEnv('BENCH_BLOCK', 250);
const WARMUP = 300;
const HOOK = resolve(import.meta.dirname, 'lib/server-time-hook.mjs');

interface Server {
  name: string;
  entry: string;
  tool: string;
  args(i: number): Record<string, unknown>;
  mesh?: boolean;
}

const SERVERS: Server[] = [
  { name: 'echo', entry: resolve(import.meta.dirname, 'echo-server.mjs'), tool: 'echo', args: () => ({ text: 'hello' }) },
  { name: 'echo_structured', entry: resolve(import.meta.dirname, 'echo-structured-server.mjs'), tool: 'echo', args: () => ({ text: 'bench/get' }) },
  { name: 'kv_get', entry: MESH_ENTRY, mesh: true, tool: 'kv_get', args: () => ({ key: 'bench/get' }) },
  { name: 'kv_get_base', entry: '/tmp/base/dist/cli/main.js', mesh: true, tool: 'kv_get', args: () => ({ key: 'bench/get' }) },
  { name: 'kv_set_base', entry: '/tmp/base/dist/cli/main.js', mesh: true, tool: 'kv_set', args: (i) => ({ key: `bench/set-${i % 100}`, value: { n: i, note: 'bench', tags: ['a', 'b'] } }) },
  { name: 'kv_set', entry: MESH_ENTRY, mesh: true, tool: 'kv_set', args: (i) => ({ key: `bench/set-${i % 100}`, value: { n: i, note: 'bench', tags: ['a', 'b'] } }) },
];

async function samplesOf(file: string): Promise<number[]> {
  for (let waited = 0; !existsSync(file) && waited < 10_000; waited += 50) await sleep(50);
  return JSON.parse(readFileSync(file, 'utf8')) as number[];
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'agent-mesh-bench-server-time-'));
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify({ defaults: { rateLimits: { dynamodb: UNLIMITED, s3: UNLIMITED } } }));
  // One process per operation (the two mesh ones share a data folder), so each file holds one kind of call.
  const children = new Map<Server, Child>();
  try {
    for (const server of SERVERS) {
      const env: Record<string, string> = { BENCH_SERVER_TIME_FILE: join(root, `${server.name}.json`) };
      if (server.mesh) Object.assign(env, { AGENT_MESH_DATA_DIR: join(root, 'data'), AGENT_MESH_CONFIG: config, LOG_LEVEL: 'warn' });
      children.set(server, await startChild(server.name, server.entry, env, true, ['--import', HOOK]));
    }
    const kvGet = SERVERS.find((server) => server.name === 'kv_get')!;
    await children.get(kvGet)!.call('kv_set', { key: 'bench/get', value: { hello: 'world', n: 1 } });
    await children.get(SERVERS.find((server) => server.name === 'kv_get_base')!)!.call('kv_set', { key: 'bench/get', value: { hello: 'world', n: 1 } });
    for (const [server, child] of children) for (let i = 0; i < WARMUP; i++) await child.call(server.tool, server.args(i));
    // Blocks in turn across all servers, so drift in machine load hits each alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (let start = 0; start < CALLS; start += BLOCK) {
        for (const [server, child] of children) {
          for (let i = start; i < Math.min(CALLS, start + BLOCK); i++) await child.call(server.tool, server.args(i));
        }
      }
    }
  } finally {
    for (const child of children.values()) await child.close().catch(() => {});
  }
  try {
    const measured = ROUNDS * CALLS; // the last samples; before them: initialize, tools/list, the seed, the warm-up
    const results = new Map<string, number[]>();
    for (const server of SERVERS) {
      const all = await samplesOf(join(root, `${server.name}.json`));
      results.set(server.name, all.slice(-measured).sort((a, b) => a - b));
    }
    const echoP50 = percentile(results.get('echo')!, 0.5);
    console.log(`\nserver time per call, inside each process (stdin data → stdout write); ${ROUNDS}×${CALLS} calls per server after ${WARMUP} warm-up; node ${process.version}\n`);
    console.log(`${'operation'.padEnd(16)} ${'p50 µs'.padStart(8)} ${'p90 µs'.padStart(8)} ${'p99 µs'.padStart(8)}   p50 vs echo`);
    const json: Record<string, unknown> = {};
    for (const [name, sorted] of results) {
      const [p50, p90, p99] = [0.5, 0.9, 0.99].map((q) => percentile(sorted, q) * 1000) as [number, number, number];
      console.log(`${name.padEnd(16)} ${fixed(p50, 1).padStart(8)} ${fixed(p90, 1).padStart(8)} ${fixed(p99, 1).padStart(8)}   ${fixed(p50 / (echoP50 * 1000), 2)}×`);
      json[name] = { p50_us: round3(p50), p90_us: round3(p90), p99_us: round3(p99), p50_vs_echo: round3(p50 / (echoP50 * 1000)), calls: sorted.length };
    }
    console.log(`BENCH_JSON ${JSON.stringify({ calls: CALLS, rounds: ROUNDS, node: process.version, operations: json })}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

runMain(main);
