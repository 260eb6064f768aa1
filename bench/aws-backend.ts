/**
 * The AWS drivers' own overhead: kv_get, kv_set and events_send over stdio on the embedded backend and on
 * AGENT_MESH_BACKEND=aws against the emulators (dynalite, fauxqs, the fake EventBridge — in a process of
 * their own), in the same run, one call in flight at a time, in alternating blocks.
 *
 *   npm run bench -- --backend aws      (or: npm run bench:aws)
 *   BENCH_CALLS=1000 BENCH_WARMUP=100 BENCH_ROUNDS=3 BENCH_BLOCK=100
 *
 * The emulators answer over loopback HTTP in Node, so the absolute AWS figures are those of the emulators,
 * not of AWS; the ratio shows what a call costs once it leaves the process. A measurement, not a test.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { MESH_ENTRY, UNLIMITED, positiveIntFromEnv, startChild, type Child } from './lib/stdio-child.js';
import { fixed, medianBy, round3, summarize, type LatencySummary } from './lib/stats.js';
import { runMain } from './lib/run-main.js';

const CALLS = positiveIntFromEnv('BENCH_CALLS', 1000);
const WARMUP = positiveIntFromEnv('BENCH_WARMUP', 100);
const ROUNDS = positiveIntFromEnv('BENCH_ROUNDS', 3);
const BLOCK = positiveIntFromEnv('BENCH_BLOCK', 100);
const ROTATING_KEYS = 100;
const BENCH_CONFIG = { defaults: { rateLimits: { dynamodb: UNLIMITED, s3: UNLIMITED, eventbridge: UNLIMITED } } };

interface Operation {
  name: string;
  tool: string;
  args(i: number): Record<string, unknown>;
}

const OPERATIONS: Operation[] = [
  { name: 'kv_get', tool: 'kv_get', args: () => ({ key: 'bench/get' }) },
  { name: 'kv_set', tool: 'kv_set', args: (i) => ({ key: `bench/set-${i % ROTATING_KEYS}`, value: { n: i, note: 'bench', tags: ['a', 'b'] } }) },
  { name: 'events_send', tool: 'events_send', args: (i) => ({ source: 'bench', detail_type: 'Tick', detail: { n: i } }) },
];

async function startEmulators(): Promise<{ env: Record<string, string>; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'lib/aws-emulators-process.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const lines = createInterface({ input: child.stdout! });
  const env = await new Promise<Record<string, string>>((resolvePromise, reject) => {
    lines.on('line', (line) => line.startsWith('AWS_ENV ') && resolvePromise(JSON.parse(line.slice(8)) as Record<string, string>));
    child.once('exit', (code) => reject(new Error(`emulators exited with ${code}`)));
  });
  return { env, stop: () => child.stdin!.end() };
}

async function measure(op: Operation, local: Child, aws: Child): Promise<{ local: LatencySummary; aws: LatencySummary }> {
  const latencies = new Map<Child, number[]>([
    [local, []],
    [aws, []],
  ]);
  const block = async (child: Child, start: number): Promise<void> => {
    for (let i = start; i < Math.min(CALLS, start + BLOCK); i++) {
      const before = performance.now();
      await child.call(op.tool, op.args(i));
      latencies.get(child)!.push(performance.now() - before);
    }
  };
  for (let start = 0, turn = 0; start < CALLS; start += BLOCK, turn++) {
    const [first, second] = turn % 2 === 0 ? [local, aws] : [aws, local];
    await block(first, start);
    await block(second, start);
  }
  return { local: summarize(latencies.get(local)!), aws: summarize(latencies.get(aws)!) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-bench-aws-'));
  const config = join(dir, 'bench-config.json');
  writeFileSync(config, JSON.stringify(BENCH_CONFIG));
  const emulators = await startEmulators();
  const children: Child[] = [];
  try {
    const common = { AGENT_MESH_CONFIG: config, LOG_LEVEL: 'warn', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const local = await startChild('local', MESH_ENTRY, { ...common, AGENT_MESH_DATA_DIR: join(dir, 'local') });
    children.push(local);
    const aws = await startChild('aws', MESH_ENTRY, { ...common, ...emulators.env, AGENT_MESH_DATA_DIR: join(dir, 'aws') });
    children.push(aws);
    for (const child of children) {
      await child.call('kv_set', { key: 'bench/get', value: { hello: 'world', n: 1 } });
      for (const op of OPERATIONS) for (let i = 0; i < WARMUP; i++) await child.call(op.tool, op.args(i));
    }
    const rounds = new Map<string, { local: LatencySummary; aws: LatencySummary; ratio: number }[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const op of OPERATIONS) {
        const result = await measure(op, local, aws);
        const ratio = result.aws.p50Ms / result.local.p50Ms;
        rounds.set(op.name, [...(rounds.get(op.name) ?? []), { ...result, ratio }]);
        process.stderr.write(`round ${round}/${ROUNDS} ${op.name.padEnd(12)} local p50 ${fixed(result.local.p50Ms, 3)} ms  aws p50 ${fixed(result.aws.p50Ms, 3)} ms  ratio ${fixed(ratio, 2)}\n`);
      }
    }
    console.log(`\nagent-mesh backends — sequential callTool over stdio, ${CALLS} calls per operation and backend in alternating blocks of ${BLOCK},`);
    console.log(`${ROUNDS} rounds after ${WARMUP} warm-up calls; median round by p50 ratio; AWS = dynalite + fauxqs + fake EventBridge on loopback; node ${process.version}\n`);
    console.log(`${'operation'.padEnd(12)} ${'local p50'.padStart(10)} ${'local p99'.padStart(10)} ${'aws p50'.padStart(10)} ${'aws p99'.padStart(10)}   ${'aws/local p50'.padStart(13)} ${'aws/local p99'.padStart(13)}   aws calls/s`);
    const json: Record<string, unknown> = {};
    for (const [name, results] of rounds) {
      const r = medianBy(results, (x) => x.ratio);
      console.log(
        `${name.padEnd(12)} ${fixed(r.local.p50Ms, 3).padStart(10)} ${fixed(r.local.p99Ms, 3).padStart(10)} ${fixed(r.aws.p50Ms, 3).padStart(10)} ${fixed(r.aws.p99Ms, 3).padStart(10)}   ` +
          `${fixed(r.ratio, 2).padStart(13)} ${fixed(r.aws.p99Ms / r.local.p99Ms, 2).padStart(13)}   ${fixed(r.aws.callsPerSecond, 0).padStart(11)}`,
      );
      json[name] = { local_p50_ms: round3(r.local.p50Ms), local_p99_ms: round3(r.local.p99Ms), aws_p50_ms: round3(r.aws.p50Ms), aws_p99_ms: round3(r.aws.p99Ms), p50_ratio: round3(r.ratio) };
    }
    console.log(`BENCH_JSON ${JSON.stringify({ calls: CALLS, rounds: ROUNDS, node: process.version, operations: json })}`);
  } finally {
    for (const child of children) await child.close().catch(() => {});
    emulators.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

runMain(main);
