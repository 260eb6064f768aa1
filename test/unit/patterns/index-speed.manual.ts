/**
 * Micro-benchmark of PatternIndex.match (not run by vitest): `npx tsx test/unit/patterns/index-speed.manual.ts`
 *
 * Rules per tenant: 0, 1,000 and 10,000, shaped like real ones - most have an exact source and/or
 * detail-type, a fifth add detail conditions, and 2% have only prefix/numeric/exists conditions (these
 * cannot be indexed and are evaluated for every event). Prints mean, p50 and p99 microseconds per match.
 */
import { compilePattern, PatternIndex } from '../../../src/engine/patterns/index.js';

const TYPES = ['OrderPlaced', 'OrderShipped', 'OrderCancelled', 'PaymentCaptured', 'PaymentFailed', 'InvoiceIssued', 'UserSignedUp', 'UserDeleted', 'StockLow', 'StockRestocked'];

function rule(i: number): unknown {
  const source = `app.orders-${i % 2000}`;
  const type = TYPES[i % TYPES.length]!;
  const r = i % 50;
  if (r === 0) return { source: [{ prefix: `app.orders-${i % 20}` }] };
  if (r === 1) return { detail: { amount: [{ numeric: ['>', 1000 + (i % 100)] }] } };
  if (r < 5) return { 'detail-type': [type] };
  if (r < 15) return { source: [source], 'detail-type': [type], detail: { status: ['paid', 'pending'], amount: [{ numeric: ['>', i % 100] }] } };
  if (r < 17) return { source: [source], detail: { customer: { tier: [{ 'anything-but': 'free' }] }, items: { sku: [{ exists: true }] } } };
  return { source: [source], 'detail-type': [type] };
}

const event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  source: 'app.orders-40',
  'detail-type': 'OrderPlaced',
  account: '123456789012',
  time: '2024-05-01T12:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:event-bus/default'],
  detail: {
    orderId: 'o-123',
    status: 'paid',
    amount: 42.5,
    currency: 'EUR',
    items: [
      { sku: 'a-1', qty: 1, price: 10 },
      { sku: 'b-2', qty: 2, price: 16.25 },
    ],
    customer: { id: 'c-9', tier: 'gold', email: 'c9@example.com' },
    tags: ['priority', 'eu'],
  },
};

function measure(ruleCount: number): { mean: number; p50: number; p99: number; matched: number } {
  const index = new PatternIndex<number>();
  for (let i = 0; i < ruleCount; i++) index.add(`rule-${i}`, compilePattern(rule(i)), i);
  let matched = 0;
  for (let i = 0; i < 20_000; i++) matched = index.match(event).length; // warm up
  const rounds = 2_000;
  const perRound = 50;
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) index.match(event);
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / perRound);
  }
  // Single-call p99 too: individual calls, to see tail latency rather than batch averages.
  const singles: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const start = process.hrtime.bigint();
    index.match(event);
    singles.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  singles.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { mean, p50: singles[Math.floor(singles.length * 0.5)]!, p99: singles[Math.floor(singles.length * 0.99)]!, matched };
}

for (const count of [0, 1_000, 10_000]) {
  const { mean, p50, p99, matched } = measure(count);
  console.log(
    `${String(count).padStart(6)} rules: mean ${mean.toFixed(2)} µs/match, single-call p50 ${p50.toFixed(2)} µs, p99 ${p99.toFixed(2)} µs (${matched} rules matched)`,
  );
}
