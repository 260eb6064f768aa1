/**
 * events_send latency as a tenant's rules grow: three agent-mesh servers over stdio, with 0, 1,000 and
 * 10,000 rules, are called in turn (one send to each per iteration), so drift in machine load hits all
 * alike. Target: p99 at 10,000 rules <= 1.5 x p99 at 0 rules.
 *
 *   npm run bench:events          (BENCH_SENDS=3000 BENCH_ROUNDS=3)
 *
 * Rules look like real ones: most name a source and a detail type, some add a detail condition, one in a
 * hundred has only prefix or numeric conditions (no exact value to index by). Each event matches about
 * one rule. A measurement, not a test: it exits 0 whatever the figures.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MESH_ENTRY, UNLIMITED, positiveIntFromEnv, startChild, type Child } from './lib/stdio-child.js';
import { fixed, medianBy, round3, summarize, type LatencySummary } from './lib/stats.js';
import { runMain } from './lib/run-main.js';

const SENDS = positiveIntFromEnv('BENCH_SENDS', 3000);
const ROUNDS = positiveIntFromEnv('BENCH_ROUNDS', 3);
const WARMUP = 300;
const RULE_COUNTS = [0, 1_000, 10_000];
const SERVICES = 2_000;
const TYPES = ['OrderPlaced', 'OrderShipped', 'PaymentFailed', 'ReportReady', 'UserSignedUp'];

function rulePattern(i: number): Record<string, unknown> {
  if (i % 100 === 99) return { source: [{ prefix: `app.svc-${i % SERVICES}` }], detail: { amount: [{ numeric: ['>', 1_000_000] }] } };
  const pattern: Record<string, unknown> = { source: [`app.svc-${i % SERVICES}`], 'detail-type': [TYPES[i % TYPES.length]] };
  if (i % 3 === 0) pattern.detail = { amount: [{ numeric: ['>=', i % 500] }] };
  return pattern;
}

function event(i: number): Record<string, unknown> {
  const n = (i * 7919) % SERVICES;
  return { source: `app.svc-${n}`, detail_type: TYPES[(i * 31) % TYPES.length], detail: { amount: i % 1000, order: `o-${i}` } };
}

async function createRules(child: Child, count: number): Promise<void> {
  const inFlight = 20;
  for (let start = 0; start < count; start += inFlight) {
    const batch = Array.from({ length: Math.min(inFlight, count - start) }, (_, k) => start + k);
    await Promise.all(batch.map((i) => child.call('events_create_rule', { name: `rule-${i}`, event_pattern: rulePattern(i), targets: [] })));
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'agent-mesh-bench-events-'));
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify({ defaults: { rateLimits: { eventbridge: UNLIMITED }, limits: { maxRules: 20_000 } } }));
  const children: Child[] = [];
  try {
    for (const count of RULE_COUNTS) {
      const child = await startChild(`${count} rules`, MESH_ENTRY, { AGENT_MESH_DATA_DIR: join(root, `data-${count}`), AGENT_MESH_CONFIG: config, LOG_LEVEL: 'warn' });
      children.push(child);
      const started = performance.now();
      await createRules(child, count);
      process.stderr.write(`${count} rules created in ${fixed((performance.now() - started) / 1000, 1)} s\n`);
    }
    for (let i = 0; i < WARMUP; i++) for (const child of children) await child.call('events_send', event(i));

    const rounds: LatencySummary[][] = [];
    let matched = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const latencies = children.map(() => new Array<number>(SENDS));
      for (let i = 0; i < SENDS; i++) {
        for (const [c, child] of children.entries()) {
          const before = performance.now();
          const result = await child.call('events_send', event(round * SENDS + i));
          latencies[c]![i] = performance.now() - before;
          if (c === children.length - 1) matched += ((result.structuredContent as { matched_rules: string[] }).matched_rules).length;
        }
      }
      const summaries = latencies.map(summarize);
      rounds.push(summaries);
      process.stderr.write(`round ${round}/${ROUNDS} ${summaries.map((s, c) => `${RULE_COUNTS[c]} rules p50 ${fixed(s.p50Ms, 3)} p99 ${fixed(s.p99Ms, 3)} ms`).join(' | ')}\n`);
    }
    const ratioOf = (summaries: LatencySummary[]) => summaries[2]!.p99Ms / summaries[0]!.p99Ms;
    const median = medianBy(rounds, ratioOf);
    console.log(`\nevents_send over stdio, ${SENDS} sends per server per round, ${ROUNDS} rounds, median round by p99 ratio; node ${process.version}`);
    console.log(`${'rules'.padStart(7)} ${'sends/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}`);
    median.forEach((s, c) => console.log(`${String(RULE_COUNTS[c]).padStart(7)} ${fixed(s.callsPerSecond, 0).padStart(9)} ${fixed(s.p50Ms, 3).padStart(9)} ${fixed(s.p99Ms, 3).padStart(9)}`));
    const ratio = ratioOf(median);
    console.log(`\np99 at 10,000 rules / p99 at 0 rules = ${fixed(ratio, 3)}  target <= 1.5  ${ratio <= 1.5 ? 'PASS' : 'ABOVE'}`);
    console.log(`(${fixed(matched / (ROUNDS * SENDS), 2)} rules matched per event at 10,000 rules)`);
    console.log(
      `BENCH_JSON ${JSON.stringify({
        sends: SENDS,
        rounds: ROUNDS,
        node: process.version,
        servers: median.map((s, c) => ({ rules: RULE_COUNTS[c], sends_per_s: Math.round(s.callsPerSecond), p50_ms: round3(s.p50Ms), p99_ms: round3(s.p99Ms) })),
        p99_ratio_10k_to_0: round3(ratio),
        target: 1.5,
        pass: ratio <= 1.5,
      })}`,
    );
  } finally {
    for (const child of children) await child.close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}

runMain(main);
