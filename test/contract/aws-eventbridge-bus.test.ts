import { randomUUID } from 'node:crypto';
import { DescribeEventBusCommand, PutEventsCommand, PutRuleCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeBus, eventBridgeRuleName, tenantScopedPattern, type EventBridgeBusOptions } from '../../src/drivers/aws/eventbridge-bus.js';
import { compilePattern } from '../../src/engine/patterns/index.js';
import { MeshError } from '../../src/errors.js';
import type { EventEnvelope, RuleRecord } from '../../src/ports/event-store.js';
import type { TenantSession } from '../../src/tenancy/session.js';
import { startFakeEventBridge, type FakeEventBridge } from '../helpers/fake-eventbridge.js';
import { testSession } from '../helpers/sessions.js';

const BUS = 'agent-mesh-events';
let fake: FakeEventBridge;
let client: EventBridgeClient;

beforeAll(async () => {
  fake = await startFakeEventBridge({ buses: [BUS] });
  client = fake.client();
});

afterAll(async () => {
  await fake?.close();
});

beforeEach(() => {
  // One fake per file; each test starts from an empty record.
  fake.calls.length = 0;
  fake.events.length = 0;
  fake.rules.clear();
  fake.failEntries(0);
});

const bus = (options: Partial<EventBridgeBusOptions> = {}) => new EventBridgeBus(client, { eventBusName: BUS, retryDelayMs: 1, ...options });

function envelope(tenantId: string, detail: Record<string, unknown> = {}, overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'order.created',
    source: 'shop',
    account: '000000000000',
    time: '2026-05-01T12:00:00Z',
    region: 'us-west-2',
    resources: [],
    detail: { ...detail, tenant_context: { tenant_id: tenantId, user_id: 'tester', context_type: 'user' } },
    ...overrides,
  };
}

function rule(name: string, pattern: unknown, overrides: Partial<RuleRecord> = {}): RuleRecord {
  return { name, pattern: JSON.stringify(pattern), targets: [], description: `rule ${name}`, enabled: true, createdAt: 0, updatedAt: 0, ...overrides };
}

const putEventsCalls = () => fake.calls.filter((call) => call.operation === 'PutEvents');
const entriesOf = (call: { body: Record<string, unknown> }) => call.body.Entries as Record<string, unknown>[];

async function failure(promise: Promise<unknown>): Promise<MeshError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MeshError);
    return error as MeshError;
  }
  throw new Error('expected the call to fail');
}

