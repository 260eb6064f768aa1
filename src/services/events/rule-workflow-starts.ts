import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { asMeshError, type ErrorCode } from '../../errors.js';
import type { DeliveryOutcome } from '../../ports/alert-sink.js';
import type { EventEnvelope, WorkflowStartTarget } from '../../ports/event-store.js';
import type { Principal } from '../../tenancy/principal.js';

/**
 * A rule may start a workflow from the lifecycle event of an execution a rule started, and so on: a chain.
 * A start deeper than this is refused (a rule that re-starts its own workflow on success would run forever).
 */
export const MAX_RULE_CHAIN_DEPTH = 10;

/** The source of workflow lifecycle events (ExecutionStarted, ExecutionSucceeded, …). */
export const WORKFLOW_EVENTS_SOURCE = 'agent-mesh.workflows';

const RULE_EXECUTION_NAME = /^evt(\d*)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{12}$/;

/**
 * The execution name of a rule's workflow target for one event: the event, the rule and the target's
 * position, so every workflow target of every matching rule starts once per event, and a start tried
 * again (a retry, another process) finds the execution it made. The chain depth is in the name
 * (`evt-…` at depth 1, `evt<depth>-…` deeper), so the execution's lifecycle events tell how deep it is.
 */
export function ruleExecutionName(eventId: string, rule: string, targetIndex: number, depth: number): string {
  const hash = createHash('sha256').update(`${rule}\n${targetIndex}`).digest('hex').slice(0, 12);
  return `evt${depth > 1 ? depth : ''}-${eventId}-${hash}`;
}

/** The chain depth of a rule-started execution, read from its name; 0 when no rule started it. */
export function ruleChainDepth(executionName: string): number {
  const match = RULE_EXECUTION_NAME.exec(executionName);
  if (!match) return 0;
  return match[1] ? Number(match[1]) : 1;
}

/**
 * The depth of the starts an event causes: one more than the depth of the rule-started execution whose
 * lifecycle event it is, else 1.
 */
export function startDepth(envelope: EventEnvelope): number {
  if (envelope.source !== WORKFLOW_EVENTS_SOURCE) return 1;
  const name = envelope.detail.execution_name;
  return (typeof name === 'string' ? ruleChainDepth(name) : 0) + 1;
}

/** A workflow start's outcome, as an alert delivery's, plus the error code when it failed. */
export type WorkflowStartOutcome = DeliveryOutcome & { code?: ErrorCode; retryAfterMs?: number };

/** Starts a workflow as the rule's creator; throws the start's error (a MeshError). */
export type WorkflowStarter = (tenantId: string, createdBy: Principal | undefined, workflow: string, input: unknown, executionName: string) => Promise<unknown>;

/** Trying again later can help: the tenant's quota or rate limit frees up, the store answers again. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'quota_exceeded', 'unavailable', 'timeout', 'internal']);

/**
 * One attempt at a queued rule workflow start: refused past the chain depth limit, else started, with
 * the error's code and whether trying again can help when it fails (not_found, permission_denied,
 * invalid_argument and conflict cannot).
 */
export async function attemptWorkflowStart(
  start: WorkflowStarter,
  tenantId: string,
  target: WorkflowStartTarget,
  event: EventEnvelope,
): Promise<WorkflowStartOutcome> {
  const began = performance.now();
  if (target.depth > MAX_RULE_CHAIN_DEPTH) {
    return {
      ok: false,
      retryable: false,
      code: 'quota_exceeded',
      error: `quota_exceeded: not started: a rule loop? It would be ${target.depth} rule starts deep (each from the lifecycle event of an execution a rule started); at most ${MAX_RULE_CHAIN_DEPTH}`,
      durationMs: 0,
    };
  }
  try {
    await start(tenantId, target.createdBy, target.workflow, target.input === undefined ? event : target.input, target.executionName);
    return { ok: true, retryable: false, durationMs: performance.now() - began };
  } catch (error) {
    const failure = asMeshError(error);
    return {
      ok: false,
      retryable: RETRYABLE.has(failure.code),
      code: failure.code,
      error: `${failure.code}: ${failure.message}`,
      ...(failure.details.retry_after_ms !== undefined && { retryAfterMs: failure.details.retry_after_ms }),
      durationMs: performance.now() - began,
    };
  }
}
