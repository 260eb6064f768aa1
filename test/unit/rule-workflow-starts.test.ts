import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/drivers/local/sqlite-database.js';
import { SqliteEventStore } from '../../src/drivers/local/sqlite-event-store.js';
import { MeshError, notFound, quotaExceeded } from '../../src/errors.js';
import type { WorkflowStartTarget } from '../../src/ports/event-store.js';
import { DeliveryDispatcher } from '../../src/services/events/delivery-dispatcher.js';
import {
  MAX_RULE_CHAIN_DEPTH,
  attemptWorkflowStart,
  ruleChainDepth,
  ruleExecutionName,
  startDepth,
  type WorkflowStarter,
} from '../../src/services/events/rule-workflow-starts.js';
import { storedEvent } from '../contract/event-store.contract.js';
import { testSession } from '../helpers/sessions.js';

const EVENT_ID = '0b6f0a52-3c1e-4f4e-9d2a-6f2b8c1d9e10';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rule workflow start names', () => {
  it('differ per target position, not only per rule, and are the same when the event is processed again', () => {
    const names = [0, 1, 2].map((position) => ruleExecutionName(EVENT_ID, 'fan-out', position, 1));
    expect(new Set(names).size).toBe(3);
    expect(ruleExecutionName(EVENT_ID, 'fan-out', 2, 1)).toBe(names[2]);
    expect(ruleExecutionName(EVENT_ID, 'other', 0, 1)).not.toBe(names[0]);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('carry the chain depth, read back from a lifecycle event of the execution', () => {
    expect(ruleChainDepth(ruleExecutionName(EVENT_ID, 'r', 0, 1))).toBe(1);
    expect(ruleChainDepth(ruleExecutionName(EVENT_ID, 'r', 0, 7))).toBe(7);
    expect(ruleChainDepth('my-own-name')).toBe(0);
    const lifecycle = (name: string) => ({ ...storedEvent(0, 'agent-mesh.workflows', 'ExecutionSucceeded').envelope, detail: { execution_name: name } });
    expect(startDepth(lifecycle('by-hand'))).toBe(1);
    expect(startDepth(lifecycle(ruleExecutionName(EVENT_ID, 'r', 0, 4)))).toBe(5);
    expect(startDepth({ ...lifecycle(ruleExecutionName(EVENT_ID, 'r', 0, 4)), source: 'app' })).toBe(1);
  });
});

describe('attemptWorkflowStart', () => {
  const target = (depth = 1): WorkflowStartTarget => ({ type: 'workflow', workflow: 'w', executionName: 'evt-x', depth });
  const event = storedEvent(0).envelope;
  const failing = (error: unknown): WorkflowStarter => async () => {
    throw error;
  };

  it('retries what a later try can fix, and fails at once what it cannot, with the code in the error', async () => {
    const quota = await attemptWorkflowStart(failing(quotaExceeded('maxConcurrentExecutions', 3, 'tenant has 3 running executions')), 't', target(), event);
    expect(quota).toMatchObject({ ok: false, retryable: true, code: 'quota_exceeded', error: 'quota_exceeded: tenant has 3 running executions' });
    const limited = await attemptWorkflowStart(failing(new MeshError('rate_limited', 'slow down', { retry_after_ms: 1234 })), 't', target(), event);
    expect(limited).toMatchObject({ retryable: true, code: 'rate_limited', retryAfterMs: 1234 });
    expect(await attemptWorkflowStart(failing(notFound('no workflow named "w"')), 't', target(), event)).toMatchObject({ retryable: false, code: 'not_found' });
    expect(await attemptWorkflowStart(failing(new MeshError('permission_denied', 'no')), 't', target(), event)).toMatchObject({ retryable: false });
  });

  it('starts with the target input, else the event, as the rule creator', async () => {
    const calls: unknown[][] = [];
    const start: WorkflowStarter = async (...args) => void calls.push(args);
    const alice = { userId: 'alice', permissions: ['workflow:write' as const] };
    expect(await attemptWorkflowStart(start, 't', { ...target(), createdBy: alice }, event)).toMatchObject({ ok: true });
    await attemptWorkflowStart(start, 't', { ...target(), input: { fixed: true } }, event);
    expect(calls).toEqual([
      ['t', alice, 'w', event, 'evt-x'],
      ['t', undefined, 'w', { fixed: true }, 'evt-x'],
    ]);
  });

  it('refuses a start past the chain depth limit without trying it', async () => {
    let called = false;
    const outcome = await attemptWorkflowStart(async () => void (called = true), 't', target(MAX_RULE_CHAIN_DEPTH + 1), event);
    expect(called).toBe(false);
    expect(outcome).toMatchObject({ ok: false, retryable: false });
    expect(outcome.error).toMatch(/rule loop/);
    expect((await attemptWorkflowStart(async () => void (called = true), 't', target(MAX_RULE_CHAIN_DEPTH), event)).ok).toBe(true);
  });
});

describe('DeliveryDispatcher with workflow starts', () => {
  it('retries a refused start with backoff until it is started, recording each attempt with its workflow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-starts-'));
    const db = openDatabase(dir);
    const store = new SqliteEventStore(db, Date.now);
    let refusals = 2;
    const started: string[] = [];
    const dispatcher = new DeliveryDispatcher({
      store,
      sinks: [],
      sessionFor: (tenant) => testSession(tenant),
      startWorkflow: (tenantId, target, event) =>
        attemptWorkflowStart(
          async (_tenant, _by, workflow, _input, name) => {
            if (refusals-- > 0) throw quotaExceeded('maxConcurrentExecutions', 3, 'full');
            started.push(`${workflow}/${name}`);
          },
          tenantId,
          target,
          event,
        ),
      delivery: { maxAttempts: 4, baseDelayMs: 50, maxDelayMs: 1000, timeoutMs: 1000 },
      logger: pino({ level: 'silent' }),
      pollMs: 20,
      random: () => 0.5,
    });
    try {
      const session = testSession('tenant-a');
      await store.append(session, storedEvent(Date.now()), [
        { id: 's-1', alertName: 'r', channel: { type: 'workflow', workflow: 'w', executionName: 'evt-1', depth: 1 } },
      ]);
      dispatcher.start();
      for (let i = 0; i < 100 && started.length === 0; i++) await sleep(20);
      expect(started).toEqual(['w/evt-1']);
      await sleep(50);
      expect(await store.deliveryStats(session, 'workflow')).toEqual({ pending: 0, delivered: 1, failed: 0 });
      const attempts = await store.recentAttempts(session, 10, false, 'workflow');
      expect(attempts.map((a) => [a.attempt, a.ok, a.workflow, a.alertName])).toEqual([
        [3, true, 'w', 'r'],
        [2, false, 'w', 'r'],
        [1, false, 'w', 'r'],
      ]);
      expect(attempts[2]!.error).toBe('quota_exceeded: full');
    } finally {
      await dispatcher.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