describe('EventBridgeBus.publish', () => {
  it('puts events on the configured bus with the tenant context forced from the session', async () => {
    const session = testSession('acme');
    const forged = envelope('globex', { order: 7 }, { resources: ['arn:aws:s3:::bucket/key'], time: '2026-05-01T12:34:56Z' });
    forged.detail.tenant_context = { tenant_id: 'globex', user_id: 'mallory', context_type: 'agent' };
    const bare = envelope('acme', { order: 8 });
    delete bare.detail.tenant_context;

    await bus().publish(session, [forged, bare]);

    expect(fake.events).toHaveLength(2);
    for (const event of fake.events) {
      expect(event.eventBusName).toBe(BUS);
      expect(event.envelope.detail.tenant_context).toEqual({ tenant_id: 'acme', user_id: 'tester', context_type: 'user' });
      expect(event.envelope.source).toBe('shop');
      expect(event.envelope['detail-type']).toBe('order.created');
    }
    expect(fake.events.map((e) => e.envelope.detail.order)).toEqual([7, 8]);
    expect(fake.events[0]!.envelope.resources).toEqual(['arn:aws:s3:::bucket/key']);
    expect(fake.events[0]!.envelope.time).toBe('2026-05-01T12:34:56Z');
  });

  it('sends at most 10 entries per PutEvents, in order', async () => {
    const events = Array.from({ length: 23 }, (_, i) => envelope('acme', { n: i }));
    await bus().publish(testSession('acme'), events);
    expect(putEventsCalls().map((call) => entriesOf(call).length)).toEqual([10, 10, 3]);
    expect(fake.events.map((e) => e.envelope.detail.n)).toEqual(events.map((_, i) => i));
  });

  it('also splits by the 256 KB request limit', async () => {
    const big = 'x'.repeat(100 * 1024);
    await bus().publish(testSession('acme'), [envelope('acme', { big }), envelope('acme', { big }), envelope('acme', { big })]);
    expect(putEventsCalls().map((call) => entriesOf(call).length)).toEqual([2, 1]);
    expect(fake.events).toHaveLength(3);
  });

  it('retries only the entries EventBridge failed, so each event lands once', async () => {
    fake.failEntries(3);
    const events = Array.from({ length: 5 }, (_, i) => envelope('acme', { n: i }));
    await bus().publish(testSession('acme'), events);
    const calls = putEventsCalls();
    expect(calls.map((call) => entriesOf(call).length)).toEqual([5, 3]);
    expect(entriesOf(calls[1]!).map((entry) => JSON.parse(entry.Detail as string).n)).toEqual([0, 1, 2]);
    expect(fake.events.map((e) => e.envelope.detail.n).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives up with unavailable when throttling persists', async () => {
    fake.failEntries(1000);
    const error = await failure(bus({ maxAttempts: 3 }).publish(testSession('acme'), [envelope('acme'), envelope('acme')]));
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/failed 2 of 2 events .*ThrottlingException.* after 3 tries/);
    expect(putEventsCalls()).toHaveLength(3);
    expect(fake.events).toHaveLength(0);
  });

  it('does not retry an entry EventBridge refuses for good', async () => {
    fake.failEntries(1, 'InvalidArgument');
    const error = await failure(bus().publish(testSession('acme'), [envelope('acme')]));
    expect(error.code).toBe('internal');
    expect(putEventsCalls()).toHaveLength(1);
  });

  it('reports a missing bus as unavailable, naming AGENT_MESH_EVENT_BUS', async () => {
    const error = await failure(bus({ eventBusName: 'no-such-bus' }).publish(testSession('acme'), [envelope('acme')]));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('AGENT_MESH_EVENT_BUS');
    expect(error.message).toContain('no-such-bus');
  });

  it('refuses a session the auth layer did not issue', async () => {
    const forged = { ...testSession('victim') } as TenantSession;
    await expect(bus().publish(forged, [envelope('victim')])).rejects.toThrow(/not a TenantSession/);
    await expect(bus().putRule(forged, rule('r', { source: ['shop'] }))).rejects.toThrow(/not a TenantSession/);
    await expect(bus().deleteRule(forged, 'r')).rejects.toThrow(/not a TenantSession/);
    expect(fake.calls).toHaveLength(0);
  });
});

describe('EventBridge rule names', () => {
  const VALID = /^[.\-_A-Za-z0-9]{1,64}$/;

  it('are agent-mesh-<tenant>-<rule> when that is unambiguous', () => {
    expect(eventBridgeRuleName('acme', 'orders')).toBe('agent-mesh-acme-orders');
    expect(eventBridgeRuleName('acme.prod', 'a_b-c')).toBe('agent-mesh-acme.prod-a_b-c');
  });

  it('never collide, whatever the dashes and lengths', () => {
    const long = 'T'.repeat(64);
    const pairs: [string, string][] = [
      ['a-b', 'c'],
      ['a', 'b-c'],
      ['a', 'b'],
      ['a-', 'b'],
      [long, 'r'.repeat(64)],
      [long, `${'r'.repeat(63)}s`],
      [`${'T'.repeat(63)}U`, 'r'.repeat(64)],
      ['acme', 'x'.repeat(60)],
      ['acme', `${'x'.repeat(59)}y`],
      ['acme', '-acme-orders'],
      ['-acme', 'orders'],
    ];
    const names = pairs.map(([tenant, name]) => eventBridgeRuleName(tenant, name));
    expect(new Set(names).size).toBe(pairs.length);
    for (const name of names) expect(name).toMatch(VALID);
    expect(eventBridgeRuleName('a-b', 'c')).toMatch(/^agent-mesh--a-b-c-[0-9a-f]{16}$/);
    expect(eventBridgeRuleName(long, 'r')).toHaveLength(64);
  });

  it('are sanitized to what EventBridge accepts', () => {
    const name = eventBridgeRuleName('acme', 'ünïcode rule/with spaces');
    expect(name).toMatch(VALID);
    expect(name.startsWith('agent-mesh--acme-')).toBe(true);
  });

  it('are what putRule creates on the bus, also for long and dashed ids', async () => {
    const long = testSession(`t${'0'.repeat(63)}`);
    const dashed = testSession('a-b');
    await bus().putRule(testSession('acme'), rule('orders', { source: ['shop'] }));
    await bus().putRule(long, rule('r'.repeat(64), { source: ['shop'] }));
    await bus().putRule(dashed, rule('c', { source: ['shop'] }));
    await bus().putRule(testSession('a'), rule('b-c', { source: ['shop'] }));
    expect([...fake.rules.values()].map((r) => r.Name).sort()).toEqual(
      [
        'agent-mesh-acme-orders',
        eventBridgeRuleName(long.tenantId, 'r'.repeat(64)),
        eventBridgeRuleName('a-b', 'c'),
        'agent-mesh-a-b-c',
      ].sort(),
    );
  });
});

