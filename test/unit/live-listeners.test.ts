import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { compilePattern } from '../../src/engine/patterns/index.js';
import type { EventEnvelope } from '../../src/ports/event-store.js';
import { LiveListeners } from '../../src/services/events/live-listeners.js';
import { testSession } from '../helpers/sessions.js';

const event = (source: string): EventEnvelope => ({
  version: '0',
  id: source,
  'detail-type': 'T',
  source,
  account: '0',
  time: '2026-01-01T00:00:00Z',
  region: 'us-west-2',
  resources: [],
  detail: {},
});
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('live listeners', () => {
  it('deliver a tenant\'s matching events later, never another tenant\'s', async () => {
    const listeners = new LiveListeners(pino({ level: 'silent' }));
    const a = testSession('a');
    const seen: string[] = [];
    const filtered: string[] = [];
    listeners.subscribe(a, (e) => void seen.push(e.source));
    listeners.subscribe(a, (e) => void filtered.push(e.source), compilePattern({ source: [{ prefix: 'keep' }] }));
    listeners.publish(a, event('keep.1'));
    listeners.publish(testSession('b'), event('other-tenant'));
    listeners.publish(a, event('drop.2'));
    expect(seen).toEqual([]); // publishing only queues
    await tick();
    expect(seen).toEqual(['keep.1', 'drop.2']);
    expect(filtered).toEqual(['keep.1']);
  });

  it('cannot be broken or slowed by a listener that throws, rejects or blocks', async () => {
    const listeners = new LiveListeners(pino({ level: 'silent' }));
    const a = testSession('a');
    const good: string[] = [];
    listeners.subscribe(a, () => {
      throw new Error('boom');
    });
    listeners.subscribe(a, async () => Promise.reject(new Error('async boom')));
    listeners.subscribe(a, (e) => void good.push(e.source));
    for (let i = 0; i < 1000; i++) listeners.publish(a, event(`e${i}`)); // would throw here if listeners ran inline
    expect(good).toEqual([]);
    await tick();
    expect(good).toHaveLength(1000);
  });

  it('stop delivering after unsubscribe', async () => {
    const listeners = new LiveListeners(pino({ level: 'silent' }));
    const a = testSession('a');
    const seen: string[] = [];
    const unsubscribe = listeners.subscribe(a, (e) => void seen.push(e.source));
    listeners.publish(a, event('before'));
    await tick();
    unsubscribe();
    listeners.publish(a, event('after'));
    await tick();
    expect(seen).toEqual(['before']);
    expect(listeners.subscriberCount).toBe(0);
  });
});
