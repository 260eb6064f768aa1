/**
 * An echo call through agent-mesh's mcp_proxy against the same call made straight to the upstream
 * (@modelcontextprotocol/server-everything over stdio), in the same run: two hops against one. Calls
 * alternate in blocks so drift in machine load hits both alike. Target: proxied time / direct time <= 2.2.
 *
 *   npm run bench:proxy          (BENCH_CALLS=2000 BENCH_ROUNDS=3 BENCH_BLOCK=250)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MESH_ENTRY, UNLIMITED, positiveIntFromEnv, startChild, type Child } from './lib/stdio-child.js';
import { fixed, medianBy, round3, summarize, type LatencySummary } from './lib/stats.js';
import { runMain } from './lib/run-main.js';

const CALLS = positiveIntFromEnv('BENCH_CALLS', 2000);
const ROUNDS = positiveIntFromEnv('BENCH_ROUNDS', 3);
const BLOCK = positiveIntFromEnv('BENCH_BLOCK', 250);
const WARMUP = 200;
const TARGET = 2.2;

const require = createRequire(import.meta.url);
const manifest = require('@modelcontextprotocol/server-everything/package.json') as { bin: Record<string, string> };
const EVERYTHING = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), Object.values(manifest.bin)[0]!);

type Call = () => Promise<unknown>;

async function block(call: Call, latencies: number[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const before = performance.now();
    await call();
    latencies.push(performance.now() - before);
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'agent-mesh-bench-proxy-'));
  const config = join(root, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({ defaults: { rateLimits: { mcp: UNLIMITED } }, integrations: { stdioCommands: [{ command: process.execPath, args: [EVERYTHING, 'stdio'] }] } }),
  );
  const children: Child[] = [];
  try {
    const direct = await startChild('server-everything', EVERYTHING, {});
    children.push(direct);
    const mesh = await startChild('agent-mesh', MESH_ENTRY, { AGENT_MESH_DATA_DIR: join(root, 'data'), AGENT_MESH_CONFIG: config, LOG_LEVEL: 'warn' });
    children.push(mesh);
    await mesh.call('integration_register', { name: 'everything', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] });
    await mesh.call('integration_connect', { name: 'everything' });

    const directCall: Call = () => direct.call('echo', { message: 'hello' });
    const proxiedCall: Call = () => mesh.call('mcp_proxy', { integration: 'everything', tool: 'echo', arguments: { message: 'hello' } });
    for (let i = 0; i < WARMUP; i++) await directCall(), await proxiedCall();

    const rounds: { direct: LatencySummary; proxied: LatencySummary; ratio: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const directMs: number[] = [];
      const proxiedMs: number[] = [];
      for (let start = 0, turn = 0; start < CALLS; start += BLOCK, turn++) {
        const count = Math.min(BLOCK, CALLS - start);
        if (turn % 2 === 0) await block(directCall, directMs, count), await block(proxiedCall, proxiedMs, count);
        else await block(proxiedCall, proxiedMs, count), await block(directCall, directMs, count);
      }
      const summary = { direct: summarize(directMs), proxied: summarize(proxiedMs), ratio: 0 };
      summary.ratio = summary.direct.callsPerSecond / summary.proxied.callsPerSecond;
      rounds.push(summary);
      process.stderr.write(`round ${round}/${ROUNDS} direct p50 ${fixed(summary.direct.p50Ms, 3)} ms, proxied p50 ${fixed(summary.proxied.p50Ms, 3)} ms, ratio ${fixed(summary.ratio, 3)}\n`);
    }
    const median = medianBy(rounds, (r) => r.ratio);
    console.log(`\necho through mcp_proxy vs straight to server-everything over stdio; ${CALLS} calls each per round in blocks of ${BLOCK}, ${ROUNDS} rounds, median round by ratio; node ${process.version}`);
    console.log(`${''.padEnd(10)} ${'calls/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}`);
    for (const [name, s] of [['direct', median.direct], ['proxied', median.proxied]] as const) {
      console.log(`${name.padEnd(10)} ${fixed(s.callsPerSecond, 0).padStart(9)} ${fixed(s.p50Ms, 3).padStart(9)} ${fixed(s.p99Ms, 3).padStart(9)}`);
    }
    console.log(`\nproxied time / direct time = ${fixed(median.ratio, 3)}  target <= ${TARGET}  ${median.ratio <= TARGET ? 'PASS' : 'ABOVE'}`);
    console.log(
      `BENCH_JSON ${JSON.stringify({
        calls: CALLS,
        rounds: ROUNDS,
        node: process.version,
        direct: { calls_per_s: Math.round(median.direct.callsPerSecond), p50_ms: round3(median.direct.p50Ms), p99_ms: round3(median.direct.p99Ms) },
        proxied: { calls_per_s: Math.round(median.proxied.callsPerSecond), p50_ms: round3(median.proxied.p50Ms), p99_ms: round3(median.proxied.p99Ms) },
        ratio: round3(median.ratio),
        target: TARGET,
        pass: median.ratio <= TARGET,
      })}`,
    );
  } finally {
    for (const child of children) await child.close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}

runMain(main);