describe('EventBridgeBus.putRule', () => {
  const acme = () => testSession('acme');
  const matcherOf = (name: string) => compilePattern(JSON.parse(fake.rules.get(`${BUS}/${name}`)!.EventPattern));

  it('creates the rule on the bus with the tenant condition joined into its pattern', async () => {
    await bus().putRule(acme(), rule('orders', { source: ['shop'], detail: { kind: ['big'] } }));
    const stored = fake.rules.get(`${BUS}/agent-mesh-acme-orders`)!;
    expect(stored.State).toBe('ENABLED');
    expect(stored.Description).toBe('rule orders');
    expect(JSON.parse(stored.EventPattern)).toEqual({ source: ['shop'], detail: { kind: ['big'], tenant_context: { tenant_id: ['acme'] } } });
    const matcher = matcherOf('agent-mesh-acme-orders');
    expect(matcher.matches(envelope('acme', { kind: 'big' }))).toBe(true);
    expect(matcher.matches(envelope('globex', { kind: 'big' }))).toBe(false);
    expect(matcher.matches(envelope('acme', { kind: 'small' }))).toBe(false);
  });

  const hostile: [string, unknown][] = [
    ['nested', { detail: { tenant_context: { tenant_id: ['globex'] } } }],
    ['dotted key', { 'detail.tenant_context.tenant_id': ['globex'] }],
    ['half-dotted key', { detail: { 'tenant_context.tenant_id': ['globex'] } }],
    ['anything-but', { detail: { tenant_context: { tenant_id: [{ 'anything-but': ['acme'] }] } } }],
    ['$or at the top', { $or: [{ detail: { tenant_context: { tenant_id: ['globex'] } } }, { source: ['nope'] }] }],
    ['$or inside detail', { detail: { $or: [{ tenant_context: { tenant_id: [{ prefix: 'glo' }] } }, { 'tenant_context.tenant_id': ['globex'] }] } }],
    ['dotted key after detail', { detail: { kind: [{ exists: false }] }, 'detail.tenant_context.tenant_id': ['globex'] }],
    ['$or after detail', { detail: { tenant_context: { user_id: ['tester'] } }, $or: [{ 'detail.tenant_context.tenant_id': ['globex'] }, { source: ['nope'] }] }],
    ['exists:false', { detail: { tenant_context: { tenant_id: [{ exists: false }] } } }],
    ['a leaf on detail', { detail: [{ exists: false }] }],
    ['a leaf on tenant_context', { detail: { tenant_context: [{ exists: false }] } }],
  ];

  it.each(hostile)('keeps the rule to its tenant even when the pattern names another (%s)', async (label, pattern) => {
    await bus().putRule(acme(), rule('sneaky', pattern));
    const matcher = matcherOf('agent-mesh-acme-sneaky');
    expect(matcher.matches(envelope('globex'))).toBe(false);
    expect(matcher.matches(envelope('acme'))).toBe(true);
    // And the client pattern alone would have matched the other tenant: the test is not vacuous.
    if (!label.startsWith('a leaf') && label !== 'exists:false') expect(compilePattern(pattern).matches(envelope('globex'))).toBe(true);
  });

  it("routes only the tenant's own events to its rule on the bus", async () => {
    await bus().putRule(acme(), rule('all', { detail: { tenant_context: { tenant_id: ['globex'] } } }));
    await bus().publish(testSession('globex'), [envelope('globex')]);
    await bus().publish(acme(), [envelope('globex')]); // a forged context is overwritten with acme's
    expect(fake.events.map((e) => e.matchedRules)).toEqual([[], ['agent-mesh-acme-all']]);
  });

  it('creates disabled rules disabled, and replaces a rule in place', async () => {
    await bus().putRule(acme(), rule('orders', { source: ['shop'] }, { enabled: false }));
    expect(fake.rules.get(`${BUS}/agent-mesh-acme-orders`)!.State).toBe('DISABLED');
    await bus().publish(acme(), [envelope('acme')]);
    expect(fake.events[0]!.matchedRules).toEqual([]);

    await bus().putRule(acme(), rule('orders', { source: ['other'] }, { enabled: true }));
    expect(fake.rules.size).toBe(1);
    const stored = fake.rules.get(`${BUS}/agent-mesh-acme-orders`)!;
    expect(stored.State).toBe('ENABLED');
    expect(JSON.parse(stored.EventPattern).source).toEqual(['other']);
  });

  it('adds the configured fan-out target, and none when there is none', async () => {
    await bus().putRule(acme(), rule('plain', { source: ['shop'] }));
    expect(fake.calls.filter((c) => c.operation === 'PutTargets')).toHaveLength(0);
    expect(fake.rules.get(`${BUS}/agent-mesh-acme-plain`)!.targets.size).toBe(0);

    const queue = 'arn:aws:sqs:us-west-2:000000000000:mesh-events';
    const role = 'arn:aws:iam::000000000000:role/mesh-events';
    await bus({ ruleTargetArn: queue, ruleTargetRoleArn: role }).putRule(acme(), rule('fanned', { source: ['shop'] }));
    expect([...fake.rules.get(`${BUS}/agent-mesh-acme-fanned`)!.targets.values()]).toEqual([{ Id: 'agent-mesh-fanout', Arn: queue, RoleArn: role }]);
  });

  it('turns a pattern EventBridge refuses into invalid_argument on event_pattern', async () => {
    const error = await failure(bus().putRule(acme(), rule('bad', { source: 'not-an-array' })));
    expect(error.code).toBe('invalid_argument');
    expect(error.details.field).toBe('event_pattern');
  });
});

