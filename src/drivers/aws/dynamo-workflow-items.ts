import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { invalidArgument } from '../../errors.js';
import type { ExecutionRecord, ExecutionStatus, HistoryEvent, WorkflowVersion } from '../../ports/workflow-store.js';
import { parsePrincipal, type Principal } from '../../tenancy/principal.js';
import { KIND, pad } from './table-keys.js';

/*
 * Items, all in the tenant's partition (pk "T#<tenant>"):
 *   WF#<name>#<version:10>            one per workflow version
 *   EXN#<workflow>#<name>             → execution id: makes (workflow, name) unique, written before the execution
 *   EX#<id>                           the execution: record, checkpoint (snapshot, historySeq) and lease
 *   EXS#<startedAt:15>#<id>           → id and workflow: lists executions newest first
 *   EXH#<id>#<seq:10>                 one history event
 *   EXRUN                             how many of the tenant's executions are RUNNING (the concurrency quota)
 * A RUNNING execution item also carries gsi1pk "RUN", gsi1sk "<leaseUntil:15>#<id>" (leaseUntil 0 = free), so
 * runners of every process find claimable executions with one Query on GSI1; a finished one drops them.
 */
const EXECUTION_NAME_KIND = 'EXN#';
export const RUNNING_COUNTER_SK = 'EXRUN';
const VERSION_WIDTH = 10;
const SEQ_WIDTH = 10;
/** Sorts after every digit, so "<prefix>~" closes a key range. */
export const AFTER_DIGITS = '~';

/** Texts above this are gzipped (a Binary attribute): an item holds 400 KB, a definition may be 1 MB. */
const COMPRESS_OVER_BYTES = 32 * 1024;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

type StoredText = string | Uint8Array;

export async function packText(text: string): Promise<StoredText> {
  return Buffer.byteLength(text) > COMPRESS_OVER_BYTES ? new Uint8Array(await gzipAsync(text)) : text;
}
export const packNullable = async (text: string | null): Promise<StoredText | null> => (text === null ? null : packText(text));
async function unpackText(value: StoredText): Promise<string> {
  return typeof value === 'string' ? value : (await gunzipAsync(value)).toString('utf8');
}
const unpackNullable = async (value: StoredText | null | undefined): Promise<string | null> => (value == null ? null : unpackText(value));

export interface WorkflowItem {
  name: string;
  version: number;
  definition: StoredText;
  description: string;
  createdAt: number;
}

export interface ExecutionItem {
  pk: string;
  id: string;
  tenantId: string;
  name: string;
  workflow: string;
  version: number;
  status: ExecutionStatus;
  snapshot: StoredText;
  currentState: string | null;
  output: StoredText | null;
  error: string | null;
  cause: string | null;
  startedAt: number;
  stoppedAt: number | null;
  /** Who started it ({userId, permissions}, a map); absent on executions stored before starters were recorded. */
  startedBy?: Principal;
  abortRequested: boolean;
  leaseOwner?: string;
  leaseUntil: number;
  historySeq: number;
}

export interface HistoryItem {
  seq: number;
  at: number;
  type: string;
  state: string | null;
  detail: StoredText | null;
}

export const keys = {
  workflowsOf: (name: string) => `${KIND.workflow}${name}#`,
  workflow: (name: string, version: number) => `${KIND.workflow}${name}#${pad(version, VERSION_WIDTH)}`,
  executionName: (workflow: string, name: string) => `${EXECUTION_NAME_KIND}${workflow}#${name}`,
  execution: (id: string) => `${KIND.execution}${id}`,
  executionByStart: (startedAt: number, id: string) => `${KIND.executionByStart}${pad(startedAt)}#${id}`,
  historyOf: (id: string) => `${KIND.history}${id}#`,
  history: (id: string, seq: number) => `${KIND.history}${id}#${pad(seq, SEQ_WIDTH)}`,
  runnable: (leaseUntil: number, id: string) => `${pad(leaseUntil)}#${id}`,
};

/** Placeholders for every "#name" in the expressions: DynamoDB refuses unused ones, and many names are reserved words. */
export function namesIn(...expressions: (string | undefined)[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const expression of expressions) for (const [, name] of (expression ?? '').matchAll(/#(\w+)/g)) names[`#${name}`] = name!;
  return names;
}

/** DynamoDB's item limit is the client's doing (a huge definition or state), not an internal error. */
export function rethrow(error: unknown, field: string): never {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  if (name === 'ValidationException' && /maximum allowed size/i.test(message ?? '')) {
    throw invalidArgument(field, 'is too large for one DynamoDB item (400 KB after compression)');
  }
  throw error;
}

export async function toRecord(item: ExecutionItem): Promise<ExecutionRecord> {
  const startedBy = parsePrincipal(item.startedBy);
  return {
    id: item.id,
    tenantId: item.tenantId,
    name: item.name,
    workflow: item.workflow,
    version: item.version,
    status: item.status,
    snapshot: await unpackText(item.snapshot),
    currentState: item.currentState ?? null,
    output: await unpackNullable(item.output),
    error: item.error ?? null,
    cause: item.cause ?? null,
    startedAt: item.startedAt,
    stoppedAt: item.stoppedAt ?? null,
    abortRequested: item.abortRequested === true,
    ...(startedBy && { startedBy }),
  };
}

export const toWorkflow = async (item: WorkflowItem): Promise<WorkflowVersion> => ({
  name: item.name,
  version: item.version,
  definition: await unpackText(item.definition),
  description: item.description,
  createdAt: item.createdAt,
});

export async function toHistoryEvent(item: HistoryItem): Promise<HistoryEvent> {
  const detail = await unpackNullable(item.detail);
  return { seq: item.seq, at: item.at, type: item.type, state: item.state ?? null, detail: detail === null ? null : (JSON.parse(detail) as Record<string, unknown>) };
}

/** The items of `history`, numbered on from `lastSeq`. */
export async function historyItems(pk: string, id: string, lastSeq: number, history: Omit<HistoryEvent, 'seq'>[]): Promise<Record<string, unknown>[]> {
  return Promise.all(
    history.map(async (event, i) => {
      const seq = lastSeq + i + 1;
      const detail = event.detail ? await packText(JSON.stringify(event.detail)) : null;
      return { pk, sk: keys.history(id, seq), seq, at: event.at, type: event.type, state: event.state, detail };
    }),
  );
}
