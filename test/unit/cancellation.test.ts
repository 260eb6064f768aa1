import { describe, expect, it } from 'vitest';
import { Cancellation, type CancelSignal } from '../../src/cancellation.js';

describe('Cancellation', () => {
  it('runs each listener once, on the first abort, with the reason kept', () => {
    const cancellation = new Cancellation();
    const calls: string[] = [];
    const first = () => calls.push('first');
    const removed = () => calls.push('removed');
    cancellation.addEventListener('abort', first);
    cancellation.addEventListener('abort', first);
    cancellation.addEventListener('abort', removed);
    cancellation.removeEventListener('abort', removed);
    expect(cancellation.aborted).toBe(false);
    cancellation.abort('stop');
    cancellation.abort('again');
    expect(calls).toEqual(['first']);
    expect(cancellation).toMatchObject({ aborted: true, reason: 'stop' });
    cancellation.addEventListener('abort', () => calls.push('late'));
    expect(calls).toEqual(['first']);
  });

  it('is read the same way as an AbortSignal', () => {
    const controller = new AbortController();
    const signals: CancelSignal[] = [controller.signal, new Cancellation()];
    const seen: unknown[] = [];
    for (const signal of signals) signal.addEventListener('abort', () => seen.push(signal.reason), { once: true });
    controller.abort('a');
    (signals[1] as Cancellation).abort('b');
    expect(seen).toEqual(['a', 'b']);
  });
});
