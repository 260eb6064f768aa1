import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startServer, structured, tempDataDir, writeConfig, type ServerHandle } from '../helpers/server-process.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';

const UNLIMITED = { capacity: 1_000_000, refillPerSecond: 1_000_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type Envelope = { id: string; source: string; 'detail-type': string; time: string; detail: Record<string, unknown> };

describe('events over stdio', () => {
  const data = tempDataDir();
  let receiver: HttpReceiver;
  let server: ServerHandle;
  beforeAll(async () => {
    // The webhook fails twice, then succeeds: deliveries must be retried.
    let failuresLeft = 2;
    receiver = await startHttpReceiver((request) => (request.url === '/flaky' && failuresLeft-- > 0 ? 500 : 200));
    const config = writeConfig(data.dir, {
      defaults: { rateLimits: { eventbridge: UNLIMITED, sns: UNLIMITED } },
      events: { delivery: { baseDelayMs: 200, maxAttempts: 4, timeoutMs: 2000 } },
      network: { allow: [`127.0.0.1:${receiver.port}`] },
    });
    server = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config });
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
    data.cleanup();
  });

  it('sends EventBridge envelopes with tenant context that callers cannot forge', async () => {
    const sent = structured(
      await server.call('events_send', {
        source: 'app.orders',
        detail_type: 'OrderPlaced',
        detail: { order: 'o-1', tenant_context: { tenant_id: 'someone-else', user_id: 'mallory' } },
        resources: ['arn:aws:orders:::o-1'],
      }),
    );
    expect(sent.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const { events } = structured(await server.call('events_query', { source: 'app.orders', limit: 1 })) as unknown as { events: Envelope[] };
    expect(events[0]).toEqual({
      version: '0',
      id: sent.event_id,
      'detail-type': 'OrderPlaced',
      source: 'app.orders',
      account: '000000000000',
      time: sent.time,
      region: 'us-west-2',
      resources: ['arn:aws:orders:::o-1'],
      detail: { order: 'o-1', tenant_context: { tenant_id: 'default', user_id: 'local', context_type: 'user' } },
    });
  });

  it('refuses bad events with the field named and stores nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ source: 'aws.ec2', detail_type: 'X', detail: {} }, 'source'],
      // agent-mesh's own lifecycle events: rules on them must be able to trust that a workflow really ended.
      [{ source: 'agent-mesh.workflows', detail_type: 'ExecutionSucceeded', detail: { workflow: 'w' } }, 'source'],
      [{ source: '', detail_type: 'X', detail: {} }, 'source'],
      [{ source: 'app', detail_type: 'X', detail: [] }, 'detail'],
      [{ source: 'app', detail_type: 'X', detail: { big: 'x'.repeat(256 * 1024) } }, 'detail'],
      [{ source: 'app', detail_type: 'X', detail: {}, time: 'yesterday' }, 'time'],
      [{ source: 'app', detail: {} }, 'detail_type'],
    ];
    for (const [args, field] of cases) {
      const result = await server.call('events_send', { ...args });
      expect(errorCode(result)).toBe('invalid_argument');
      expect(structured(result).error?.field).toBe(field);
    }
    const { events } = structured(await server.call('events_query', { source: 'app' }));
    expect(events).toEqual([]);
    expect(structured(await server.call('events_query', { source: 'agent-mesh.workflows' })).events).toEqual([]);
  });

  it('queries newest first by source, detail type, time range and pattern, with cursors', async () => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 30; i++) {
      await server.call('events_send', {
        source: i % 2 ? 'q.odd' : 'q.even',
        detail_type: i % 3 ? 'Tick' : 'Tock',
        detail: { i, price: i * 10 },
        time: new Date(base + i * 60_000).toISOString(),
      });
    }
    const all: Envelope[] = [];
    let cursor: string | undefined;
    do {
      const page = structured(await server.call('events_query', { start_time: '2026-01-01T00:00:00Z', end_time: '2026-01-02T00:00:00Z', limit: 7, ...(cursor && { cursor }) }));
      all.push(...(page.events as Envelope[]));
      cursor = (page.next_cursor as string | null) ?? undefined;
    } while (cursor);
    expect(all.map((e) => e.detail.i)).toEqual(Array.from({ length: 30 }, (_, i) => 29 - i));

    const odd = structured(await server.call('events_query', { source: 'q.odd', detail_type: 'Tock', limit: 100 })).events as Envelope[];
    expect(odd.map((e) => e.detail.i)).toEqual([27, 21, 15, 9, 3]);
    const ranged = structured(await server.call('events_query', { source: 'q.even', start_time: '2026-01-01T00:10:00Z', end_time: '2026-01-01T00:16:00Z' })).events as Envelope[];
    expect(ranged.map((e) => e.detail.i)).toEqual([14, 12, 10]);
    const patterned = structured(
      await server.call('events_query', { pattern: { source: [{ prefix: 'q.' }], detail: { price: [{ numeric: ['>=', 200, '<', 250] }] } }, limit: 3 }),
    );
    expect((patterned.events as Envelope[]).map((e) => e.detail.i)).toEqual([24, 23, 22]);
    const rest = structured(await server.call('events_query', { pattern: { detail: { price: [{ numeric: ['>=', 200, '<', 250] }] } }, limit: 3, cursor: patterned.next_cursor }));
    expect((rest.events as Envelope[]).map((e) => e.detail.i)).toEqual([21, 20]);
    expect(errorCode(await server.call('events_query', { pattern: { detail: { price: 5 } } }))).toBe('invalid_argument');
    expect(errorCode(await server.call('events_query', { cursor: 'garbage!' }))).toBe('invalid_argument');
  });

  it('counts events per time bucket and group, with totals and the top groups', async () => {
    const day = Date.parse('2026-02-01T00:00:00Z');
    const sends: [number, string][] = [
      [day + 5_000, 'A'], [day + 50_000, 'A'], [day + 61_000, 'B'], [day + 3_600_000 + 1, 'A'], [day + 86_400_000 + 7, 'C'], [day + 86_400_000 + 9, 'C'],
    ];
    for (const [ms, type] of sends) {
      await server.call('events_send', { source: 'stats', detail_type: type, detail: {}, time: new Date(ms).toISOString() });
    }
    const minutes = structured(
      await server.call('events_analytics', { start_time: '2026-02-01T00:00:00Z', end_time: '2026-02-01T00:03:00Z', bucket: 'minute', group_by: 'detail_type' }),
    );
    expect(minutes.buckets).toEqual([
      { start: '2026-02-01T00:00:00.000Z', total: 2, counts: { A: 2 } },
      { start: '2026-02-01T00:01:00.000Z', total: 1, counts: { B: 1 } },
      { start: '2026-02-01T00:02:00.000Z', total: 0, counts: {} },
    ]);
    const days = structured(
      await server.call('events_analytics', { start_time: '2026-02-01T00:00:00Z', end_time: '2026-02-03T00:00:00Z', bucket: 'day', group_by: 'detail_type' }),
    );
    expect(days.total).toBe(6);
    expect((days.buckets as { total: number }[]).map((b) => b.total)).toEqual([4, 2]);
    expect(days.totals).toEqual([{ group: 'A', count: 3 }, { group: 'C', count: 2 }, { group: 'B', count: 1 }]);
    expect(days.top).toEqual(days.totals);
    const hours = structured(
      await server.call('events_analytics', { start_time: '2026-02-01T00:00:00Z', end_time: '2026-02-01T02:00:00Z', bucket: 'hour', group_by: 'source' }),
    );
    expect((hours.buckets as { counts: Record<string, number> }[]).map((b) => b.counts)).toEqual([{ stats: 3 }, { stats: 1 }]);
    const tooWide = await server.call('events_analytics', { start_time: '2000-01-01T00:00:00Z', bucket: 'minute', group_by: 'source' });
    expect(structured(tooWide).error).toMatchObject({ code: 'invalid_argument', field: 'start_time' });
  });

  it('fires enabled rules, refuses invalid patterns with the place named, and deletes rules', async () => {
    const create = (name: string, event_pattern: unknown, extra: Record<string, unknown> = {}) =>
      server.call('events_create_rule', { name, event_pattern, targets: [], ...extra });
    expect(structured(await create('big', { source: ['shop'], detail: { total: [{ numeric: ['>', 100] }] } })).created).toBe(true);
    await create('vip', JSON.stringify({ detail: { customer: { tier: ['gold', 'platinum'] } } }));
    await create('off', { source: ['shop'] }, { enabled: false });
    const send = async (detail: Record<string, unknown>) =>
      structured(await server.call('events_send', { source: 'shop', detail_type: 'Order', detail })).matched_rules;
    expect(await send({ total: 500, customer: { tier: 'gold' } })).toEqual(['big', 'vip']);
    expect(await send({ total: 50, customer: { tier: 'gold' } })).toEqual(['vip']);
    expect(await send({ total: 50 })).toEqual([]);

    const invalid = await create('broken', { detail: { total: [{ numeric: ['>', 'ten'] }] } });
    expect(errorCode(invalid)).toBe('invalid_argument');
    expect(structured(invalid).error?.message).toMatch(/^event_pattern: detail\.total/);
    expect(errorCode(await create('no/slash', { source: ['x'] }))).toBe('invalid_argument');
    const workflow = await server.call('events_create_rule', { name: 'wf', event_pattern: { source: ['x'] }, targets: [{ workflow: 'w' }] });
    expect(structured(workflow).error).toMatchObject({ code: 'invalid_argument', field: 'targets.0.workflow' });

    const listed = structured(await server.call('events_list_rules', {}));
    expect((listed.rules as { name: string }[]).map((r) => r.name)).toEqual(['big', 'off', 'vip']);
    expect(structured(await server.call('events_delete_rule', { name: 'big' })).deleted).toBe(true);
    expect(errorCode(await server.call('events_delete_rule', { name: 'big' }))).toBe('not_found');
    expect(await send({ total: 500 })).toEqual([]);
  });

  it('delivers alerts to a webhook, retrying with backoff until it succeeds, and logs each attempt', async () => {
    const hook = `http://127.0.0.1:${receiver.port}/flaky`;
    const alert = await server.call('events_create_alert', {
      name: 'ops',
      event_pattern: { 'detail-type': ['Outage'] },
      channel: { type: 'webhook', url: hook, headers: { authorization: 'Bearer s3cret' } },
    });
    expect(structured(alert)).toMatchObject({ name: 'ops', created: true, channel: { type: 'webhook', headers: { authorization: '***' } } });
    await server.call('events_create_rule', { name: 'page-ops', event_pattern: { source: ['monitor'] }, targets: [{ alert: 'ops' }] });

    const sent = structured(await server.call('events_send', { source: 'monitor', detail_type: 'Outage', detail: { service: 'db' } }));
    expect(sent).toMatchObject({ matched_rules: ['page-ops'], alerts_queued: 1 }); // the rule and the alert both match: one delivery
    const flaky = (await receiver.waitFor(3)).filter((r) => r.url === '/flaky');
    expect(flaky.map((r) => r.headers['x-agent-mesh-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(flaky.map((r) => r.headers['x-agent-mesh-delivery'])).size).toBe(1);
    expect(flaky[0]!.headers.authorization).toBe('Bearer s3cret');
    const body = JSON.parse(flaky[2]!.body);
    expect(body).toMatchObject({ alert: 'ops', tenant_id: 'default', event: { id: sent.event_id, detail: { service: 'db' } } });
    await sleep(300);
    const health = structured(await server.call('events_health_check', {}));
    expect(health).toMatchObject({ status: 'ok', store: { status: 'ok' }, alerts: 1, deliveries: { backlog: 0, delivered: 1, failed: 0 } });
    const failures = (health.recent_failures as { status: number; attempt: number; at: string }[]).sort((a, b) => a.attempt - b.attempt);
    expect(failures.map((f) => f.status)).toEqual([500, 500]);

    // Exponential backoff (base 200 ms, ±20% jitter), counted from the start of the failed attempt, as the
    // store records it: the next request cannot arrive before. (Arrival to arrival would also count the
    // first request's extra latency, a new connection on cold code.) Lower bounds only: a loaded machine
    // delays retries, never hastens them. The second wait's floor, 400 ms - 20%, is above the first's
    // ceiling, 200 ms + 20%.
    const first = flaky[1]!.at - Date.parse(failures[0]!.at);
    const second = flaky[2]!.at - Date.parse(failures[1]!.at);
    expect(first).toBeGreaterThanOrEqual(160);
    expect(second).toBeGreaterThanOrEqual(320);
    expect((health.rate_limits as { service: string }[]).map((b) => b.service)).toContain('eventbridge');

    expect(errorCode(await server.call('events_delete_alert', { name: 'ops' }))).toBe('conflict');
  });

  it('refuses webhooks to addresses the config does not allow, and channels this server cannot serve', async () => {
    const create = (channel: Record<string, unknown>) => server.call('events_create_alert', { name: 'x', event_pattern: { source: ['a'] }, channel });
    expect(errorCode(await create({ type: 'webhook', url: 'http://169.254.169.254/latest/meta-data' }))).toBe('permission_denied');
    expect(errorCode(await create({ type: 'webhook', url: `http://127.0.0.1:${receiver.port + 1}/other-port` }))).toBe('permission_denied');
    expect(errorCode(await create({ type: 'webhook', url: 'file:///etc/passwd' }))).toBe('invalid_argument');
    const email = await create({ type: 'email', to: 'ops@example.com' });
    expect(structured(email).error).toMatchObject({ code: 'unavailable', field: 'channel.type' });
    expect(structured(email).error?.message).toMatch(/AGENT_MESH_SMTP_URL/);
    expect(errorCode(await create({ type: 'sns', topic_arn: 'arn:aws:sns:us-west-2:123456789012:alerts' }))).toBe('unavailable');
    expect(structured(await server.call('events_list_alerts', {})).alerts).toHaveLength(1);
  });
});

describe('events across tenants and time', () => {
  it('never lets a rule or alert of one tenant see another tenant\'s events (0 of 1000)', async () => {
    const data = tempDataDir();
    const receiver = await startHttpReceiver();
    const config = writeConfig(data.dir, {
      defaults: { rateLimits: { eventbridge: UNLIMITED, sns: UNLIMITED } },
      network: { allow: [`127.0.0.1:${receiver.port}`] },
    });
    const env = { AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config };
    const [alpha, beta] = await Promise.all([startServer({ ...env, AGENT_MESH_TENANT_ID: 'alpha' }), startServer({ ...env, AGENT_MESH_TENANT_ID: 'beta' })]);
    try {
      await alpha.call('events_create_alert', { name: 'all', event_pattern: { source: [{ prefix: '' }] }, channel: { type: 'webhook', url: receiver.url } });
      await alpha.call('events_create_rule', { name: 'catch-all', event_pattern: { source: [{ prefix: '' }] }, targets: [{ alert: 'all' }] });
      await alpha.call('events_create_rule', { name: 'beta-ctx', event_pattern: { detail: { tenant_context: { tenant_id: ['beta'] } } }, targets: [] });
      let seed = 42;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const sources = ['app.a', 'app.b', 'alpha', 'beta', 'shared'];
      const results = [];
      for (let batch = 0; batch < 20; batch++) {
        results.push(
          ...(await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              beta.call('events_send', {
                source: sources[Math.floor(random() * sources.length)]!,
                detail_type: `T${Math.floor(random() * 10)}`,
                detail: { n: batch * 50 + i, tenant_context: { tenant_id: 'alpha' }, v: random() },
              }),
            ),
          )),
        );
      }
      expect(results.filter((r) => r.isError)).toEqual([]);
      expect(results.flatMap((r) => structured(r).matched_rules as string[])).toEqual([]);
      const mine = structured(await alpha.call('events_send', { source: 'alpha', detail_type: 'Own', detail: {} }));
      expect(mine.matched_rules).toEqual(['catch-all']);
      await receiver.waitFor(1);
      await sleep(500);
      expect(receiver.requests).toHaveLength(1);
      expect(JSON.parse(receiver.requests[0]!.body).event.id).toBe(mine.event_id);
      expect(structured(await alpha.call('events_query', { limit: 500 })).events).toHaveLength(1);
      const betaEvents = structured(await beta.call('events_query', { limit: 500, pattern: { detail: { tenant_context: { tenant_id: ['beta'] } } } }));
      expect((betaEvents.events as unknown[]).length).toBe(500);
    } finally {
      await Promise.all([alpha.close(), beta.close()]);
      await receiver.close();
      data.cleanup();
    }
  });

  it('prunes events older than the configured retention', async () => {
    const data = tempDataDir();
    const config = writeConfig(data.dir, { events: { retentionDays: 1.5 / 86_400 } });
    const server = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config });
    try {
      await server.call('events_send', { source: 'old', detail_type: 'X', detail: {} });
      expect(structured(await server.call('events_query', {})).events).toHaveLength(1);
      await sleep(3_000);
      await server.call('events_send', { source: 'new', detail_type: 'X', detail: {} });
      const left = structured(await server.call('events_query', {})).events as Envelope[];
      expect(left.map((e) => e.source)).toEqual(['new']);
    } finally {
      await server.close();
      data.cleanup();
    }
  });
});