describe('EventBridgeBus.deleteRule', () => {
  it('removes the targets, then the rule, of this tenant only', async () => {
    const fanout = bus({ ruleTargetArn: 'arn:aws:sqs:us-west-2:000000000000:q' });
    await fanout.putRule(testSession('acme'), rule('orders', { source: ['shop'] }));
    await fanout.putRule(testSession('globex'), rule('orders', { source: ['shop'] }));
    fake.calls.length = 0;

    await fanout.deleteRule(testSession('acme'), 'orders');
    expect(fake.calls.map((c) => c.operation)).toEqual(['ListTargetsByRule', 'RemoveTargets', 'DeleteRule']);
    expect(fake.calls[1]!.body.Ids).toEqual(['agent-mesh-fanout']);
    expect([...fake.rules.values()].map((r) => r.Name)).toEqual(['agent-mesh-globex-orders']);
  });

  it('deletes a rule whose targets were added under another configuration', async () => {
    await bus({ ruleTargetArn: 'arn:aws:sqs:us-west-2:000000000000:q' }).putRule(testSession('acme'), rule('orders', { source: ['shop'] }));
    await bus().deleteRule(testSession('acme'), 'orders');
    expect(fake.rules.size).toBe(0);
  });

  it('is fine with a missing rule', async () => {
    await expect(bus().deleteRule(testSession('acme'), 'never-created')).resolves.toBeUndefined();
  });
});

describe('the fake EventBridge speaks AWS errors through the SDK', () => {
  it('refuses more than 10 entries, a bad pattern and an unknown bus', async () => {
    const entry = { Source: 's', DetailType: 'd', Detail: '{}', EventBusName: BUS };
    await expect(client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry) }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(client.send(new PutRuleCommand({ Name: 'r', EventBusName: BUS, EventPattern: '{not json' }))).rejects.toMatchObject({
      name: 'InvalidEventPatternException',
    });
    await expect(client.send(new DescribeEventBusCommand({ Name: 'missing' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect((await client.send(new DescribeEventBusCommand({ Name: BUS }))).Name).toBe(BUS);
  });
});

describe('tenantScopedPattern', () => {
  it('refuses what is not a JSON object', () => {
    expect(() => tenantScopedPattern('[1]', 'acme')).toThrow(/event_pattern/);
    expect(() => tenantScopedPattern('{oops', 'acme')).toThrow(/event_pattern/);
  });
});
