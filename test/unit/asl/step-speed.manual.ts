/**
 * Micro-benchmark of `step` (not run by vitest): `npx tsx test/unit/asl/step-speed.manual.ts`
 *
 * A chain of 100 Pass states, run to the end many times. Prints microseconds per transition (one `step`
 * call = one state entered and left) for `step` alone, and end to end with a host checkpoint per step
 * (JSON.stringify of the snapshot, as a host storing it would do).
 */
import { compileDefinition, startExecution, step, type HostHooks, type Snapshot } from '../../../src/engine/asl/index.js';

const STATES = 100;
const states: Record<string, unknown> = {};
for (let i = 0; i < STATES; i++) states[`S${i}`] = i === STATES - 1 ? { Type: 'Pass', End: true } : { Type: 'Pass', Next: `S${i + 1}` };
const machine = compileDefinition({ StartAt: 'S0', States: states });
const input = { order: { id: 'o-123', items: [{ sku: 'a-1', qty: 1 }, { sku: 'b-2', qty: 2 }], total: 42.5 }, customer: { id: 'c-9', tier: 'gold' } };
const hooks: HostHooks = { now: Date.UTC(2024, 0, 1), random: () => 0.5, uuid: () => '00000000-0000-4000-8000-000000000000' };
const options = { executionId: 'e', executionName: 'e', stateMachineId: 'm', stateMachineName: 'm', now: hooks.now };

function runOnce(checkpoint: (s: Snapshot) => void): number {
  let snapshot = startExecution(machine, input, options).snapshot;
  let steps = 0;
  for (;;) {
    const r = step(machine, snapshot, hooks);
    if (r === null) break;
    snapshot = r.snapshot;
    checkpoint(snapshot);
    steps++;
  }
  if (snapshot.status !== 'SUCCEEDED') throw new Error(`unexpected ${snapshot.status}`);
  return steps;
}

function measure(name: string, checkpoint: (s: Snapshot) => void): void {
  for (let i = 0; i < 200; i++) runOnce(checkpoint);
  const samples: number[] = [];
  let total = 0;
  let steps = 0;
  for (let i = 0; i < 2000; i++) {
    const t = process.hrtime.bigint();
    const n = runOnce(checkpoint);
    const us = Number(process.hrtime.bigint() - t) / 1000;
    samples.push(us / n);
    total += us;
    steps += n;
  }
  samples.sort((a, b) => a - b);
  const mean = total / steps;
  process.stdout.write(
    `${name}: ${mean.toFixed(2)} µs/transition (p50 ${samples[samples.length >> 1]!.toFixed(2)}, p99 ${samples[Math.floor(samples.length * 0.99)]!.toFixed(2)}), ${Math.round(1e6 / mean).toLocaleString('en-US')} transitions/s\n`,
  );
}

let sink = 0;
measure('step alone', () => {});
measure('step + JSON checkpoint', (s) => {
  sink += JSON.stringify(s).length;
});
process.stdout.write(`(${sink > 0 ? 'ok' : ''})\n`);
