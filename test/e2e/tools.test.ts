import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { SERVER_ENTRY, errorCode, startServer, structured, tempDataDir, writeConfig, type ServerHandle } from '../helpers/server-process.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('every tool over stdio, as the default tenant', () => {
  const data = tempDataDir();
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServer({ AGENT_MESH_DATA_DIR: data.dir });
  });
  afterAll(async () => {
    await server?.close();
    data.cleanup();
  });

  it('lists every tool with input and output schemas', async () => {
    const { tools } = await server.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'artifacts_delete', 'artifacts_get', 'artifacts_list', 'artifacts_put', 'audit_query',
      'events_analytics', 'events_create_alert', 'events_create_rule', 'events_delete_alert', 'events_delete_rule',
      'events_health_check', 'events_list_alerts', 'events_list_rules', 'events_query', 'events_send',
      'integration_connect', 'integration_delete', 'integration_disconnect', 'integration_list', 'integration_register', 'integration_test',
      'kv_delete', 'kv_get', 'kv_list', 'kv_set', 'mcp_list_tools', 'mcp_proxy',
      'workflow_cancel', 'workflow_create', 'workflow_list', 'workflow_start', 'workflow_status',
    ]);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      // mcp_proxy passes an upstream's result through as it is, so it cannot promise a shape.
      if (tool.name !== 'mcp_proxy') expect(tool.outputSchema?.type).toBe('object');
      expect(tool.description?.length).toBeGreaterThan(20);
    }
  });

  it('sets, gets, lists and deletes JSON values of every kind', async () => {
    const values = [{ nested: { list: [1, 'two', null, true] } }, [1, 2], 'text', 42.5, false, null];
    for (const [i, value] of values.entries()) {
      const set = await server.call('kv_set', { key: `kinds/${i}`, value });
      expect(set.isError).toBeFalsy();
      expect(structured(set)).toMatchObject({ key: `kinds/${i}`, version: 1, expires_at: null });
      const got = structured(await server.call('kv_get', { key: `kinds/${i}` }));
      expect(got.value).toEqual(value);
      expect(got.version).toBe(1);
    }
    const listed = structured(await server.call('kv_list', { prefix: 'kinds/' }));
    expect((listed.keys as { key: string }[]).map((k) => k.key)).toEqual(values.map((_, i) => `kinds/${i}`));
    expect(listed.next_cursor).toBeNull();

    expect(structured(await server.call('kv_delete', { key: 'kinds/0' }))).toEqual({ key: 'kinds/0', deleted: true });
    expect(errorCode(await server.call('kv_get', { key: 'kinds/0' }))).toBe('not_found');
    expect(errorCode(await server.call('kv_delete', { key: 'kinds/0' }))).toBe('not_found');
  });

  it('returns a short text too, for clients that read only text', async () => {
    const textOf = (result: { content: unknown[] }) => (result.content[0] as { type: string; text: string }).text;
    expect(textOf(await server.call('kv_set', { key: 'text/visible', value: { answer: 42 } }))).toBe('stored "text/visible" at version 1');
    expect(JSON.parse(textOf(await server.call('kv_get', { key: 'text/visible' })))).toEqual({ answer: 42 });
    expect(textOf(await server.call('kv_list', { prefix: 'text/' }))).toBe('text/visible (version 1)');
    expect(textOf(await server.call('kv_delete', { key: 'text/visible' }))).toBe('deleted "text/visible"');
    expect(textOf(await server.call('kv_list', { prefix: 'text/' }))).toBe('none');
    const big = 'x'.repeat(300 * 1024);
    await server.call('kv_set', { key: 'text/big', value: big });
    expect(textOf(await server.call('kv_get', { key: 'text/big' }))).toMatch(/read it from structuredContent\.value/);
  });

  it('pages through kv_list with cursors, in key order', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `paged/${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((key) => server.call('kv_set', { key, value: key })));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = structured(await server.call('kv_list', { prefix: 'paged/', limit: 10, ...(cursor && { cursor }) }));
      seen.push(...(page.keys as { key: string }[]).map((k) => k.key));
      cursor = (page.next_cursor as string | null) ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toEqual(keys);
    expect(pages).toBe(3);
  });

  it('compare-and-set: if_version and if_absent give conflict and write nothing', async () => {
    expect(structured(await server.call('kv_set', { key: 'cas', value: 1, if_absent: true })).version).toBe(1);
    const again = await server.call('kv_set', { key: 'cas', value: 2, if_absent: true });
    expect(errorCode(again)).toBe('conflict');
    expect(structured(await server.call('kv_set', { key: 'cas', value: 2, if_version: 1 })).version).toBe(2);
    const stale = await server.call('kv_set', { key: 'cas', value: 3, if_version: 1 });
    expect(errorCode(stale)).toBe('conflict');
    expect(structured(stale).error?.message).toMatch(/version 2, not 1/);
    expect(errorCode(await server.call('kv_delete', { key: 'cas', if_version: 1 }))).toBe('conflict');
    expect(structured(await server.call('kv_get', { key: 'cas' }))).toMatchObject({ value: 2, version: 2 });
    expect(errorCode(await server.call('kv_set', { key: 'missing-cas', value: 1, if_version: 1 }))).toBe('conflict');
    expect(errorCode(await server.call('kv_get', { key: 'missing-cas' }))).toBe('not_found');
    expect(structured(await server.call('kv_delete', { key: 'cas', if_version: 2 })).deleted).toBe(true);
  });

  it('parallel compare-and-set increments lose no update', async () => {
    await server.call('kv_set', { key: 'counter', value: 0 });
    const increment = async (): Promise<void> => {
      for (;;) {
        const current = structured(await server.call('kv_get', { key: 'counter' }));
        const result = await server.call('kv_set', { key: 'counter', value: (current.value as number) + 1, if_version: current.version });
        if (!result.isError) return;
        expect(errorCode(result)).toBe('conflict');
      }
    };
    await Promise.all(Array.from({ length: 20 }, increment));
    expect(structured(await server.call('kv_get', { key: 'counter' }))).toMatchObject({ value: 20, version: 21 });
  });

  it('expires keys after ttl_seconds: absent from get and list', async () => {
    const set = structured(await server.call('kv_set', { key: 'ttl/short', value: 'soon gone', ttl_seconds: 1 }));
    expect(Date.parse(set.expires_at as string)).toBeGreaterThan(Date.now());
    await server.call('kv_set', { key: 'ttl/long', value: 'stays', ttl_seconds: 3600 });
    expect(structured(await server.call('kv_get', { key: 'ttl/short' })).value).toBe('soon gone');
    await sleep(1200);
    expect(errorCode(await server.call('kv_get', { key: 'ttl/short' }))).toBe('not_found');
    const listed = structured(await server.call('kv_list', { prefix: 'ttl/' }));
    expect((listed.keys as { key: string }[]).map((k) => k.key)).toEqual(['ttl/long']);
    // An expired key is absent: if_absent may take it, and its version starts again.
    expect(structured(await server.call('kv_set', { key: 'ttl/short', value: 'back', if_absent: true })).version).toBe(1);
  });

  it('puts, gets, lists and deletes text and binary artifacts', async () => {
    const text = '# Report\n\nΣ résumé ✓\n';
    const put = structured(await server.call('artifacts_put', { key: 'reports/q1.md', content: text, metadata: { author: 'agent-7' } }));
    expect(put).toMatchObject({
      key: 'reports/q1.md',
      size: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
      content_type: 'text/markdown; charset=utf-8',
      version: 1,
      metadata: { author: 'agent-7' },
    });
    const gotResult = await server.call('artifacts_get', { key: 'reports/q1.md' });
    expect(structured(gotResult)).toMatchObject({ encoding: 'utf8', content: text, metadata: { author: 'agent-7' } });
    expect(gotResult.content).toEqual([{ type: 'text', text }]); // text-only clients get the text itself, once

    const bytes = Buffer.from([0, 255, 1, 254, 137, 80, 78, 71]);
    const binary = structured(await server.call('artifacts_put', { key: 'images/x.png', content_base64: bytes.toString('base64') }));
    expect(binary).toMatchObject({ size: 8, content_type: 'image/png' });
    const gotBinary = structured(await server.call('artifacts_get', { key: 'images/x.png' }));
    expect(gotBinary.encoding).toBe('base64');
    expect(Buffer.from(gotBinary.content_base64 as string, 'base64').equals(bytes)).toBe(true);

    const replaced = structured(await server.call('artifacts_put', { key: 'reports/q1.md', content: 'v2', content_type: 'text/plain' }));
    expect(replaced.version).toBe(2);
    const listed = structured(await server.call('artifacts_list', { prefix: 'reports/' }));
    expect(listed.artifacts).toEqual([expect.objectContaining({ key: 'reports/q1.md', size: 2, version: 2, content_type: 'text/plain' })]);

    expect(structured(await server.call('artifacts_delete', { key: 'images/x.png' })).deleted).toBe(true);
    expect(errorCode(await server.call('artifacts_get', { key: 'images/x.png' }))).toBe('not_found');
    expect(errorCode(await server.call('artifacts_delete', { key: 'images/x.png' }))).toBe('not_found');
  });

  it('reads an artifact larger than one message in parts, following next_offset, and the client stays connected', async () => {
    // 9 MiB: under the default maxArtifactBytes, but as base64 over the 10 MiB line an SDK stdio client accepts.
    const bytes = randomBytes(9 * 1024 * 1024);
    await server.call('artifacts_put', { key: 'big/blob.bin', content_base64: bytes.toString('base64') });
    const parts: Buffer[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const part = structured(await server.call('artifacts_get', { key: 'big/blob.bin', offset }));
      expect(part).toMatchObject({ offset, encoding: 'base64', size: bytes.length });
      parts.push(Buffer.from(part.content_base64 as string, 'base64'));
      expect(parts.at(-1)!.length).toBe(part.length);
      offset = part.next_offset as number | null;
    }
    expect(parts.length).toBe(3);
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    // Whole, as a resource, it would not fit one message either: refused, and the connection lives on.
    await expect(server.client.readResource({ uri: 'artifact://big/blob.bin' })).rejects.toThrow(/read it in parts with artifacts_get/);
    expect(structured(await server.call('artifacts_get', { key: 'big/blob.bin', offset: bytes.length })).length).toBe(0);
    expect(structured(await server.call('artifacts_get', { key: 'big/blob.bin', offset: bytes.length + 1 })).error).toMatchObject({
      code: 'invalid_argument',
      field: 'offset',
    });
  });

  it('sends text full of control characters as base64 when escaped it would not fit one message, in artifacts_get and resources/read', async () => {
    // 2 MiB of \u0001 is 12 MiB as JSON text: over the 10 MiB line an SDK stdio client accepts.
    const text = '\u0001'.repeat(2 * 1024 * 1024);
    await server.call('artifacts_put', { key: 'big/control.txt', content: text });
    const got = structured(await server.call('artifacts_get', { key: 'big/control.txt' }));
    expect(got.encoding).toBe('base64');
    expect(Buffer.from(got.content_base64 as string, 'base64').toString('utf8')).toBe(text);
    const read = await server.client.readResource({ uri: 'artifact://big/control.txt' });
    expect(read.contents[0]).toMatchObject({ mimeType: 'text/plain; charset=utf-8', blob: Buffer.from(text).toString('base64') });
    expect(read.contents[0]).not.toHaveProperty('text');
    // The client is still connected.
    expect(structured(await server.call('kv_set', { key: 'after/control', value: 1 })).version).toBe(1);
  });

  it('splits a text artifact only between characters, so every part is text', async () => {
    const text = 'añ€😀'.repeat(50); // 1-, 2-, 3- and 4-byte characters
    await server.call('artifacts_put', { key: 'big/mixed.txt', content: text });
    let joined = '';
    for (let offset: number | null = 0; offset !== null; ) {
      const part = structured(await server.call('artifacts_get', { key: 'big/mixed.txt', offset, length: 7 }));
      expect(part.encoding).toBe('utf8');
      joined += part.content as string;
      offset = part.next_offset as number | null;
    }
    expect(joined).toBe(text);
    // An offset inside a character cannot be text: that part comes as base64.
    expect(structured(await server.call('artifacts_get', { key: 'big/mixed.txt', offset: 2, length: 5 })).encoding).toBe('base64');
  });

  it('serves artifacts as MCP resources: template, list and read', async () => {
    await server.call('artifacts_put', { key: 'res/hello world.txt', content: 'hello' });
    await server.call('artifacts_put', { key: 'res/blob.bin', content_base64: Buffer.from([1, 2, 3]).toString('base64') });
    const { resourceTemplates } = await server.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['artifact://{key}', 'workflow://executions/{id}']);
    const { resources } = await server.client.listResources();
    const uris = resources.map((r) => r.uri);
    expect(uris).toContain('artifact://res/hello%20world.txt');
    expect(uris).toContain('artifact://res/blob.bin');
    const text = await server.client.readResource({ uri: 'artifact://res/hello%20world.txt' });
    expect(text.contents).toEqual([{ uri: 'artifact://res/hello%20world.txt', mimeType: 'text/plain; charset=utf-8', text: 'hello' }]);
    const blob = await server.client.readResource({ uri: 'artifact://res/blob.bin' });
    expect(blob.contents[0]).toMatchObject({ blob: Buffer.from([1, 2, 3]).toString('base64'), mimeType: 'application/octet-stream' });
    await expect(server.client.readResource({ uri: 'artifact://res/missing' })).rejects.toThrow(/^MCP error -32002: not_found: artifact "res\/missing" not found$/);
    await expect(server.client.readResource({ uri: 'artifact://../etc/passwd' })).rejects.toThrow(/invalid_argument/);
  });
});

describe('permissions, hidden tools and tool groups', () => {
  const data = tempDataDir();
  const config = writeConfig(data.dir, {
    tenants: { reader: { permissions: ['kv:read', 'artifacts:read'] }, kvonly: { permissions: ['kv:*'] } },
  });
  afterAll(() => data.cleanup());

  it('shows only the tools a session may call and refuses the rest with permission_denied and no effect', async () => {
    const writer = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config, AGENT_MESH_TENANT_ID: 'reader' });
    try {
      const names = (await writer.client.listTools()).tools.map((t) => t.name).sort();
      expect(names).toEqual(['artifacts_get', 'artifacts_list', 'kv_get', 'kv_list']);
      const denied = await writer.call('kv_set', { key: 'k', value: 1 });
      expect(errorCode(denied)).toBe('permission_denied');
      expect(structured(denied).error?.message).toMatch(/kv:write/);
      expect(errorCode(await writer.call('artifacts_put', { key: 'a.txt', content: 'x' }))).toBe('permission_denied');
      expect(errorCode(await writer.call('kv_get', { key: 'k' }))).toBe('not_found');
      expect(structured(await writer.call('artifacts_list', {})).artifacts).toEqual([]);
    } finally {
      await writer.close();
    }
  });

  it('offers no resources to a session that may not read artifacts', async () => {
    const kvOnly = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config, AGENT_MESH_TENANT_ID: 'kvonly' });
    try {
      expect(kvOnly.client.getServerCapabilities()?.resources).toBeUndefined();
      expect((await kvOnly.client.listTools()).tools.map((t) => t.name).sort()).toEqual(['kv_delete', 'kv_get', 'kv_list', 'kv_set']);
      expect(errorCode(await kvOnly.call('artifacts_get', { key: 'a.txt' }))).toBe('permission_denied');
    } finally {
      await kvOnly.close();
    }
  });

  it('switches tool groups off with AGENT_MESH_TOOLS', async () => {
    const kvTools = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_TOOLS: 'kv' });
    try {
      expect((await kvTools.client.listTools()).tools.every((t) => t.name.startsWith('kv_'))).toBe(true);
      expect(kvTools.client.getServerCapabilities()?.resources).toBeUndefined();
      await expect(kvTools.client.callTool({ name: 'artifacts_list', arguments: {} })).rejects.toThrow(/^MCP error -32602: Unknown tool: artifacts_list$/);
      // The instructions a client reads at initialize speak only of what this session has.
      const instructions = kvTools.client.getInstructions() ?? '';
      expect(instructions).toMatch(/key-value store \(kv_\*\)/);
      expect(instructions).not.toMatch(/artifacts_|events_|workflow_|mcp_proxy/);
    } finally {
      await kvTools.close();
    }
  });
});

describe('rate limits and quotas', () => {
  const data = tempDataDir();
  const config = writeConfig(data.dir, {
    defaults: {
      rateLimits: { dynamodb: { capacity: 10, refillPerSecond: 0.5 }, s3: { capacity: 1000, refillPerSecond: 1000 } },
      limits: { maxValueBytes: 100, maxKeys: 3, maxArtifactBytes: 64, maxTotalArtifactBytes: 100 },
    },
    tenants: { busy: { rateLimits: { dynamodb: { capacity: 1000, refillPerSecond: 1000 } } } },
  });
  afterAll(() => data.cleanup());

  it('admits exactly capacity of N parallel calls; the rest get rate_limited with retry_after_ms and no effect', async () => {
    const server = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config, AGENT_MESH_TENANT_ID: 'limited' });
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => server.call('kv_set', { key: 'same', value: i })));
      const admitted = results.filter((r) => !r.isError);
      const refused = results.filter((r) => errorCode(r) === 'rate_limited');
      expect(admitted).toHaveLength(10);
      expect(refused).toHaveLength(30);
      expect(refused.every((r) => (structured(r).error?.retry_after_ms ?? 0) > 0)).toBe(true);
      // Only the admitted calls wrote: the key went through exactly 10 versions.
      const busy = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config, AGENT_MESH_TENANT_ID: 'limited', AGENT_MESH_USER_ID: 'other-window' });
      try {
        expect(structured(await busy.call('kv_get', { key: 'same' })).version).toBe(10);
      } finally {
        await busy.close();
      }
    } finally {
      await server.close();
    }
  });

  it('refuses values, keys and artifacts over quota with quota_exceeded and writes nothing', async () => {
    const server = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config, AGENT_MESH_TENANT_ID: 'busy' });
    try {
      const big = await server.call('kv_set', { key: 'big', value: 'x'.repeat(200) });
      expect(errorCode(big)).toBe('quota_exceeded');
      expect(structured(big).error).toMatchObject({ limit: 'maxValueBytes', limit_value: 100 });
      expect(errorCode(await server.call('kv_get', { key: 'big' }))).toBe('not_found');

      for (const key of ['k1', 'k2', 'k3']) expect((await server.call('kv_set', { key, value: 1 })).isError).toBeFalsy();
      const fourth = await server.call('kv_set', { key: 'k4', value: 1 });
      expect(structured(fourth).error).toMatchObject({ code: 'quota_exceeded', limit: 'maxKeys' });
      expect((await server.call('kv_set', { key: 'k1', value: 2 })).isError).toBeFalsy(); // updates are not new keys
      await server.call('kv_delete', { key: 'k3' });
      expect((await server.call('kv_set', { key: 'k4', value: 1 })).isError).toBeFalsy();
      expect((structured(await server.call('kv_list', {})).keys as unknown[]).length).toBe(3);

      const large = await server.call('artifacts_put', { key: 'large.bin', content: 'y'.repeat(65) });
      expect(structured(large).error).toMatchObject({ code: 'quota_exceeded', limit: 'maxArtifactBytes' });
      expect((await server.call('artifacts_put', { key: 'a.txt', content: 'a'.repeat(60) })).isError).toBeFalsy();
      const total = await server.call('artifacts_put', { key: 'b.txt', content: 'b'.repeat(50) });
      expect(structured(total).error).toMatchObject({ code: 'quota_exceeded', limit: 'maxTotalArtifactBytes' });
      expect(errorCode(await server.call('artifacts_get', { key: 'b.txt' }))).toBe('not_found');
      // Replacing counts the new size in place of the old one.
      expect((await server.call('artifacts_put', { key: 'a.txt', content: 'a'.repeat(64) })).isError).toBeFalsy();
      await server.call('artifacts_delete', { key: 'a.txt' });
      expect((await server.call('artifacts_put', { key: 'b.txt', content: 'b'.repeat(50) })).isError).toBeFalsy();
    } finally {
      await server.close();
    }
  });
});

describe('start-up', () => {
  it('refuses a bad config file with a clear message and exit code 78', async () => {
    const data = tempDataDir();
    const config = writeConfig(data.dir, { tenants: { acme: { permisions: ['*'] } } });
    const run = spawnSync(process.execPath, [SERVER_ENTRY], { env: { AGENT_MESH_CONFIG: config, AGENT_MESH_DATA_DIR: data.dir }, input: '', encoding: 'utf8' });
    data.cleanup();
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/configuration error: .*agent-mesh\.json: tenants\.acme: unknown key "permisions"/);
    expect(run.stdout).toBe('');
  });

  describe('refuses a data folder it cannot use, in one line naming it, and exits', () => {
    const data = tempDataDir();
    afterAll(() => data.cleanup());
    const start = (dataDir: string) =>
      spawnSync(process.execPath, [SERVER_ENTRY], { env: { AGENT_MESH_DATA_DIR: dataDir }, input: '', encoding: 'utf8', timeout: 20_000 });

    it.each([
      ['under a file', (dir: string) => (writeFileSync(`${dir}/file`, 'x'), `${dir}/file/data`), /\/file is a file, not a folder/],
      ['that is a file', (dir: string) => (writeFileSync(`${dir}/plain`, 'x'), `${dir}/plain`), /\/plain is a file, not a folder/],
      [
        'whose artifacts folder is a file',
        (dir: string) => (mkdirSync(`${dir}/flat`), writeFileSync(`${dir}/flat/artifacts`, 'x'), `${dir}/flat`),
        /flat\/artifacts is a file, not a folder/,
      ],
      [
        'holding something else as agent-mesh.db',
        (dir: string) => (mkdirSync(`${dir}/other`), writeFileSync(`${dir}/other/agent-mesh.db`, 'not a database, just text'.repeat(100)), `${dir}/other`),
        /other\/agent-mesh\.db: not an SQLite database/,
      ],
      [
        'written by a newer agent-mesh',
        (dir: string) => {
          mkdirSync(`${dir}/newer`);
          const db = new Database(`${dir}/newer/agent-mesh.db`);
          db.pragma('user_version = 999');
          db.close();
          return `${dir}/newer`;
        },
        /newer\/agent-mesh\.db: written by a newer agent-mesh \(schema 999; this one knows \d+\): upgrade agent-mesh/,
      ],
      // Node's recursive mkdir loops forever here (mkdir answers ENOENT under /proc, which exists).
      ['where mkdir answers ENOENT under a folder that exists', () => '/proc/agent-mesh-test/data', /cannot create \/proc\/agent-mesh-test \(ENOENT\)/],
    ])('a folder %s', async (_label, make, message) => {
      const run = start(make(data.dir));
      expect(run.error).toBeUndefined(); // not killed by the timeout
      expect(run.status).toBe(74);
      expect(run.stderr).toMatch(/^agent-mesh: cannot use the data folder \(AGENT_MESH_DATA_DIR\): /);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stdout).toBe('');
    });
  });
});
