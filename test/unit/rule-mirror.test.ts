import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from '../../src/drivers/local/memory-rate-limit-store.js';
import { openDatabase } from '../../src/drivers/local/sqlite-database.js';
import { SqliteEventStore } from '../../src/drivers/local/sqlite-event-store.js';
import { MeshError } from '../../src/errors.js';
import { RateLimiter } from '../../src/limits/rate-limiter.js';
import type { EventBus } from '../../src/ports/event-bus.js';
import type { RuleRecord } from '../../src/ports/event-store.js';
import { RuleService } from '../../src/services/events/rule-service.js';
import { testSession } from '../helpers/sessions.js';

/** A MOCK EventBus (the real one needs EventBridge): records calls, refuses rules on demand. */
class MockEventBus implements EventBus {
  readonly calls: string[] = [];
  refuse = false;
  async publish(): Promise<void> {}
  async putRule(_session: unknown, rule: RuleRecord): Promise<void> {
    this.calls.push(`put ${rule.name} ${rule.description}`);
    if (this.refuse) throw new MeshError('invalid_argument', 'event_pattern: EventBridge refused it', { field: 'event_pattern' });
  }
  async deleteRule(_session: unknown, name: string): Promise<void> {
    this.calls.push(`delete ${name}`);
    if (this.refuse) throw new MeshError('unavailable', 'EventBridge is unavailable');
  }
}

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-rule-mirror-'));
  dirs.push(dir);
  const store = new SqliteEventStore(openDatabase(dir));
  const bus = new MockEventBus();
  const rules = new RuleService(store, new RateLimiter(new MemoryRateLimitStore()), undefined, bus);
  return { store, bus, rules, session: testSession('acme') };
}

describe('rules mirrored to an external bus', () => {
  it('takes a new rule back out of the store when the bus refuses it, and puts a replaced one back', async () => {
    const { store, bus, rules, session } = setup();
    await store.putAlert(session, { name: 'ops', pattern: '{"source":["a"]}', channel: { type: 'webhook', url: 'https://example.com/' }, createdAt: 1 });
    await rules.create(session, { name: 'r', event_pattern: { source: ['a'] }, targets: [{ alert: 'ops' }], description: 'first' });

    bus.refuse = true;
    await expect(rules.create(session, { name: 'r', event_pattern: { source: ['b'] }, targets: [{ alert: 'ops' }], description: 'second' })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect((await store.listRules(session)).map((r) => [r.name, r.description, r.pattern])).toEqual([['r', 'first', '{"source":["a"]}']]);

    await expect(rules.create(session, { name: 'new', event_pattern: { source: ['c'] }, targets: [{ alert: 'ops' }] })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect((await store.listRules(session)).map((r) => r.name)).toEqual(['r']);
    expect(bus.calls).toEqual(['put r first', 'put r second', 'put new ']);
  });

  it('deletes from the bus first, so a failed delete leaves the rule for a retry', async () => {
    const { store, bus, rules, session } = setup();
    await store.putAlert(session, { name: 'ops', pattern: '{"source":["a"]}', channel: { type: 'webhook', url: 'https://example.com/' }, createdAt: 1 });
    await rules.create(session, { name: 'r', event_pattern: { source: ['a'] }, targets: [{ alert: 'ops' }] });
    bus.refuse = true;
    await expect(rules.delete(session, 'r')).rejects.toMatchObject({ code: 'unavailable' });
    expect((await store.listRules(session)).map((r) => r.name)).toEqual(['r']);
    bus.refuse = false;
    expect(await rules.delete(session, 'r')).toEqual({ name: 'r', deleted: true });
    expect(await store.listRules(session)).toEqual([]);
    await expect(rules.delete(session, 'r')).rejects.toMatchObject({ code: 'not_found' });
    expect(bus.calls.filter((c) => c.startsWith('delete'))).toEqual(['delete r', 'delete r']);
  });
});
