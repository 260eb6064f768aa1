import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/drivers/local/sqlite-database.js';
import { SqliteEventStore } from '../../src/drivers/local/sqlite-event-store.js';
import { WebhookAlertSink } from '../../src/drivers/net/webhook-alert-sink.js';
import { createEgressPolicy } from '../../src/net/egress-policy.js';
import type { EventsConfig } from '../../src/config/config.js';
import { DeliveryDispatcher } from '../../src/services/events/delivery-dispatcher.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import { testSession } from '../helpers/sessions.js';
import { storedEvent } from '../contract/event-store.contract.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A real SQLite event store, a real webhook sink and real HTTP receivers around the dispatcher. */
async function setup(delivery: Partial<EventsConfig['delivery']>, pollMs: number, statuses: Parameters<typeof startHttpReceiver>[0], concurrency?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-dispatcher-'));
  const db = openDatabase(dir);
  const store = new SqliteEventStore(db, Date.now);
  const receiver = await startHttpReceiver(statuses);
  const settings = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 60_000, timeoutMs: 10_000, ...delivery };
  const sink = new WebhookAlertSink({ policy: createEgressPolicy([`127.0.0.1:${receiver.port}`]), timeoutMs: settings.timeoutMs, userAgent: 'test' });
  const dispatcher = new DeliveryDispatcher({
    store,
    sinks: [sink],
    sessionFor: (tenant) => testSession(tenant),
    delivery: settings,
    logger: pino({ level: 'silent' }),
    pollMs,
    ...(concurrency ? { concurrency } : {}),
    random: () => 0.5, // no jitter: backoff is exactly base * 2^(attempt-1)
  });
  const session = testSession('tenant-a');
  let n = 0;
  /** Stores one event with one delivery to `path` on the receiver, as events_send does, and wakes the dispatcher. */
  const queue = async (path: string, tenant = session) => {
    const id = `d-${++n}`;
    await store.append(tenant, storedEvent(Date.now()), [{ id, alertName: path.slice(1), channel: { type: 'webhook', url: `http://127.0.0.1:${receiver.port}${path}`, headers: {} } }]);
    dispatcher.kick();
    return id;
  };
  return {
    receiver,
    dispatcher,
    queue,
    close: async () => {
      await receiver.close();
      await dispatcher.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('DeliveryDispatcher', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('does not hold other deliveries (of any tenant) behind a receiver that never answers', async () => {
    const fixture = await setup({ timeoutMs: 1500 }, 500, (request) => (request.url === '/hang' ? 'hang' : 200));
    cleanup = fixture.close;
    const { receiver, dispatcher, queue } = fixture;
    dispatcher.start();
    await queue('/hang');
    await receiver.waitFor(1, 2_000);
    await sleep(100);
    const queued = Date.now();
    await queue('/good', testSession('tenant-b'));
    await queue('/good');
    const arrived = (await receiver.waitFor(3, 5_000)).filter((r) => r.url === '/good');
    expect(arrived).toHaveLength(2);
    // Before: both waited for the hanging delivery's 1.5 s timeout (the batch's Promise.all).
    for (const request of arrived) expect(request.at - queued).toBeLessThan(700);
  });

  it('starts a due delivery as soon as a slot is free, never running one delivery twice at once', async () => {
    const fixture = await setup({ timeoutMs: 1000, maxAttempts: 1 }, 50, (request) => (request.url === '/hang' ? 'hang' : 200), 2);
    cleanup = fixture.close;
    const { receiver, dispatcher, queue } = fixture;
    const ids = [await queue('/hang'), await queue('/good'), await queue('/good'), await queue('/good')];
    const started = Date.now();
    dispatcher.start();
    // Two slots: one holds the hanging delivery; the other sends the three good ones one after another.
    const all = await receiver.waitFor(4, 3_000);
    expect(all.filter((r) => r.url === '/good').every((r) => r.at - started < 700)).toBe(true);
    await sleep(1_300); // the hanging one times out (and fails: one attempt only) and is never sent again
    expect(receiver.requests).toHaveLength(4);
    expect(receiver.requests.map((r) => r.headers['x-agent-mesh-delivery']).sort()).toEqual([...ids].sort());
  });

  it('wakes for the earliest pending retry, not the next poll, when other deliveries ran in between', async () => {
    const fixture = await setup({ baseDelayMs: 500 }, 3_000, (request) => (request.url === '/flaky' && request.headers['x-agent-mesh-attempt'] === '1' ? 500 : 200));
    cleanup = fixture.close;
    const { receiver, dispatcher, queue } = fixture;
    dispatcher.start();
    await queue('/flaky');
    await receiver.waitFor(1, 2_000);
    // Other work in between: before, each pass forgot the retries scheduled in earlier passes and slept pollMs.
    await sleep(100);
    await queue('/good');
    await receiver.waitFor(2, 2_000);
    await sleep(100);
    await queue('/good');
    const flaky = (await receiver.waitFor(4, 5_000)).filter((r) => r.url === '/flaky');
    expect(flaky.map((r) => r.headers['x-agent-mesh-attempt'])).toEqual(['1', '2']);
    const gap = flaky[1]!.at - flaky[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(450);
    expect(gap).toBeLessThan(800);
  });
});
