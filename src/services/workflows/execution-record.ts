import type { Snapshot } from '../../engine/asl/index.js';
import type { TransitionLike } from './execution-listeners.js';
import type { ExecutionRecord, HistoryEvent } from '../../ports/workflow-store.js';

/** The stored record of an execution as of a snapshot. */
export function recordOf(previous: ExecutionRecord, snapshot: Snapshot, now: number): ExecutionRecord {
  const finished = snapshot.status !== 'RUNNING';
  return {
    ...previous,
    status: snapshot.status,
    snapshot: JSON.stringify(snapshot),
    currentState: finished ? null : snapshot.root.state,
    output: snapshot.output === undefined ? null : JSON.stringify(snapshot.output),
    error: snapshot.error ?? null,
    cause: snapshot.cause ?? null,
    stoppedAt: finished ? (previous.stoppedAt ?? now) : null,
  };
}

export const historyOf = (transitions: readonly TransitionLike[]): Omit<HistoryEvent, 'seq'>[] =>
  transitions.map((t) => ({ at: t.at, type: t.type, state: t.state ?? null, detail: t.detail ?? null }));
