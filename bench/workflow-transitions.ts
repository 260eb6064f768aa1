/**
 * Durable workflow speed over stdio: Pass-state transitions per second through the whole engine (each
 * transition checkpointed to SQLite before the next), on a chain of 2,000 Pass states, and the end-to-end
 * time of a 100-state workflow from workflow_start to its result. Target: >= 20,000 transitions/s.
 *
 *   npm run bench:workflows          (BENCH_ROUNDS=5)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MESH_ENTRY, UNLIMITED, positiveIntFromEnv, startChild, type Child } from './lib/stdio-child.js';
import { fixed, medianBy, round3 } from './lib/stats.js';
import { runMain } from './lib/run-main.js';

const ROUNDS = positiveIntFromEnv('BENCH_ROUNDS', 5);
const LONG_CHAIN = 2_000;
const SHORT_CHAIN = 100;
const TARGET = 20_000;

function passChain(length: number): Record<string, unknown> {
  const states: Record<string, unknown> = {};
  for (let i = 0; i < length; i++) states[`P${i}`] = i === length - 1 ? { Type: 'Pass', End: true } : { Type: 'Pass', Next: `P${i + 1}` };
  return { StartAt: 'P0', States: states };
}

async function timedRun(mesh: Child, name: string): Promise<number> {
  const started = performance.now();
  const result = await mesh.call('workflow_start', { name, input: { order: 'o-1', items: [1, 2, 3] }, wait_seconds: 120 });
  const elapsed = performance.now() - started;
  const status = (result.structuredContent as { status: string }).status;
  if (status !== 'SUCCEEDED') throw new Error(`${name} ended ${status}`);
  return elapsed;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'agent-mesh-bench-workflows-'));
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify({ defaults: { rateLimits: { stepfunctions: UNLIMITED, eventbridge: UNLIMITED } } }));
  let mesh: Child | undefined;
  try {
    mesh = await startChild('agent-mesh', MESH_ENTRY, { AGENT_MESH_DATA_DIR: join(root, 'data'), AGENT_MESH_CONFIG: config, LOG_LEVEL: 'warn' });
    await mesh.call('workflow_create', { name: 'long', definition: passChain(LONG_CHAIN) });
    await mesh.call('workflow_create', { name: 'short', definition: passChain(SHORT_CHAIN) });
    // Warm-up, unmeasured: compile the machines and let the JIT and SQLite's page cache settle.
    for (let i = 0; i < 3; i++) await timedRun(mesh, 'long'), await timedRun(mesh, 'short');

    const rounds: { rate: number; longMs: number; shortMs: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const longMs = await timedRun(mesh, 'long');
      const shortMs = await timedRun(mesh, 'short');
      const rate = (LONG_CHAIN * 1000) / longMs;
      rounds.push({ rate, longMs, shortMs });
      process.stderr.write(`round ${round}/${ROUNDS} ${fixed(rate, 0)} Pass transitions/s (${fixed(longMs, 0)} ms for ${LONG_CHAIN}); 100-state workflow ${fixed(shortMs, 1)} ms\n`);
    }
    const median = medianBy(rounds, (r) => r.rate);
    const shortMedian = medianBy(rounds, (r) => r.shortMs).shortMs;
    console.log(`\ndurable workflows over stdio, each transition checkpointed to SQLite; ${ROUNDS} rounds, medians; node ${process.version}`);
    console.log(`Pass-state transitions per second: ${fixed(median.rate, 0)}  target >= ${TARGET}  ${median.rate >= TARGET ? 'PASS' : 'BELOW'}`);
    console.log(`100-state workflow, workflow_start to result: ${fixed(shortMedian, 1)} ms`);
    console.log(
      `BENCH_JSON ${JSON.stringify({ rounds: ROUNDS, node: process.version, transitions_per_s: Math.round(median.rate), target: TARGET, pass: median.rate >= TARGET, workflow_100_states_ms: round3(shortMedian) })}`,
    );
  } finally {
    await mesh?.close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}

runMain(main);
