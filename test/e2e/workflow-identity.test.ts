import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, httpClient, startHttpServerProcess, type HttpServerProcess } from '../helpers/http-server-process.js';
import { tempDataDir, writeConfig } from '../helpers/server-process.js';

type Client = Awaited<ReturnType<typeof httpClient>>;
type Structured = Record<string, unknown> & { error?: { code: string; message: string } };
type Execution = { execution_id: string; workflow: string; status: string; error?: string; cause?: string; output?: unknown };
type AuditEntry = { user: string; context_type: string; tool: string; outcome: string };

const call = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
const structured = (result: CallToolResult) => result.structuredContent as Structured;

/** The QA report's workflow: a key write, an admin-only audit query, then an integration call. */
const QA_DEFINITION = {
  StartAt: 'Write',
  States: {
    Write: { Type: 'Task', Resource: 'agent-mesh:kv_set', Parameters: { 'key.$': '$.key', 'value.$': '$.value' }, ResultPath: null, Next: 'Audit' },
    Audit: { Type: 'Task', Resource: 'agent-mesh:audit_query', Parameters: { limit: 1 }, ResultPath: null, Next: 'Env' },
    Env: { Type: 'Task', Resource: 'mcp:up/env', ResultPath: null, End: true },
  },
};
const WRITER = { StartAt: 'Write', States: { Write: { Type: 'Task', Resource: 'agent-mesh:kv_set', Parameters: { 'key.$': '$.key', value: 'written' }, End: true } } };
const CATCHER = {
  StartAt: 'Write',
  States: {
    Write: { Type: 'Task', Resource: 'agent-mesh:kv_set', Parameters: { key: 'caught', value: 1 }, Catch: [{ ErrorEquals: ['agent-mesh.permission_denied'], ResultPath: '$.denied', Next: 'Denied' }], End: true },
    Denied: { Type: 'Pass', Result: 'handled', End: true },
  },
};