describe('email alerts through a real SMTP server', () => {
  it('sends matching events as mail when AGENT_MESH_SMTP_URL is set', async () => {
    const { SMTPServer } = await import('smtp-server');
    const mails: { to: string[]; data: string }[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    const port = (smtp.server.address() as { port: number }).port;
    const data = tempDataDir();
    const server = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_SMTP_URL: `smtp://127.0.0.1:${port}`, AGENT_MESH_SMTP_FROM: 'mesh@test.local' });
    try {
      const created = await server.call('events_create_alert', {
        name: 'mail-ops',
        event_pattern: { 'detail-type': ['ReportReady'] },
        channel: { type: 'email', to: ['ops@example.test'], subject: 'Report ready' },
      });
      expect(created.isError).toBeFalsy();
      await server.call('events_send', { source: 'reports', detail_type: 'Ignored', detail: {} });
      const sent = structured(await server.call('events_send', { source: 'reports', detail_type: 'ReportReady', detail: { report: 'q3.pdf' } }));
      for (let i = 0; i < 100 && mails.length === 0; i++) await sleep(50);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.to).toEqual(['ops@example.test']);
      expect(mails[0]!.data).toMatch(/Subject: Report ready/);
      expect(mails[0]!.data).toContain('q3.pdf');
      expect(mails[0]!.data).toContain(sent.event_id as string);
    } finally {
      await server.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      data.cleanup();
    }
  });
});

