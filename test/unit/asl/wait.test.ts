import { describe, expect, it } from 'vitest';
import { compileDefinition, deliver, pendingEffects, startExecution, step, type HostHooks, type Snapshot } from '../../../src/engine/asl/index.js';
import { failure, runExecution, T0 } from './driver.js';

const hooks = (now: number): HostHooks => ({ now, random: () => 0.5, uuid: () => 'u' });

function waitMachine(wait: Record<string, unknown>) {
  return compileDefinition({ StartAt: 'W', States: { W: { Type: 'Wait', Next: 'Done', ...wait }, Done: { Type: 'Succeed' } } });
}

/** Steps until the execution waits; returns the snapshot and its pending effects. */
function untilWaiting(wait: Record<string, unknown>, input: unknown, now = T0) {
  const machine = waitMachine(wait);
  let s: Snapshot = startExecution(machine, input, { executionId: 'e', executionName: 'e', stateMachineId: 'm', stateMachineName: 'm', now }).snapshot;
  for (let r = step(machine, s, hooks(now)); r !== null; r = step(machine, s, hooks(now))) s = r.snapshot;
  return { machine, snapshot: s, effects: pendingEffects(s) };
}

describe('Wait', () => {
  it('Seconds: a timer that fires that many seconds later', () => {
    const { machine, snapshot, effects } = untilWaiting({ Seconds: 10 }, { a: 1 });
    expect(effects).toEqual([{ kind: 'timer', id: expect.any(String), until: T0 + 10_000, reason: 'wait' }]);
    const fired = deliver(machine, snapshot, { kind: 'timer-fired', id: effects[0]!.id }, hooks(T0 + 10_000));
    expect(fired.transitions.map((t) => t.type)).toEqual(['StateExited']);
    let s = fired.snapshot;
    for (let r = step(machine, s, hooks(T0 + 10_000)); r !== null; r = step(machine, s, hooks(T0 + 10_000))) s = r.snapshot;
    expect(s.status).toBe('SUCCEEDED');
    expect(s.output).toEqual({ a: 1 });
  });

  it('Timestamp: a timer until that instant (milliseconds truncated)', () => {
    expect(untilWaiting({ Timestamp: '2024-01-02T03:04:05.678Z' }, {}).effects).toEqual([
      { kind: 'timer', id: expect.any(String), until: Date.UTC(2024, 0, 2, 3, 4, 5), reason: 'wait' },
    ]);
    expect(untilWaiting({ Timestamp: '2024-01-02T03:04:05+02:00' }, {}).effects[0]).toMatchObject({ until: Date.UTC(2024, 0, 2, 1, 4, 5) });
  });

  it('SecondsPath and TimestampPath read the (InputPath-selected) input', () => {
    expect(untilWaiting({ SecondsPath: '$.delay' }, { delay: 30 }).effects[0]).toMatchObject({ until: T0 + 30_000, reason: 'wait' });
    expect(untilWaiting({ InputPath: '$.w', SecondsPath: '$.delay' }, { w: { delay: 5 } }).effects[0]).toMatchObject({ until: T0 + 5_000 });
    expect(untilWaiting({ TimestampPath: '$.when' }, { when: '2024-03-01T00:00:00Z' }).effects[0]).toMatchObject({ until: Date.UTC(2024, 2, 1) });
  });

  it('a timestamp in the past, or zero seconds, does not wait', () => {
    expect(untilWaiting({ Timestamp: '2020-01-01T00:00:00Z' }, {}).snapshot.status).toBe('SUCCEEDED');
    expect(untilWaiting({ Seconds: 0 }, {}).snapshot.status).toBe('SUCCEEDED');
  });

  it('SecondsPath that is not a non-negative integer, or a bad TimestampPath, is a States.Runtime error', () => {
    for (const input of [{ delay: 'soon' }, { delay: -1 }, { delay: 1.5 }, {}]) {
      expect(untilWaiting({ SecondsPath: '$.delay' }, input).snapshot).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    }
    expect(untilWaiting({ TimestampPath: '$.when' }, { when: 'tomorrow' }).snapshot).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });

  it('the driver runs waits by jumping the clock', () => {
    const r = runExecution({ StartAt: 'A', States: { A: { Type: 'Wait', Seconds: 60, Next: 'B' }, B: { Type: 'Wait', Seconds: 30, End: true } } }, { x: 1 }, { roundTrip: true });
    expect(failure(r).status).toBe('SUCCEEDED');
    expect(r.now).toBe(T0 + 90_000);
    expect(r.transitions.filter((t) => t.type === 'WaitStarted').map((t) => t.detail?.until)).toEqual([T0 + 60_000, T0 + 90_000]);
  });

  it('a timer id delivered twice is ignored the second time', () => {
    const { machine, snapshot, effects } = untilWaiting({ Seconds: 1 }, {});
    const once = deliver(machine, snapshot, { kind: 'timer-fired', id: effects[0]!.id }, hooks(T0 + 1000));
    const twice = deliver(machine, once.snapshot, { kind: 'timer-fired', id: effects[0]!.id }, hooks(T0 + 1000));
    expect(twice.transitions).toEqual([]);
    expect(twice.snapshot).toBe(once.snapshot);
  });
});