/** Polls until the execution of `workflow` has ended and returns it (seen with a key that may read workflows). */
async function endedExecution(client: Client, workflow: string, timeoutMs = 15_000): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { executions } = structured(await call(client, 'workflow_list', { name: workflow })) as unknown as { executions: Execution[] };
    const ended = executions.find((e) => e.status !== 'RUNNING');
    if (ended) return ended;
    if (Date.now() > deadline) throw new Error(`no execution of ${workflow} ended: ${JSON.stringify(executions)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function auditEntries(client: Client, filter: Record<string, unknown>, wanted: (entries: AuditEntry[]) => boolean): Promise<AuditEntry[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { entries } = structured(await call(client, 'audit_query', { limit: 100, ...filter })) as unknown as { entries: AuditEntry[] };
    if (wanted(entries) || Date.now() > deadline) return entries;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('workflows run with the permissions of whoever started them (HTTP, API keys)', () => {
  const data = tempDataDir();
  const env = {
    AGENT_MESH_DATA_DIR: data.dir,
    AGENT_MESH_CONFIG: writeConfig(data.dir, { defaults: { rateLimits: { stepfunctions: { capacity: 1000, refillPerSecond: 1000 } } } }),
  };
  let server: HttpServerProcess;
  const clients: Client[] = [];
  let full: Client;
  let wfOnly: Client;
  let wfKv: Client;
  let eventsOnly: Client;
  let ruleMaker: Client;
  let ruleMakerKv: Client;

  beforeAll(async () => {
    admin(env, 'tenants', 'create', 'ta');
    const key = (user: string, permissions?: string) => admin(env, 'keys', 'create', '--tenant', 'ta', '--user', user, ...(permissions ? ['--permissions', permissions] : []));
    const tokens = [key('root'), key('wfonly', 'workflow:*'), key('wfkv', 'workflow:*,kv:*'), key('evonly', 'events:*'), key('rulemaker', 'events:*,workflow:*'), key('rulemakerkv', 'events:*,workflow:*,kv:*')];
    server = await startHttpServerProcess(env);
    clients.push(...(await Promise.all(tokens.map((token) => httpClient(server.url, token)))));
    [full, wfOnly, wfKv, eventsOnly, ruleMaker, ruleMakerKv] = clients as [Client, Client, Client, Client, Client, Client];
  }, 30_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await server?.stop();
    data.cleanup();
  });

  it('QA repro: a workflow:*-only key cannot write keys, query the audit log or call integrations through a workflow', async () => {
    expect(structured(await call(wfOnly, 'kv_set', { key: 'direct', value: 1 })).error?.code).toBe('permission_denied');
    expect(structured(await call(wfOnly, 'workflow_create', { name: 'qa', definition: QA_DEFINITION })).error).toBeUndefined();
    const run = structured(await call(wfOnly, 'workflow_start', { name: 'qa', input: { key: 'qa-key', value: 'pwned' }, wait_seconds: 10 })) as unknown as Execution;
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('agent-mesh.permission_denied');
    expect(run.cause).toContain('kv:write');
    expect(run.cause).toContain('"wfonly"');
    expect(structured(await call(full, 'kv_get', { key: 'qa-key' })).error?.code).toBe('not_found');

    // The same workflow started with a key that may write keys gets past the write, and stops at audit_query.
    const withKv = structured(await call(wfKv, 'workflow_start', { name: 'qa', input: { key: 'qa-key', value: 'ok' }, wait_seconds: 10 })) as unknown as Execution;
    expect(withKv).toMatchObject({ status: 'FAILED', error: 'agent-mesh.permission_denied' });
    expect(withKv.cause).toContain('admin:read');
    expect(structured(await call(full, 'kv_get', { key: 'qa-key' }))).toMatchObject({ value: 'ok' });
  });

  it('a workflow:*,kv:* key runs a key write to success; the refusal of a workflow:*-only key is catchable', async () => {
    await call(wfKv, 'workflow_create', { name: 'writer', definition: WRITER });
    const ok = structured(await call(wfKv, 'workflow_start', { name: 'writer', input: { key: 'by-wfkv' }, wait_seconds: 10 })) as unknown as Execution;
    expect(ok.status).toBe('SUCCEEDED');
    expect(structured(await call(full, 'kv_get', { key: 'by-wfkv' }))).toMatchObject({ value: 'written' });

    const denied = structured(await call(wfOnly, 'workflow_start', { name: 'writer', input: { key: 'by-wfonly' }, wait_seconds: 10 })) as unknown as Execution;
    expect(denied).toMatchObject({ status: 'FAILED', error: 'agent-mesh.permission_denied' });
    expect(structured(await call(full, 'kv_get', { key: 'by-wfonly' })).error?.code).toBe('not_found');

    await call(wfOnly, 'workflow_create', { name: 'catcher', definition: CATCHER });
    const caught = structured(await call(wfOnly, 'workflow_start', { name: 'catcher', wait_seconds: 10 })) as unknown as Execution;
    expect(caught).toMatchObject({ status: 'SUCCEEDED', output: 'handled' });
    expect(structured(await call(full, 'kv_get', { key: 'caught' })).error?.code).toBe('not_found');
  });

  it('a child workflow started by a Task inherits its parent\'s starter', async () => {
    await call(wfKv, 'workflow_create', { name: 'child', definition: WRITER });
    const parent = { StartAt: 'Start', States: { Start: { Type: 'Task', Resource: 'agent-mesh:workflow_start', Parameters: { name: 'child', input: { key: 'by-child' }, wait_seconds: 10 }, End: true } } };
    await call(wfOnly, 'workflow_create', { name: 'parent', definition: parent });
    const run = structured(await call(wfOnly, 'workflow_start', { name: 'parent', wait_seconds: 15 })) as unknown as Execution;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ workflow: 'child', status: 'FAILED', error: 'agent-mesh.permission_denied' });
    expect(structured(await call(full, 'kv_get', { key: 'by-child' })).error?.code).toBe('not_found');
  });

  it('records task calls in the audit log under the starter, context "workflow"', async () => {
    const wfonly = await auditEntries(full, { user: 'wfonly', tool: 'kv_set' }, (entries) => entries.some((e) => e.context_type === 'workflow'));
    expect(wfonly.filter((e) => e.context_type === 'workflow').map((e) => e.outcome)).toContain('permission_denied');
    const wfkv = await auditEntries(full, { user: 'wfkv' }, (entries) => entries.some((e) => e.tool === 'audit_query'));
    expect(wfkv).toEqual(expect.arrayContaining([
      expect.objectContaining({ tool: 'kv_set', outcome: 'ok', context_type: 'workflow' }),
      expect.objectContaining({ tool: 'audit_query', outcome: 'permission_denied', context_type: 'workflow' }),
    ]));
    expect((await auditEntries(full, { user: 'agent-mesh', tool: 'kv_set' }, () => true))).toEqual([]);
  });

  it('an events:*-only key cannot create a rule that starts a workflow', async () => {
    await call(wfKv, 'workflow_create', { name: 'target', definition: WRITER });
    const refused = structured(await call(eventsOnly, 'events_create_rule', { name: 'sneaky', event_pattern: { source: ['qa.sneaky'] }, targets: [{ workflow: 'target', input: { key: 'sneaky' } }] }));
    expect(refused.error?.code).toBe('permission_denied');
    expect(refused.error?.message).toContain('workflow:write');
    const { rules } = structured(await call(full, 'events_list_rules', {})) as unknown as { rules: { name: string }[] };
    expect(rules.map((r) => r.name)).not.toContain('sneaky');
    await call(eventsOnly, 'events_send', { source: 'qa.sneaky', detail_type: 'x', detail: {} });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(structured(await call(full, 'kv_get', { key: 'sneaky' })).error?.code).toBe('not_found');
  });

  it('a rule starts its workflow as the rule\'s creator, whoever sends the event', async () => {
    await call(wfKv, 'workflow_create', { name: 'ruled', definition: WRITER });
    await call(wfKv, 'workflow_create', { name: 'ruled-kv', definition: WRITER });
    const created = structured(await call(ruleMaker, 'events_create_rule', { name: 'no-kv', event_pattern: { source: ['qa.rule'] }, targets: [{ workflow: 'ruled', input: { key: 'by-rule' } }] }));
    expect(created.error).toBeUndefined();
    expect(structured(await call(ruleMakerKv, 'events_create_rule', { name: 'with-kv', event_pattern: { source: ['qa.rule'] }, targets: [{ workflow: 'ruled-kv', input: { key: 'by-rule-kv' } }] })).error).toBeUndefined();
    // The sender holds every permission: it is the creator's that count.
    expect(structured(await call(full, 'events_send', { source: 'qa.rule', detail_type: 'go', detail: {} })).matched_rules).toEqual(['no-kv', 'with-kv']);

    expect(await endedExecution(full, 'ruled')).toMatchObject({ status: 'FAILED', error: 'agent-mesh.permission_denied', cause: expect.stringContaining('"rulemaker"') });
    expect(structured(await call(full, 'kv_get', { key: 'by-rule' })).error?.code).toBe('not_found');
    expect(await endedExecution(full, 'ruled-kv')).toMatchObject({ status: 'SUCCEEDED' });
    expect(structured(await call(full, 'kv_get', { key: 'by-rule-kv' }))).toMatchObject({ value: 'written' });
  });
});