describe('rule workflow targets', () => {
  const data = tempDataDir();
  let receiver: HttpReceiver;
  let server: ServerHandle;
  type Start = { rule: string; workflow: string; start_id: string; attempt: number; error: string };
  type Starts = { backlog: number; started: number; failed: number; recent_failures: Start[] };
  const starts = async () => structured(await server.call('events_health_check', {})).workflow_starts as Starts;
  const executions = async (name: string) => structured(await server.call('workflow_list', { name, limit: 100 })).executions as { status: string; output?: unknown; execution_name: string }[];
  /** Polls until `done` holds of what `read` returns, or the time is up; returns the last reading. */
  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let value = await read();
    while (!done(value) && Date.now() < deadline) {
      await sleep(100);
      value = await read();
    }
    return value;
  }
  beforeAll(async () => {
    receiver = await startHttpReceiver();
    const config = writeConfig(data.dir, {
      defaults: { rateLimits: { eventbridge: UNLIMITED, stepfunctions: UNLIMITED }, limits: { maxConcurrentExecutions: 3 } },
      events: { delivery: { baseDelayMs: 300, maxAttempts: 6, timeoutMs: 2000 } },
      network: { allow: [`127.0.0.1:${receiver.port}`] },
    });
    server = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config });
  });
  afterAll(async () => {
    await server?.close();
    await receiver?.close();
    data.cleanup();
  });

  it('starts every workflow target of a rule once per event, each with its own input', async () => {
    await server.call('workflow_create', { name: 'onorder', definition: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } });
    await server.call('events_create_alert', { name: 'hook', event_pattern: { source: ['nobody'] }, channel: { type: 'webhook', url: `${receiver.url}/hook` } });
    const rule = await server.call('events_create_rule', {
      name: 'fan-out',
      event_pattern: { source: ['shop'] },
      targets: [{ workflow: 'onorder' }, { alert: 'hook' }, { workflow: 'onorder', input: { fixed: true } }],
    });
    expect(rule.isError).toBeFalsy();
    const sent = structured(await server.call('events_send', { source: 'shop', detail_type: 'OrderPlaced', detail: { order: 'o-1' } }));
    expect(sent).toMatchObject({ matched_rules: ['fan-out'], alerts_queued: 1 });
    const runs = await until(() => executions('onorder'), (list) => list.length >= 2 && list.every((e) => e.status === 'SUCCEEDED'));
    expect(runs).toHaveLength(2);
    const outputs = runs.map((e) => e.output as Record<string, unknown>);
    expect(outputs).toContainEqual({ fixed: true });
    expect(outputs).toContainEqual(expect.objectContaining({ id: sent.event_id, detail: expect.objectContaining({ order: 'o-1' }) }));
    expect(runs.every((e) => e.execution_name.includes(sent.event_id as string))).toBe(true);
    await receiver.waitFor(1);
    await sleep(300);
    expect(await executions('onorder')).toHaveLength(2); // and no more
    expect(await starts()).toMatchObject({ backlog: 0, started: 2, failed: 0, recent_failures: [] });
  });

  it('retries starts refused for the concurrency quota, and shows the failures in the health check and the log', async () => {
    await server.call('workflow_create', { name: 'slow', definition: { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 1, End: true } } } });
    await server.call('events_create_rule', { name: 'r', event_pattern: { source: ['jobs'] }, targets: [{ workflow: 'slow' }] });
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      const result = structured(await server.call('events_send', { source: 'jobs', detail_type: 'Job', detail: { i } }));
      expect(result.matched_rules).toEqual(['r']);
      sent.push(result.event_id as string);
    }
    // Three run at once (maxConcurrentExecutions); the two refused starts are visible, then retried.
    const refused = await until(starts, (s) => s.recent_failures.length >= 2);
    expect(refused.recent_failures.length).toBeGreaterThanOrEqual(2);
    for (const failure of refused.recent_failures) {
      expect(failure).toMatchObject({ rule: 'r', workflow: 'slow' });
      expect(failure.error).toMatch(/^quota_exceeded: .*maxConcurrentExecutions/);
    }
    const log = await server.waitForStderr(/rule workflow start failed/);
    const line = JSON.parse(log.split('\n').find((l) => l.includes('rule workflow start failed'))!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 40, tenant: 'default', rule: 'r', workflow: 'slow', code: 'quota_exceeded' });
    expect(sent).toContain(line.event);
    expect(line.error).toMatch(/maxConcurrentExecutions/);

    const runs = await until(() => executions('slow'), (list) => list.length === 5 && list.every((e) => e.status === 'SUCCEEDED'), 20_000);
    expect(runs.map((e) => e.status)).toEqual(Array(5).fill('SUCCEEDED'));
    expect(await starts()).toMatchObject({ backlog: 0, started: 2 + 5, failed: 0 });
  });

  it('keeps a refused start queued across kill -9, and starts it after the restart', async () => {
    const own = tempDataDir();
    const configWith = (maxConcurrentExecutions: number) =>
      writeConfig(own.dir, {
        defaults: { rateLimits: { eventbridge: UNLIMITED, stepfunctions: UNLIMITED }, limits: { maxConcurrentExecutions } },
        events: { delivery: { baseDelayMs: 300, maxAttempts: 20, maxDelayMs: 1000 } },
      });
    let first: ServerHandle | undefined = await startServer({ AGENT_MESH_DATA_DIR: own.dir, AGENT_MESH_CONFIG: configWith(1) });
    let second: ServerHandle | undefined;
    try {
      await first.call('workflow_create', { name: 'hold', definition: { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 600, End: true } } } });
      await first.call('workflow_create', { name: 'later', definition: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } });
      await first.call('events_create_rule', { name: 'r', event_pattern: { source: ['jobs'] }, targets: [{ workflow: 'later' }] });
      expect((await first.call('workflow_start', { name: 'hold' })).isError).toBeFalsy();
      const sent = structured(await first.call('events_send', { source: 'jobs', detail_type: 'Job', detail: {} }));
      await first.waitForStderr(/rule workflow start failed/);
      process.kill(first.pid, 'SIGKILL');
      await first.close().catch(() => {});
      first = undefined;
      second = await startServer({ AGENT_MESH_DATA_DIR: own.dir, AGENT_MESH_CONFIG: configWith(2) });
      const runs = async () => structured(await second!.call('workflow_list', { name: 'later' })).executions as { status: string; execution_name: string }[];
      const later = await until(runs, (list) => list.some((e) => e.status === 'SUCCEEDED'));
      expect(later).toHaveLength(1);
      expect(later[0]).toMatchObject({ status: 'SUCCEEDED', execution_name: expect.stringContaining(sent.event_id as string) });
    } finally {
      await first?.close().catch(() => {});
      await second?.close();
      own.cleanup();
    }
  });

  it('stops a rule that re-starts its workflow from its own lifecycle events after 10 rule starts, and says so', async () => {
    await server.call('workflow_create', { name: 'again', definition: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } });
    await server.call('events_create_rule', {
      name: 'loop',
      event_pattern: { source: ['agent-mesh.workflows'], 'detail-type': ['ExecutionSucceeded'], detail: { workflow: ['again'] } },
      targets: [{ workflow: 'again' }],
    });
    expect((await server.call('workflow_start', { name: 'again' })).isError).toBeFalsy();
    const stopped = await until(starts, (s) => s.failed >= 1);
    expect(stopped.failed).toBe(1);
    expect(stopped.recent_failures[0]).toMatchObject({ rule: 'loop', workflow: 'again', attempt: 1 });
    expect(stopped.recent_failures[0]!.error).toMatch(/rule loop\? It would be 11 rule starts deep/);
    await sleep(500);
    const runs = await executions('again');
    expect(runs).toHaveLength(1 + 10); // the one started by hand, then ten from the rule
    expect(runs.every((e) => e.status === 'SUCCEEDED')).toBe(true);
  });
});
