import { describe, expect } from 'vitest';
import type { AlertChannel } from '../../src/ports/alert-sink.js';
import type { EventEnvelope, EventStore, NewDelivery, RuleRecord, StoredEvent } from '../../src/ports/event-store.js';
import { testSession } from '../helpers/sessions.js';
import { contractCases } from '../helpers/contract-cases.js';

export interface EventStoreFixture {
  store: EventStore;
  /** A second store on the same data, as another process would open it. */
  peer: EventStore;
  /** The stores' clock. */
  now(): number;
  advance(ms: number): void;
  close(): Promise<void>;
}

const BASE = Date.UTC(2024, 0, 1);
const WEBHOOK: AlertChannel = { type: 'webhook', url: 'https://hooks.example.com/a', headers: { 'X-Token': 's3cret' } };

let counter = 0;
export function storedEvent(timeMs: number, source = 'app.orders', detailType = 'OrderPlaced', id = `ev-${String(++counter).padStart(6, '0')}`): StoredEvent {
  const envelope: EventEnvelope = {
    version: '0',
    id,
    'detail-type': detailType,
    source,
    account: '000000000000',
    time: new Date(timeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-west-2',
    resources: [],
    detail: { n: counter, text: 'héllo 🚀' },
  };
  return { envelope, timeMs };
}

export const delivery = (id: string, alertName = 'ops', channel: AlertChannel = WEBHOOK): NewDelivery => ({ id, alertName, channel });

const rule = (name: string, targets: RuleRecord['targets'] = [], at = 1000): RuleRecord => ({
  name,
  pattern: JSON.stringify({ source: ['app.orders'] }),
  targets,
  description: `rule ${name}`,
  enabled: true,
  createdAt: at,
  updatedAt: at,
});

const alert = (name: string, at = 1000) => ({ name, pattern: JSON.stringify({ source: ['app.orders'] }), channel: WEBHOOK, createdAt: at });

const ids = (events: StoredEvent[]) => events.map((e) => e.envelope.id);

/** One suite for every EventStore driver. */
export function describeEventStoreContract(driver: string, open: () => Promise<EventStoreFixture>): void {
  const run = contractCases(open);

  describe(`EventStore contract: ${driver}`, () => {
    run('queries newest first within [start, end), by source and detail type', async ({ store }, a) => {
      const events = [
        storedEvent(BASE, 'app.orders', 'OrderPlaced', 'e0'),
        storedEvent(BASE + 1000, 'app.orders', 'OrderShipped', 'e1'),
        storedEvent(BASE + 2000, 'app.billing', 'OrderPlaced', 'e2'),
        storedEvent(BASE + 3000, 'app.billing', 'OrderShipped', 'e3'),
        storedEvent(BASE + 3000, 'app.orders', 'OrderPlaced', 'e4'),
      ];
      for (const event of events) await store.append(a, event, []);

      const all = await store.query(a, { limit: 10 });
      expect(ids(all)).toEqual(['e4', 'e3', 'e2', 'e1', 'e0']);
      expect(all[0]).toEqual(events[4]);
      expect(ids(await store.query(a, { startMs: BASE + 1000, endMs: BASE + 3000, limit: 10 }))).toEqual(['e2', 'e1']);
      expect(ids(await store.query(a, { startMs: BASE + 3000, limit: 10 }))).toEqual(['e4', 'e3']);
      expect(ids(await store.query(a, { source: 'app.orders', limit: 10 }))).toEqual(['e4', 'e1', 'e0']);
      expect(ids(await store.query(a, { detailType: 'OrderPlaced', limit: 10 }))).toEqual(['e4', 'e2', 'e0']);
      expect(ids(await store.query(a, { source: 'app.billing', detailType: 'OrderShipped', limit: 10 }))).toEqual(['e3']);
      expect(ids(await store.query(a, { source: 'app.orders', limit: 2 }))).toEqual(['e4', 'e1']);
      expect(await store.query(a, { source: 'nobody', limit: 10 })).toEqual([]);
      expect(await store.query(a, { startMs: BASE + 5000, endMs: BASE + 1000, limit: 10 })).toEqual([]);
    });

    run('pages with `before`, never repeating or skipping, also under filters', async ({ store }, a) => {
      const events = Array.from({ length: 40 }, (_, i) =>
        // Several events share a millisecond, so the id breaks ties.
        storedEvent(BASE + Math.floor(i / 3) * 1000, i % 4 === 0 ? 'app.rare' : 'app.orders', 'OrderPlaced', `p${String(i).padStart(2, '0')}`),
      );
      for (const event of events) await store.append(a, event, []);
      const newestFirst = [...events].sort((x, y) => y.timeMs - x.timeMs || (x.envelope.id < y.envelope.id ? 1 : -1));

      for (const source of [undefined, 'app.rare']) {
        const seen: string[] = [];
        let before: { timeMs: number; id: string } | undefined;
        for (let page = 0; page < 20; page++) {
          const batch = await store.query(a, { ...(source && { source }), ...(before && { before }), limit: 7 });
          seen.push(...ids(batch));
          if (batch.length < 7) break;
          const last = batch[batch.length - 1]!;
          before = { timeMs: last.timeMs, id: last.envelope.id };
        }
        expect(seen).toEqual(ids(newestFirst.filter((e) => source === undefined || e.envelope.source === source)));
      }
      const middle = newestFirst[10]!;
      const after = await store.query(a, { before: { timeMs: middle.timeMs, id: middle.envelope.id }, endMs: BASE + 20_000, limit: 3 });
      expect(ids(after)).toEqual(ids(newestFirst.slice(11, 14)));
    });

    run('counts events per bucket and group, in order, within [start, end)', async ({ store }, a) => {
      const minute = 60_000;
      const at = [
        [0, 'app.orders', 'OrderPlaced'],
        [10_000, 'app.orders', 'OrderPlaced'],
        [20_000, 'app.billing', 'OrderPlaced'],
        [minute + 1, 'app.orders', 'OrderShipped'],
        [2 * minute + 5, 'app.billing', 'OrderShipped'],
        [3 * minute, 'app.orders', 'OrderPlaced'], // at endMs: outside
      ] as const;
      for (const [offset, source, type] of at) await store.append(a, storedEvent(BASE + offset, source, type), []);
      const window = { startMs: BASE, endMs: BASE + 3 * minute, bucketMs: minute };
      expect(await store.analytics(a, { ...window, groupBy: 'source' })).toEqual([
        { bucketStartMs: BASE, group: 'app.billing', count: 1 },
        { bucketStartMs: BASE, group: 'app.orders', count: 2 },
        { bucketStartMs: BASE + minute, group: 'app.orders', count: 1 },
        { bucketStartMs: BASE + 2 * minute, group: 'app.billing', count: 1 },
      ]);
      expect(await store.analytics(a, { ...window, groupBy: 'detail_type' })).toEqual([
        { bucketStartMs: BASE, group: 'OrderPlaced', count: 3 },
        { bucketStartMs: BASE + minute, group: 'OrderShipped', count: 1 },
        { bucketStartMs: BASE + 2 * minute, group: 'OrderShipped', count: 1 },
      ]);
      expect(await store.analytics(a, { startMs: BASE + 10_000, endMs: BASE + 20_000, bucketMs: 3_600_000, groupBy: 'source' })).toEqual([
        { bucketStartMs: BASE, group: 'app.orders', count: 1 },
      ]);
    });

    run('creates, replaces, lists and deletes rules and alerts', async ({ store }, a) => {
      expect(await store.putAlert(a, alert('ops', 100))).toEqual({ created: true });
      expect(await store.putAlert(a, { ...alert('ops', 999), pattern: '{"source":["x"]}' })).toEqual({ created: false });
      expect(await store.listAlerts(a)).toEqual([{ ...alert('ops', 100), pattern: '{"source":["x"]}' }]);

      const workflowTarget = { type: 'workflow' as const, name: 'flow', input: { nested: [1, 'two', null] } };
      expect(await store.putRule(a, rule('zeta', [{ type: 'alert', name: 'ops' }], 100))).toEqual({ created: true });
      expect(await store.putRule(a, rule('alpha', [workflowTarget]))).toEqual({ created: true });
      const replaced = { ...rule('zeta', [], 500), description: 'changed', enabled: false };
      expect(await store.putRule(a, replaced)).toEqual({ created: false });
      expect(await store.listRules(a)).toEqual([rule('alpha', [workflowTarget]), { ...replaced, createdAt: 100 }]);

      expect(await store.deleteRule(a, 'zeta')).toBe(true);
      expect(await store.deleteRule(a, 'zeta')).toBe(false);
      expect(await store.deleteAlert(a, 'ops')).toBe(true);
      expect(await store.deleteAlert(a, 'ops')).toBe(false);
      expect((await store.listRules(a)).map((r) => r.name)).toEqual(['alpha']);
      expect(await store.listAlerts(a)).toEqual([]);
    });

    run('keeps who created or last replaced a rule, for every process', async ({ store, peer }, a) => {
      const creator = { userId: 'rule-maker', permissions: ['events:*' as const, 'workflow:write' as const] };
      const workflowTarget = { type: 'workflow' as const, name: 'flow' };
      await store.putRule(a, { ...rule('made', [workflowTarget]), createdBy: creator });
      await store.putRule(a, rule('legacy'));
      const [legacy, made] = await peer.listRules(a);
      expect(made).toEqual({ ...rule('made', [workflowTarget]), createdBy: creator });
      expect(legacy).toEqual(rule('legacy'));
      expect('createdBy' in legacy!).toBe(false);
      const replacer = { userId: 'other', permissions: ['*' as const] };
      await peer.putRule(a, { ...rule('made', [workflowTarget], 2000), createdBy: replacer });
      expect((await store.listRules(a)).find((r) => r.name === 'made')?.createdBy).toEqual(replacer);
    });

    run('refuses to delete an alert while a rule targets it', async ({ store }, a) => {
      await store.putAlert(a, alert('pager'));
      await store.putRule(a, rule('r1', [{ type: 'alert', name: 'pager' }]));
      await store.putRule(a, rule('r2', [{ type: 'alert', name: 'other' }]));
      const refused = store.deleteAlert(a, 'pager');
      await expect(refused).rejects.toMatchObject({ code: 'conflict' });
      await expect(refused).rejects.toThrow('alert "pager" is a target of rule "r1"; delete or change the rule first');
      expect((await store.listAlerts(a)).map((x) => x.name)).toEqual(['pager']);
      await store.deleteRule(a, 'r1');
      expect(await store.deleteAlert(a, 'pager')).toBe(true);
    });

    run('enforces maxRules and maxAlerts, also under concurrent creation', async ({ store }) => {
      const small = testSession('tenant-small', { limits: { maxRules: 2, maxAlerts: 1 } });
      await store.putRule(small, rule('one'));
      await store.putRule(small, rule('two'));
      const refused = store.putRule(small, rule('three'));
      await expect(refused).rejects.toMatchObject({ code: 'quota_exceeded', details: { limit: 'maxRules', limit_value: 2 } });
      await expect(refused).rejects.toThrow('tenant has 2 rules, the limit maxRules is 2');
      expect(await store.putRule(small, { ...rule('two'), description: 'replacing is not creating' })).toEqual({ created: false });
      await store.putAlert(small, alert('first'));
      await expect(store.putAlert(small, alert('second'))).rejects.toMatchObject({ code: 'quota_exceeded', details: { limit: 'maxAlerts' } });
      expect((await store.listRules(small)).map((r) => r.name)).toEqual(['one', 'two']);
      await store.deleteRule(small, 'one');
      await store.putRule(small, rule('three'));

      const racing = testSession('tenant-race', { limits: { maxRules: 3 } });
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.putRule(racing, rule(`r${i}`))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'quota_exceeded' });
      expect(await store.listRules(racing)).toHaveLength(3);
    });

    run('grows the rules revision on every change, seen by every process, per tenant', async ({ store, peer }, a, b) => {
      expect(await store.rulesRevision(a)).toBe(0);
      const seen = [0];
      const step = async (change: () => Promise<unknown>) => {
        await change();
        const revision = await peer.rulesRevision(a);
        expect(revision).toBeGreaterThan(seen[seen.length - 1]!);
        seen.push(revision);
      };
      await step(() => store.putAlert(a, alert('ops')));
      await step(() => store.putRule(a, rule('r', [{ type: 'alert', name: 'ops' }])));
      await step(() => peer.putRule(a, { ...rule('r'), enabled: false }));
      expect((await store.listRules(a))[0]?.enabled).toBe(false);
      await step(() => store.deleteRule(a, 'r'));
      await step(() => store.deleteAlert(a, 'ops'));
      const last = seen[seen.length - 1]!;

      // No change, no new revision: a missing name, a refused quota, a refused delete.
      await store.deleteRule(a, 'missing');
      await store.deleteAlert(a, 'missing');
      const tight = testSession('tenant-a', { limits: { maxRules: 0 } });
      await expect(store.putRule(tight, rule('x'))).rejects.toMatchObject({ code: 'quota_exceeded' });
      await store.putAlert(a, alert('kept'));
      await store.putRule(a, rule('uses', [{ type: 'alert', name: 'kept' }]));
      const before = await store.rulesRevision(a);
      await expect(store.deleteAlert(a, 'kept')).rejects.toMatchObject({ code: 'conflict' });
      expect(await store.rulesRevision(a)).toBe(before);
      expect(before).toBe(last + 2);
      expect(await store.rulesRevision(b)).toBe(0);
    });

    run('claims due deliveries under a lease, once at a time', async (fixture, a) => {
      const { store, peer } = fixture;
      const event = storedEvent(BASE);
      await store.append(a, event, [delivery('d1', 'ops'), delivery('d2', 'pager', { type: 'sns', topic_arn: 'arn:aws:sns:us-west-2:123456789012:t' })]);
      const now = fixture.now();
      const claimed = await store.claimDueDeliveries(now, 10, 30_000);
      expect(claimed.map((d) => d.id).sort()).toEqual(['d1', 'd2']);
      expect(claimed.find((d) => d.id === 'd1')).toEqual({
        id: 'd1',
        tenantId: 'tenant-a',
        alertName: 'ops',
        eventId: event.envelope.id,
        channel: WEBHOOK,
        event: event.envelope,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: expect.any(Number),
        lastStatus: null,
        lastError: null,
      });
      expect(claimed[0]!.nextAttemptAt).toBeLessThanOrEqual(now);
      expect(await store.claimDueDeliveries(now, 10, 30_000)).toEqual([]);
      expect(await peer.claimDueDeliveries(now + 29_999, 10, 30_000)).toEqual([]);
      // A lease that runs out (its holder died) lets another process take the delivery.
      expect((await peer.claimDueDeliveries(now + 30_000, 10, 30_000)).map((d) => d.id).sort()).toEqual(['d1', 'd2']);

      await store.append(a, storedEvent(BASE + 1), [delivery('d3'), delivery('d4'), delivery('d5')]);
      expect(await store.claimDueDeliveries(fixture.now(), 2, 30_000)).toHaveLength(2);
      expect(await store.claimDueDeliveries(fixture.now(), 2, 30_000)).toHaveLength(1);
    });

    run('never lets two concurrent claimers win the same delivery', async (fixture, a, b) => {
      const { store, peer } = fixture;
      const all: string[] = [];
      for (let i = 0; i < 12; i++) {
        const batch = [delivery(`a${i}-1`), delivery(`a${i}-2`)];
        all.push(...batch.map((d) => d.id));
        await store.append(i % 2 === 0 ? a : b, storedEvent(BASE + i), batch);
      }
      const now = fixture.now();
      const rounds = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? store : peer).claimDueDeliveries(now, 10, 60_000)),
      );
      const won = rounds.flat().map((d) => d.id);
      expect(new Set(won).size).toBe(won.length);
      const rest = await store.claimDueDeliveries(now, 100, 60_000);
      expect([...won, ...rest.map((d) => d.id)].sort()).toEqual(all.sort());
      expect(new Set(rounds.flat().map((d) => d.tenantId))).toEqual(new Set(['tenant-a', 'tenant-b']));
    });

    run('records attempts: retry later, delivered, failed; from any process', async (fixture, a) => {
      const { store, peer } = fixture;
      await store.append(a, storedEvent(BASE), [delivery('retry'), delivery('done'), delivery('dead')]);
      const now = fixture.now();
      expect(await store.claimDueDeliveries(now, 10, 60_000)).toHaveLength(3);
      const attempt = (deliveryId: string, ok: boolean, at: number, status: number | null, error: string | null) => ({
        deliveryId,
        alertName: 'ops',
        attempt: 1,
        at,
        ok,
        status,
        error,
        durationMs: 12.5,
      });
      await store.recordAttempt(attempt('retry', false, now + 1, 503, 'HTTP 503'), { status: 'pending', nextAttemptAt: now + 5_000 });
      await store.recordAttempt(attempt('done', true, now + 2, 200, null), { status: 'delivered', nextAttemptAt: now + 2 });
      // Recorded by another process than the one that claimed it.
      await peer.recordAttempt(attempt('dead', false, now + 3, 400, 'HTTP 400'), { status: 'failed', nextAttemptAt: now + 3 });

      expect(await store.deliveryStats(a)).toEqual({ pending: 1, delivered: 1, failed: 1 });
      // The retry is not due yet, and its lease was released: it comes back exactly when due.
      expect(await peer.claimDueDeliveries(now + 4_999, 10, 60_000)).toEqual([]);
      const [again, ...none] = await peer.claimDueDeliveries(now + 5_000, 10, 60_000);
      expect(none).toEqual([]);
      expect(again).toMatchObject({ id: 'retry', status: 'pending', attempts: 1, nextAttemptAt: now + 5_000, lastStatus: 503, lastError: 'HTTP 503' });
      await store.recordAttempt({ ...attempt('retry', true, now + 5_001, 204, null), attempt: 2 }, { status: 'delivered', nextAttemptAt: now + 5_001 });
      expect(await store.claimDueDeliveries(now + 1_000_000, 10, 60_000)).toEqual([]);
      expect(await store.deliveryStats(a)).toEqual({ pending: 0, delivered: 2, failed: 1 });

      const recent = await store.recentAttempts(a, 10, false);
      expect(recent.map((r) => [r.deliveryId, r.attempt])).toEqual([
        ['retry', 2],
        ['dead', 1],
        ['done', 1],
        ['retry', 1],
      ]);
      expect(recent[1]).toEqual(attempt('dead', false, now + 3, 400, 'HTTP 400'));
      expect((await store.recentAttempts(a, 10, true)).map((r) => r.deliveryId)).toEqual(['dead', 'retry']);
      expect((await store.recentAttempts(a, 1, true)).map((r) => r.deliveryId)).toEqual(['dead']);
      expect((await store.recentAttempts(a, 2, false)).map((r) => r.deliveryId)).toEqual(['retry', 'dead']);

      // An attempt for a delivery that does not exist changes nothing.
      await store.recordAttempt(attempt('unknown', false, now + 9, 500, 'x'), { status: 'failed', nextAttemptAt: now + 9 });
      expect(await store.recentAttempts(a, 10, false)).toHaveLength(4);
    });

    run('queues rule workflow starts with the event, counted and listed apart from alert deliveries', async ({ store, peer, now }, a, b) => {
      const start: NewDelivery = {
        id: 'start-1',
        alertName: 'fan-out',
        channel: { type: 'workflow', workflow: 'onorder', executionName: 'evt-x', input: { fixed: true }, createdBy: { userId: 'alice', permissions: ['workflow:write'] }, depth: 2 },
      };
      await store.append(a, storedEvent(BASE, 'app.orders', 'OrderPlaced', 'with-start'), [delivery('alert-1'), start]);
      const t = now();
      const claimed = await peer.claimDueDeliveries(t, 10, 60_000);
      expect(claimed.find((d) => d.id === 'start-1')).toMatchObject({ alertName: 'fan-out', eventId: 'with-start', channel: start.channel, attempts: 0 });
      const attempt = { alertName: 'fan-out', workflow: 'onorder', attempt: 1, at: t + 1, ok: false, status: null, error: 'quota_exceeded: full', durationMs: 1 };
      await store.recordAttempt({ ...attempt, deliveryId: 'start-1' }, { status: 'pending', nextAttemptAt: t + 100 });
      await store.recordAttempt({ deliveryId: 'alert-1', alertName: 'ops', attempt: 1, at: t + 2, ok: false, status: 500, error: 'HTTP 500', durationMs: 1 }, { status: 'failed', nextAttemptAt: t + 2 });

      expect(await store.deliveryStats(a)).toEqual({ pending: 0, delivered: 0, failed: 1 });
      expect(await store.deliveryStats(a, 'alert')).toEqual({ pending: 0, delivered: 0, failed: 1 });
      expect(await store.deliveryStats(a, 'workflow')).toEqual({ pending: 1, delivered: 0, failed: 0 });
      expect((await store.recentAttempts(a, 10, true)).map((r) => r.deliveryId)).toEqual(['alert-1']);
      expect(await store.recentAttempts(a, 10, true, 'workflow')).toEqual([{ ...attempt, deliveryId: 'start-1' }]);
      // Another tenant sees none of them.
      expect(await store.deliveryStats(b, 'workflow')).toEqual({ pending: 0, delivered: 0, failed: 0 });
      expect(await store.recentAttempts(b, 10, false, 'workflow')).toEqual([]);

      const [again] = await store.claimDueDeliveries(t + 100, 10, 60_000);
      expect(again).toMatchObject({ id: 'start-1', attempts: 1, lastError: 'quota_exceeded: full' });
      await store.recordAttempt({ ...attempt, deliveryId: 'start-1', attempt: 2, at: t + 101, ok: true, error: null }, { status: 'delivered', nextAttemptAt: t + 101 });
      expect(await store.deliveryStats(a, 'workflow')).toEqual({ pending: 0, delivered: 1, failed: 0 });
      expect((await store.recentAttempts(a, 10, false, 'workflow')).map((r) => r.attempt)).toEqual([2, 1]);
    });

    run('keeps tenants apart', async (fixture, a, b) => {
      const { store } = fixture;
      await store.append(a, storedEvent(BASE, 'app.orders', 'OrderPlaced', 'only-a'), [delivery('da')]);
      await store.putAlert(a, alert('ops'));
      await store.putRule(a, rule('r', [{ type: 'alert', name: 'ops' }]));
      const [claimed] = await store.claimDueDeliveries(fixture.now(), 10, 60_000);
      await store.recordAttempt(
        { deliveryId: claimed!.id, alertName: 'ops', attempt: 1, at: fixture.now(), ok: false, status: 500, error: 'boom', durationMs: 1 },
        { status: 'failed', nextAttemptAt: fixture.now() },
      );

      expect(await store.query(b, { limit: 10 })).toEqual([]);
      expect(await store.analytics(b, { startMs: BASE - 1, endMs: BASE + 1, bucketMs: 1000, groupBy: 'source' })).toEqual([]);
      expect(await store.listRules(b)).toEqual([]);
      expect(await store.listAlerts(b)).toEqual([]);
      expect(await store.deleteRule(b, 'r')).toBe(false);
      expect(await store.deleteAlert(b, 'ops')).toBe(false);
      expect(await store.deliveryStats(b)).toEqual({ pending: 0, delivered: 0, failed: 0 });
      expect(await store.recentAttempts(b, 10, false)).toEqual([]);
      expect(await store.rulesRevision(b)).toBe(0);

      expect(ids(await store.query(a, { limit: 10 }))).toEqual(['only-a']);
      expect(await store.deliveryStats(a)).toEqual({ pending: 0, delivered: 0, failed: 1 });
      expect(await store.listRules(a)).toHaveLength(1);
    });

    run('answers ping', async ({ store }) => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
