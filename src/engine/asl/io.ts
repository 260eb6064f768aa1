import { States, StatesError } from './errors.js';
import type { IntrinsicScope } from './intrinsics.js';
import { jsonSize } from './json.js';
import type { Machine } from './machine.js';
import { bracketed, readPath, type Path } from './paths.js';
import type { ExecutionInfo, HostHooks, Run, Transition, TransitionType } from './snapshot.js';
import { isoTime } from './timestamp.js';

/** AWS's quota for a state's input, output and task results: 256 KiB of UTF-8 JSON text. */
export const PAYLOAD_LIMIT = 262_144;

/** Everything one `step`/`deliver` call works with; `seq` and `out` accumulate. */
export interface Ctx {
  readonly machine: Machine;
  readonly execution: ExecutionInfo;
  readonly hooks: HostHooks;
  seq: number;
  readonly out: Transition[];
}

export function emit(ctx: Ctx, type: TransitionType, state: string | undefined, label: string, detail?: Record<string, unknown>): void {
  const t: Transition = { type, at: ctx.hooks.now };
  if (state !== undefined) t.state = state;
  if (detail !== undefined || label !== '') t.detail = label === '' ? detail : { ...detail, run: label.slice(0, -1) };
  ctx.out.push(t);
}

export function checkSize(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null) {
    if (typeof value !== 'string' || value.length * 6 + 2 <= PAYLOAD_LIMIT) return;
  }
  const size = jsonSize(value);
  if (size > PAYLOAD_LIMIT) {
    throw new StatesError(States.DataLimitExceeded, `${what} has ${size} bytes, more than the ${PAYLOAD_LIMIT}-byte payload size quota`);
  }
}

/** InputPath / OutputPath: null gives `{}`; a path that selects nothing is a States.Runtime error. */
export function select(path: Path | null, value: unknown): unknown {
  if (path === null) return {};
  if (path.kind === 'reference' && path.segments.length === 0) return value;
  const found = readPath(path, value, () => undefined);
  if (!found.found) throw new StatesError(States.Runtime, `Invalid path '${path.source}' : No results for path: ${bracketed(path)}`);
  return found.value;
}

export interface ContextExtras {
  readonly task?: string;
  readonly item?: { readonly index: number; readonly value: unknown };
}

/** The context object ($$) as the current state sees it; built only when a path asks for it. */
export function contextObject(ctx: Ctx, run: Run, extras: ContextExtras = {}): unknown {
  const e = ctx.execution;
  const context: Record<string, unknown> = {
    Execution: { Id: e.id, Input: e.input, Name: e.name, StartTime: isoTime(e.startTime), RedriveCount: 0 },
    State: { EnteredTime: isoTime(run.enteredAt ?? ctx.hooks.now), Name: run.state, RetryCount: retryCount(run) },
    StateMachine: { Id: e.stateMachineId, Name: e.stateMachineName },
  };
  if (extras.task !== undefined) context.Task = { Token: extras.task };
  if (extras.item !== undefined) context.Map = { Item: { Index: extras.item.index, Value: extras.item.value } };
  return context;
}

export function retryCount(run: Run): number {
  let n = 0;
  for (const r of run.retries ?? []) n += r;
  return n;
}

/** What payload templates and intrinsics see while the current state runs. */
export function scope(ctx: Ctx, run: Run, data: unknown, extras?: ContextExtras): IntrinsicScope {
  let built: unknown;
  return {
    data,
    context: () => (built ??= contextObject(ctx, run, extras)),
    random: () => ctx.hooks.random(),
    uuid: () => ctx.hooks.uuid(),
  };
}
