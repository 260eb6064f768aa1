/**
 * Sequential stdio throughput of agent-mesh against a baseline MCP server (the SDK's McpServer with one
 * `echo` tool, bench/echo-server.mjs). Both run as children under plain `node`, each with one official SDK
 * client (Client + StdioClientTransport) in this process, one call in flight at a time.
 *
 *   npm run bench                      (builds, then runs this file with tsx)
 *   BENCH_CALLS=3000 BENCH_WARMUP=300 BENCH_ROUNDS=3 BENCH_BLOCK=250 BENCH_LIST_TOOLS=1
 *
 * Each operation's calls alternate with echo calls in blocks, so drift in machine load hits both alike;
 * each operation reports its median round by ratio to echo. It is a measurement,
 * not a test: it exits 0 whether or not the targets are met, and non-zero only if a call fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MESH_ENTRY, UNLIMITED, positiveIntFromEnv, startChild, type Child } from './lib/stdio-child.js';
import { fixed, medianBy, round3, summarize, type LatencySummary } from './lib/stats.js';
import { runMain } from './lib/run-main.js';

const CALLS = positiveIntFromEnv('BENCH_CALLS', 3000);
const WARMUP = positiveIntFromEnv('BENCH_WARMUP', 300);
const ROUNDS = positiveIntFromEnv('BENCH_ROUNDS', 3);
const BLOCK = positiveIntFromEnv('BENCH_BLOCK', 250);
/** Real clients call tools/list, after which the SDK client validates structuredContent against outputSchema. */
const LIST_TOOLS = process.env.BENCH_LIST_TOOLS !== '0';

const ECHO_ENTRY = resolve(import.meta.dirname, 'echo-server.mjs');
const ECHO_STRUCTURED_ENTRY = resolve(import.meta.dirname, 'echo-structured-server.mjs');

const BENCH_CONFIG = { defaults: { rateLimits: { dynamodb: UNLIMITED, s3: UNLIMITED } } };

const ROTATING_KEYS = 100;
const ARTIFACT_CONTENT = 'x'.repeat(1024);

const TARGETS: Record<string, number> = { kv_get: 0.9, kv_set: 0.8 };

interface Operation {
  name: string;
  child: Child;
  tool: string;
  args(i: number): Record<string, unknown>;
}

type RoundResult = LatencySummary;

async function callOnce(op: Operation, i: number): Promise<void> {
  await op.child.call(op.tool, op.args(i));
}

async function warmUp(op: Operation): Promise<void> {
  for (let i = 0; i < WARMUP; i++) await callOnce(op, i);
}

/**
 * `CALLS` calls of `op` and `CALLS` echo calls, one in flight at a time, in alternating blocks of `BLOCK`
 * (which side goes first alternates too). Within a block a server runs back to back, as it does for an
 * agent making calls in a row; across blocks both sides see the same machine, since the load of a shared
 * 2-core box drifts within seconds. (Alternating single calls instead would measure servers that are cold
 * on every call.) calls/s is from the summed latencies of each side.
 */
async function measurePair(op: Operation, echo: Operation): Promise<{ op: RoundResult; echo: RoundResult }> {
  const latencies = new Map<Operation, number[]>([
    [op, []],
    [echo, []],
  ]);
  const block = async (which: Operation, start: number): Promise<void> => {
    for (let i = start; i < Math.min(CALLS, start + BLOCK); i++) {
      const before = performance.now();
      await callOnce(which, i);
      latencies.get(which)!.push(performance.now() - before);
    }
  };
  for (let start = 0, turn = 0; start < CALLS; start += BLOCK, turn++) {
    const [first, second] = turn % 2 === 0 ? [echo, op] : [op, echo];
    await block(first, start);
    await block(second, start);
  }
  return { op: summarize(latencies.get(op)!), echo: summarize(latencies.get(echo)!) };
}

function operations(echo: Child, echoStructured: Child, mesh: Child): Operation[] {
  return [
    { name: 'echo', child: echo, tool: 'echo', args: () => ({ text: 'hello' }) },
    { name: 'echo_structured', child: echoStructured, tool: 'echo', args: () => ({ text: 'bench/get' }) },
    { name: 'kv_get', child: mesh, tool: 'kv_get', args: () => ({ key: 'bench/get' }) },
    {
      name: 'kv_set',
      child: mesh,
      tool: 'kv_set',
      args: (i) => ({ key: `bench/set-${i % ROTATING_KEYS}`, value: { n: i, note: 'bench', tags: ['a', 'b'] } }),
    },
    {
      name: 'artifacts_put',
      child: mesh,
      tool: 'artifacts_put',
      args: (i) => ({ key: `bench/put-${i % ROTATING_KEYS}.txt`, content: ARTIFACT_CONTENT }),
    },
  ];
}

async function seed(mesh: Child): Promise<void> {
  await mesh.call('kv_set', { key: 'bench/get', value: { hello: 'world', n: 1 } });
}

interface PairedRound {
  op: RoundResult;
  echo: RoundResult;
  ratio: number;
}

