import { createHash } from 'node:crypto';
import { invalidArgument } from '../../errors.js';

const PREFIX = 'agent-mesh-';
/** Step Functions names: 1-80 characters; we use only [A-Za-z0-9_-] so they are valid in ARNs and logs. */
const MAX_NAME = 80;
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const WORKFLOW_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Longest tenant part; past it the tenant part is hashed, so every workflow name keeps room (36+ chars). */
const MAX_TENANT_PART = 32;
const HASH_CHARS = 24;

/**
 * As in sns-topics.ts: "_" is the escape character and "." is escaped; in the tenant part "-" is escaped
 * too, so the first bare "-" after the prefix ends the tenant part. Distinct (tenant, workflow) pairs thus
 * never share a state machine (up to a 96-bit hash collision for shortened parts).
 */
const escapeTenant = (tenantId: string): string => tenantId.replace(/[_.-]/g, (c) => ({ _: '__', '.': '_d', '-': '_h' })[c]!);
const escapeWorkflow = (workflow: string): string => workflow.replace(/[_.]/g, (c) => ({ _: '__', '.': '_d' })[c]!);

/** `escaped` when it fits in `max` characters, else a readable head and "_x<hash of raw>"; "_x" is no escape, so a shortened part never equals a full one. */
function fit(escaped: string, raw: string, max: number): string {
  if (escaped.length <= max) return escaped;
  const hash = `_x${createHash('sha256').update(raw).digest('hex').slice(0, HASH_CHARS)}`;
  let kept = escaped.slice(0, max - hash.length);
  // Do not cut an escape sequence in half: an odd run of trailing "_" is a dangling escape.
  if ((kept.match(/_+$/)?.[0].length ?? 0) % 2 === 1) kept = kept.slice(0, -1);
  return kept + hash;
}

/** Every state machine of the tenant starts with this, and no other tenant's does. */
export function stateMachinePrefix(tenantId: string): string {
  if (!TENANT_ID.test(tenantId)) throw invalidArgument('tenant_id', `"${tenantId}" is not a tenant id`);
  return `${PREFIX}${fit(escapeTenant(tenantId), tenantId, MAX_TENANT_PART)}-`;
}

/** `agent-mesh-<tenant>-<workflow>`, escaped, at most 80 characters of [A-Za-z0-9_-]. */
export function stateMachineName(tenantId: string, workflow: string): string {
  if (!WORKFLOW_NAME.test(workflow)) throw invalidArgument('name', 'must be 1-64 letters, digits, ".", "_" or "-"');
  const prefix = stateMachinePrefix(tenantId);
  return prefix + fit(escapeWorkflow(workflow), workflow, MAX_NAME - prefix.length);
}

export interface SfnDefinitionOptions {
  tenantId: string;
  /** The shared activity that agent-mesh's workers poll. */
  activityArn: string;
  /**
   * The workflow's name. When given, every task also carries `workflow` and `execution` (the execution's
   * name, from the context object), so the worker runs it as the execution's starter.
   */
  workflow?: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const AGENT_MESH_RESOURCE = /^(agent-mesh:\S+|mcp:[^\s/]+\/\S+)$/;

/**
 * The definition Step Functions runs for a tenant's workflow. Every Task whose Resource is `agent-mesh:<tool>`
 * or `mcp:<integration>/<tool>` (at any depth: Parallel branches, Map processors) becomes a task of the shared
 * activity whose effective input is `{resource, tenant, workflow, execution, input}`: `input` is what the original Parameters (or
 * the state's effective input, without Parameters) evaluate to, so the worker calls the same tool with the
 * same arguments as the embedded engine would. The tenant is written here, never taken from the client, and
 * any other Task resource — the activity ARN itself included — is refused, so a definition cannot run a task
 * as another tenant or reach AWS services with the shared role. Everything else is kept as it is.
 */
export function toStepFunctionsDefinition(definition: unknown, options: SfnDefinitionOptions): Json {
  stateMachinePrefix(options.tenantId); // validates the tenant id
  let parsed = definition;
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(parsed);
    } catch {
      throw invalidArgument('definition', 'is not valid JSON');
    }
  }
  if (!isObject(parsed)) throw invalidArgument('definition', 'must be a JSON object');
  const copy = structuredClone(parsed);
  rewriteMachine(copy, '', options);
  return copy;
}

function refuse(at: string, message: string): never {
  throw invalidArgument('definition', `${at}: ${message}`);
}

function rewriteMachine(machine: Json, at: string, options: SfnDefinitionOptions): void {
  if (machine.QueryLanguage !== undefined && machine.QueryLanguage !== 'JSONPath') refuse(`${at}QueryLanguage`, 'only JSONPath is supported');
  const states = machine.States;
  if (!isObject(states)) refuse(`${at}States`, 'is required and must be an object');
  for (const [name, state] of Object.entries(states)) {
    if (!isObject(state)) refuse(`${at}States.${name}`, 'must be an object');
    rewriteState(state, `${at}States.${name}`, options);
  }
}

function rewriteState(state: Json, at: string, options: SfnDefinitionOptions): void {
  if (state.QueryLanguage !== undefined && state.QueryLanguage !== 'JSONPath') refuse(`${at}.QueryLanguage`, 'only JSONPath is supported');
  switch (state.Type) {
    case 'Task':
      rewriteTask(state, at, options);
      return;
    case 'Parallel': {
      const branches = state.Branches;
      if (!Array.isArray(branches)) refuse(`${at}.Branches`, 'is required and must be an array');
      branches.forEach((branch: unknown, i) => {
        if (!isObject(branch)) refuse(`${at}.Branches[${i}]`, 'must be an object');
        rewriteMachine(branch, `${at}.Branches[${i}].`, options);
      });
      return;
    }
    case 'Map': {
      // Readers and writers name AWS resources (S3) the shared role would reach: not run, as on the embedded engine.
      for (const field of ['ItemReader', 'ResultWriter'] as const) {
        if (state[field] !== undefined) refuse(`${at}.${field}`, 'is not supported');
      }
      for (const field of ['ItemProcessor', 'Iterator'] as const) {
        const processor = state[field];
        if (processor === undefined) continue;
        if (!isObject(processor)) refuse(`${at}.${field}`, 'must be an object');
        rewriteMachine(processor, `${at}.${field}.`, options);
      }
      return;
    }
    default:
      return;
  }
}

function rewriteTask(state: Json, at: string, options: SfnDefinitionOptions): void {
  const resource = state.Resource;
  if (typeof resource !== 'string' || !AGENT_MESH_RESOURCE.test(resource)) {
    refuse(`${at}.Resource`, `${JSON.stringify(resource)} is not a supported resource (agent-mesh:<tool> or mcp:<integration>/<tool>)`);
  }
  // Credentials would make Step Functions assume another role for the task.
  if (state.Credentials !== undefined) refuse(`${at}.Credentials`, 'is not supported');
  const hasParameters = Object.prototype.hasOwnProperty.call(state, 'Parameters');
  const input: Json = hasParameters ? { input: state.Parameters } : { 'input.$': '$' };
  state.Resource = options.activityArn;
  const execution: Json = options.workflow === undefined ? {} : { workflow: options.workflow, 'execution.$': '$$.Execution.Name' };
  state.Parameters = { resource, tenant: options.tenantId, ...execution, ...input };
}