async function runRounds(ops: Operation[]): Promise<Map<string, PairedRound[]>> {
  for (const op of ops) await warmUp(op);
  const echo = ops.find((op) => op.name === 'echo')!;
  const results = new Map<string, PairedRound[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const op of ops) {
      if (op === echo) continue;
      const pair = await measurePair(op, echo);
      const paired = { ...pair, ratio: pair.op.callsPerSecond / pair.echo.callsPerSecond };
      results.set(op.name, [...(results.get(op.name) ?? []), paired]);
      process.stderr.write(
        `round ${round}/${ROUNDS} ${op.name.padEnd(14)} ${format(pair.op)}   paired echo ${format(pair.echo)}   ratio ${fixed(paired.ratio, 3)}\n`,
      );
    }
  }
  return results;
}

const medianRound = (rounds: PairedRound[]): PairedRound => medianBy(rounds, (round) => round.ratio);

const format = (r: RoundResult): string =>
  `${fixed(r.callsPerSecond, 0).padStart(7)} calls/s  p50 ${fixed(r.p50Ms, 3)} ms  p99 ${fixed(r.p99Ms, 3)} ms`;

function printReport(summary: Map<string, PairedRound>): void {
  console.log(`\nagent-mesh stdio throughput — sequential callTool, ${CALLS} calls per operation alternating with ${CALLS} echo calls in blocks of ${BLOCK},`);
  console.log(`${ROUNDS} rounds after ${WARMUP} warm-up calls; median round by ratio; node ${process.version}; client tools/list ${LIST_TOOLS ? 'on (output validated)' : 'off'}\n`);
  console.log(`${'operation'.padEnd(14)} ${'calls/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}   ${'echo calls/s'.padStart(12)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}   ratio`);
  for (const [name, r] of summary) {
    const target = TARGETS[name];
    const verdict = target === undefined ? '(no target)' : `target >= ${target}  ${r.ratio >= target ? 'PASS' : 'BELOW'}`;
    console.log(
      `${name.padEnd(14)} ${fixed(r.op.callsPerSecond, 0).padStart(9)} ${fixed(r.op.p50Ms, 3).padStart(9)} ${fixed(r.op.p99Ms, 3).padStart(9)}   ` +
        `${fixed(r.echo.callsPerSecond, 0).padStart(12)} ${fixed(r.echo.p50Ms, 3).padStart(9)} ${fixed(r.echo.p99Ms, 3).padStart(9)}   ${fixed(r.ratio, 3)}  ${verdict}`,
    );
  }
  const structured = summary.get('echo_structured');
  if (structured) {
    const relative = ['kv_get', 'kv_set']
      .filter((name) => summary.has(name))
      .map((name) => `${name} ${fixed(summary.get(name)!.ratio / structured.ratio, 3)}`);
    console.log(
      `\nStructured output alone (an SDK echo answering like kv_get) runs at ${fixed(structured.ratio, 3)} of echo;` +
        ` against that structured echo: ${relative.join(', ')}.`,
    );
  }
}

function jsonLine(summary: Map<string, PairedRound>): string {
  const operations = Object.fromEntries(
    [...summary].map(([name, r]) => [
      name,
      {
        calls_per_s: round2(r.op.callsPerSecond),
        p50_ms: round3(r.op.p50Ms),
        p99_ms: round3(r.op.p99Ms),
        paired_echo_calls_per_s: round2(r.echo.callsPerSecond),
        ratio_to_echo: round3(r.ratio),
        ...(TARGETS[name] !== undefined && { target: TARGETS[name], pass: r.ratio >= TARGETS[name]! }),
      },
    ]),
  );
  return JSON.stringify({ calls: CALLS, warmup: WARMUP, rounds: ROUNDS, pick: 'median ratio', list_tools: LIST_TOOLS, node: process.version, operations });
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'agent-mesh-bench-'));
  const configPath = join(dataDir, 'bench-config.json');
  writeFileSync(configPath, JSON.stringify(BENCH_CONFIG));
  const children: Child[] = [];
  try {
    const echo = await startChild('echo', ECHO_ENTRY, {}, LIST_TOOLS);
    children.push(echo);
    const echoStructured = await startChild('echo_structured', ECHO_STRUCTURED_ENTRY, {}, LIST_TOOLS);
    children.push(echoStructured);
    const mesh = await startChild('agent-mesh', MESH_ENTRY, {
      AGENT_MESH_DATA_DIR: join(dataDir, 'data'),
      AGENT_MESH_CONFIG: configPath,
      LOG_LEVEL: 'warn',
    }, LIST_TOOLS);
    children.push(mesh);
    await seed(mesh);
    const results = await runRounds(operations(echo, echoStructured, mesh));
    const summary = new Map([...results].map(([name, rounds]) => [name, medianRound(rounds)]));
    printReport(summary);
    console.log(`BENCH_JSON ${jsonLine(summary)}`);
  } finally {
    for (const child of children) await child.close().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runMain(main);
