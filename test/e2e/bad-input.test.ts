/**
 * Bad input, end to end.
 *
 * (a) Raw stdio: the built server is spawned directly (no SDK client) and fed 1000 malformed lines after a
 *     proper handshake. Every unparseable line and every request must get exactly one JSON-RPC error
 *     response (parse errors and id-less invalid requests with id null, the rest with their id), or, for a
 *     tools/call whose arguments are wrong, a tool result with isError. Notifications and responses get no
 *     reply. The process must stay up, and nothing may have been written. Huge lines (20 MB, and over the
 *     64 MiB transport limit) must not kill it either.
 * (b) Through the SDK client: wrong types for every argument of every tool, missing and unknown fields,
 *     quota overruns with small limits, bad base64, both content and content_base64, and path traversal
 *     keys, ending with a check that only the valid calls wrote anything and nothing escaped the data folder.
 *
 * The lines are randomized from a seeded PRNG: replay with BAD_INPUT_SEED=<seed>.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ENTRY, startServer, structured, lazyTempDir, writeConfig, type ServerHandle } from '../helpers/server-process.js';
import { Rng } from '../helpers/random.js';

const SEED = process.env.BAD_INPUT_SEED ? Number.parseInt(process.env.BAD_INPUT_SEED, 10) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`[bad-input] seed=${SEED} (replay with BAD_INPUT_SEED=${SEED})`);


const HIGH_RATE_LIMITS = {
  dynamodb: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
  s3: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
};

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;

/** Only the database and the artifacts tree may exist in a data folder, and artifact files only one level down. */
function strayFiles(dataDir: string): string[] {
  const stray: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(dataDir, path);
      if (entry.isDirectory()) {
        if (rel === 'artifacts' || /^artifacts\/[^/]+$/.test(rel)) walk(path);
        else stray.push(rel + '/');
      } else if (!/^agent-mesh\.db(-wal|-shm|-journal)?$/.test(rel) && !/^artifacts\/[^/]+\/[^/]+$/.test(rel)) {
        stray.push(rel);
      }
    }
  };
  walk(dataDir);
  return stray;
}

// =========================================================================================================
// (a) Raw stdio
// =========================================================================================================

type Id = string | number;
type JsonRpcOut = { jsonrpc?: unknown; id?: Id | null; result?: Record<string, unknown>; error?: { code: number; message: string } };

/** A raw line-oriented client: writes bytes to the server's stdin and collects every stdout line. */
class RawServer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly messages: JsonRpcOut[] = [];
  private readonly byId = new Map<Id, JsonRpcOut[]>();
  readonly unparseableOutput: string[] = [];
  private buffer = '';
  private stderrText = '';
  private waiters: (() => void)[] = [];
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [SERVER_ENTRY], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let newline = this.buffer.indexOf('\n'); newline !== -1; newline = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        try {
          const message = JSON.parse(line) as JsonRpcOut;
          this.messages.push(message);
          if (message.id !== null && message.id !== undefined) {
            const list = this.byId.get(message.id) ?? [];
            list.push(message);
            this.byId.set(message.id, list);
          }
        } catch {
          this.unparseableOutput.push(line);
        }
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderrText += chunk.toString('utf8');
    });
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stdin.on('error', () => {}); // EPIPE if it dies: reported by `exited`
  }

  stderr(): string {
    return this.stderrText;
  }

  async write(data: string | Buffer): Promise<void> {
    if (!this.child.stdin.write(data)) await new Promise<void>((resolve) => this.child.stdin.once('drain', resolve));
  }

  send(message: unknown): Promise<void> {
    return this.write(JSON.stringify(message) + '\n');
  }

  /** Waits until `done()` holds (re-checked on every output), or throws after `ms`. */
  async until(done: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (this.exited) throw new Error(`server exited (${JSON.stringify(this.exited)}) while waiting for ${what}; stderr:\n${this.stderrText.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  responsesFor(id: Id): JsonRpcOut[] {
    return this.byId.get(id) ?? [];
  }

  async request(id: Id, method: string, params?: unknown): Promise<JsonRpcOut> {
    await this.send({ jsonrpc: '2.0', id, method, ...(params !== undefined && { params }) });
    await this.until(() => this.responsesFor(id).length > 0, 20_000, `the response to ${JSON.stringify(id)} (${method})`);
    return this.responsesFor(id)[0]!;
  }

  callTool(id: Id, name: string, args: Record<string, unknown>): Promise<JsonRpcOut> {
    return this.request(id, 'tools/call', { name, arguments: args });
  }

  async handshake(): Promise<void> {
    const init = await this.request('init', 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'raw-bad-input', version: '1.0.0' },
    });
    expect(init.error).toBeUndefined();
    expect((init.result as { serverInfo?: { name?: string } }).serverInfo?.name).toBe('agent-mesh');
    await this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** What the server must answer to one line. */
type Expectation =
  | { kind: 'error'; id: null; code: typeof PARSE_ERROR | typeof INVALID_REQUEST }
  | { kind: 'error'; id: Id; code?: number }
  | { kind: 'toolError'; id: Id }
  | { kind: 'none' };

interface BadLine {
  category: string;
  bytes: Buffer;
  expect: Expectation;
}

const TOOLS = ['kv_get', 'kv_set', 'kv_delete', 'kv_list', 'artifacts_put', 'artifacts_get', 'artifacts_list', 'artifacts_delete'];

/**
 * Arguments that must each be refused with invalid_argument: a wrong type (or value) for one argument of
 * a tool, a missing required one, an unknown extra one, or a key the rules refuse. None may write.
 */
function badToolArguments(rng: Rng): { name: string; arguments: Record<string, unknown> } {
  const wrongTypes: unknown[] = [123, -1, 1.5, true, false, null, [], ['a'], {}, { key: 'x' }];
  const badKeys = ['', '../etc/passwd', '/etc/passwd', 'a/../../b', 'a\\b', '..', '.', 'x\u0000y', 'tab\tkey', '\ud800', 'k'.repeat(513)];
  switch (rng.int(12)) {
    case 0:
      return { name: 'kv_set', arguments: { key: rng.pick(wrongTypes), value: 'never stored' } };
    case 1:
      return { name: 'kv_set', arguments: { key: 'raw/ttl', value: 1, ttl_seconds: rng.pick(['10', 0, -5, 1.5, true, null, [], {}, 315_360_001]) } };
    case 2:
      return { name: 'kv_set', arguments: { key: 'raw/if', value: 1, [rng.pick(['if_version', 'if_absent'])]: rng.pick(['1', 'yes', 0, 2.5, null, [], {}]) } };
    case 3:
      return { name: 'kv_set', arguments: { value: 'no key' } };
    case 4:
      return { name: 'kv_set', arguments: { key: 'raw/no-value' } };
    case 5:
      return { name: rng.pick(TOOLS), arguments: { key: 'raw/extra', value: 1, content: 'x', [rng.pick(['extra', 'tenant', 'tenant_id', 'Key', 'key ', '_meta'])]: 'alpha' } };
    case 6:
      return { name: rng.pick(['kv_list', 'artifacts_list']), arguments: { [rng.pick(['prefix', 'limit', 'cursor'])]: rng.pick([{}, [], true, null, -1, 0, 1001, 2.5]) } };
    case 7:
      return { name: 'artifacts_put', arguments: { key: 'raw/art', [rng.pick(['content', 'content_base64', 'content_type', 'metadata'])]: rng.pick([5, true, null, [], { a: 1 }]) } };
    case 8:
      return { name: 'artifacts_put', arguments: { key: 'raw/b64', content_base64: rng.pick(['abc', '!!!!', 'YWJj=', 'Y===', 'YW-j', 'YW_j', '====', '\u00e9\u00e9\u00e9\u00e9']) } };
    case 9:
      return { name: 'artifacts_put', arguments: { key: 'raw/both', content: 'a', content_base64: 'YQ==' } };
    case 10:
      return { name: rng.pick(['kv_set', 'artifacts_put', 'kv_get', 'artifacts_get', 'kv_delete', 'artifacts_delete']), arguments: { key: rng.pick(badKeys), value: 1, content: 'x' } };
    default:
      return { name: rng.pick(['kv_get', 'kv_delete', 'artifacts_get', 'artifacts_delete']), arguments: {} };
  }
}

/** Fixes up case 10/5 so only the fields the tool knows (plus the intended bad one) are sent. */
function tidyArguments(call: { name: string; arguments: Record<string, unknown> }): { name: string; arguments: Record<string, unknown> } {
  const args = { ...call.arguments };
  const known: Record<string, string[]> = {
    kv_get: ['key'],
    kv_delete: ['key', 'if_version'],
    kv_set: ['key', 'value', 'ttl_seconds', 'if_version', 'if_absent'],
    artifacts_put: ['key', 'content', 'content_base64', 'content_type', 'metadata'],
    artifacts_get: ['key'],
    artifacts_delete: ['key'],
    kv_list: ['prefix', 'limit', 'cursor'],
    artifacts_list: ['prefix', 'limit', 'cursor'],
  };
  const fields = known[call.name]!;
  const extras = Object.keys(args).filter((k) => !fields.includes(k));
  if (call.arguments.key === 'raw/extra') {
    // keep exactly one unknown field (the intended one), drop the helper fields the tool does not know
    const intended = extras.find((k) => !['key', 'value', 'content'].includes(k));
    for (const k of extras) if (k !== intended) delete args[k];
    if (!fields.includes('key')) delete args.key;
    if (intended === undefined) args.unknown_field = true;
  } else {
    for (const k of extras) delete args[k];
  }
  return { name: call.name, arguments: args };
}

function generateBadLines(rng: Rng, count: number): BadLine[] {
  const lines: BadLine[] = [];
  let serial = 0;
  const nextId = (): Id => (rng.int(2) === 0 ? 100_000 + serial++ : `bad-${serial++}-${rng.int(1e6)}`);
  const text = (s: string) => Buffer.from(s, 'utf8');
  const validRequest = (id: Id) =>
    JSON.stringify(
      rng.pick([
        { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'kv_set', arguments: { key: 'truncated/never', value: { big: 'ü'.repeat(40) } } } },
        { jsonrpc: '2.0', id, method: 'ping' },
        { jsonrpc: '2.0', id, method: 'tools/list', params: {} },
        { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'artifacts_put', arguments: { key: 'truncated/art', content: '数据'.repeat(20) } } },
      ]),
    );

  const generators: [weight: number, make: () => BadLine][] = [
    // Not JSON at all.
    [
      18,
      () => {
        const samples = [
          'hello',
          'GET / HTTP/1.1',
          '{',
          '}',
          '{]',
          '{"jsonrpc":"2.0",}',
          "{'jsonrpc':'2.0','id':1,'method':'ping'}",
          '{jsonrpc:"2.0",id:1,method:"ping"}',
          'undefined',
          'NaN',
          '-Infinity',
          '0x1F',
          '01',
          '1e',
          '"unterminated',
          'nul',
          'tru',
          '[1,2',
          '\ufeff{"jsonrpc":"2.0","id":1,"method":"ping"}',
          '{"a":1}{"b":2}',
          '{"jsonrpc":"2.0","id":1,"method":"ping"} trailing',
          '// comment',
          '<?xml version="1.0"?>',
          '\u0000\u0001\u0002',
        ];
        if (rng.int(3) > 0) return { category: 'not JSON', bytes: text(rng.pick(samples)), expect: { kind: 'error', id: null, code: PARSE_ERROR } };
        // random bytes (no newline), starting with a byte that can never begin valid JSON
        const bytes = Buffer.alloc(1 + rng.int(300));
        for (let i = 0; i < bytes.length; i++) {
          let b = rng.int(256);
          while (b === 10) b = rng.int(256);
          bytes[i] = b;
        }
        bytes[0] = rng.pick([0x40, 0x23, 0xff, 0xc3, 0x80, 0x7e]);
        return { category: 'random bytes', bytes, expect: { kind: 'error', id: null, code: PARSE_ERROR } };
      },
    ],
    // Valid JSON-RPC cut short (sometimes in the middle of a multi-byte character).
    [
      14,
      () => {
        const full = Buffer.from(validRequest(nextId()), 'utf8');
        return { category: 'truncated JSON', bytes: full.subarray(0, 1 + rng.int(full.length - 1)), expect: { kind: 'error', id: null, code: PARSE_ERROR } };
      },
    ],
    // JSON, but not a JSON-RPC message, and no usable id: error with id null.
    [
      12,
      () => {
        const samples: unknown[] = [
          [],
          [1, 2, 3],
          [{ jsonrpc: '2.0', id: 1, method: 'ping' }],
          42,
          -0.5,
          'a string',
          null,
          true,
          {},
          { method: 'ping' },
          { jsonrpc: '2.0' },
          { jsonrpc: '2.0', method: 42 },
          { jsonrpc: '1.0', method: 'ping' },
          { jsonrpc: '2.0', id: null, method: 'ping' },
          { jsonrpc: '2.0', id: { n: 1 }, method: 'ping' },
          { jsonrpc: '2.0', id: [1], method: 'ping' },
          { jsonrpc: '2.0', id: true, method: 'ping' },
          { jsonrpc: '2.0', method: 'notifications/initialized', params: 'x' },
          { jsonrpc: '2.0', method: 'tools/call', params: [1] },
          { result: {} },
        ];
        return { category: 'not JSON-RPC, no id', bytes: text(JSON.stringify(rng.pick(samples))), expect: { kind: 'error', id: null, code: INVALID_REQUEST } };
      },
    ],
    // JSON with a usable id, but not a valid JSON-RPC request: error with that id.
    [
      14,
      () => {
        const id = nextId();
        const samples: Record<string, unknown>[] = [
          { id },
          { id, method: 'ping' },
          { jsonrpc: '1.0', id, method: 'ping' },
          { jsonrpc: 2.0, id, method: 'ping' },
          { jsonrpc: '2.0 ', id, method: 'ping' },
          { jsonrpc: '2.0', id },
          { jsonrpc: '2.0', id, method: 5 },
          { jsonrpc: '2.0', id, method: null },
          { jsonrpc: '2.0', id, method: ['ping'] },
          { jsonrpc: '2.0', id, method: 'ping', params: [1, 2] },
          { jsonrpc: '2.0', id, method: 'ping', params: 'p' },
          { jsonrpc: '2.0', id, method: 'ping', params: null },
          { jsonrpc: '2.0', id, method: 'ping', extra: true },
          { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'kv_get', arguments: { key: 'k' } }, result: {} },
          { jsonrpc: '2.0', id, method: 'ping', params: { _meta: 5 } },
          { jsonrpc: '2.0', id, method: 'tools/list', params: { _meta: { progressToken: { nested: true } } } },
          { jsonrpc: '2.0', id, result: 5 },
          { jsonrpc: '2.0', id, error: { code: 'x', message: 1 } },
        ];
        return { category: 'not JSON-RPC, with id', bytes: text(JSON.stringify(rng.pick(samples))), expect: { kind: 'error', id } };
      },
    ],
    // Requests for methods that do not exist.
    [
      12,
      () => {
        const id = nextId();
        const method = rng.pick([
          'foo',
          'foo/bar',
          'tools/delete',
          'tools/execute',
          'kv_get',
          'TOOLS/LIST',
          'tools/list ',
          '',
          'rpc.discover',
          'notifications/initialized',
          '__proto__',
          'constructor',
          'toString',
          'hasOwnProperty',
          `x-${rng.int(1e9)}/${'z'.repeat(rng.int(200))}`,
        ]);
        return { category: 'unknown method', bytes: text(JSON.stringify({ jsonrpc: '2.0', id, method, params: {} })), expect: { kind: 'error', id, code: METHOD_NOT_FOUND } };
      },
    ],
    // tools/call naming tools that do not exist.
    [
      10,
      () => {
        const id = nextId();
        const name = rng.pick(['nope', 'kv_gett', 'KV_GET', 'kv-get', 'kv_get ', ' kv_get', '../kv_get', 'kv_get\u0000', '', 'admin_drop_all', '__proto__', 'constructor', 'x'.repeat(1000)]);
        return { category: 'unknown tool', bytes: text(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: { key: 'unknown-tool/k', value: 1 } } })), expect: { kind: 'error', id, code: INVALID_PARAMS } };
      },
    ],
    // tools/call whose params are malformed (no name, name not a string, arguments not an object).
    [
      6,
      () => {
        const id = nextId();
        const params = rng.pick<unknown>([
          undefined,
          {},
          { name: 5 },
          { name: null, arguments: {} },
          { name: 'kv_set', arguments: 'key=a&value=1' },
          { name: 'kv_set', arguments: [{ key: 'a', value: 1 }] },
          { name: 'kv_set', arguments: 7 },
          { arguments: { key: 'a', value: 1 } },
        ]);
        return { category: 'malformed tools/call params', bytes: text(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', ...(params !== undefined && { params }) })), expect: { kind: 'error', id } };
      },
    ],
    // tools/call of a real tool with bad arguments: a tool result with isError (invalid_argument).
    [
      16,
      () => {
        const id = nextId();
        const call = tidyArguments(badToolArguments(rng));
        return { category: `bad arguments (${call.name})`, bytes: text(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: call })), expect: { kind: 'toolError', id } };
      },
    ],
    // Notifications and responses: valid messages that must get no reply at all.
    [
      3,
      () => {
        const samples: unknown[] = [
          { jsonrpc: '2.0', method: 'notifications/unknown' },
          { jsonrpc: '2.0', method: 'x/y', params: { a: 1 } },
          { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'never-sent', reason: 'test' } },
          { jsonrpc: '2.0', id: `resp-${serial++}`, result: {} },
          { jsonrpc: '2.0', id: 999_999_000 + serial++, error: { code: -1, message: 'client-side error for a request never made' } },
        ];
        return { category: 'notification or response', bytes: text(JSON.stringify(rng.pick(samples))), expect: { kind: 'none' } };
      },
    ],
  ];
  const total = generators.reduce((sum, [w]) => sum + w, 0);
  while (lines.length < count) {
    let roll = rng.int(total);
    for (const [weight, make] of generators) {
      if (roll < weight) {
        lines.push(make());
        break;
      }
      roll -= weight;
    }
  }
  return lines;
}

describe(`raw stdio: malformed lines (seed ${SEED})`, () => {
  const data = lazyTempDir('agent-mesh-bad-raw');
  const configDir = lazyTempDir('agent-mesh-bad-raw-config');
  let config = '';
  const servers: RawServer[] = [];

  beforeAll(() => {
    config = writeConfig(configDir.dir, { defaults: { rateLimits: HIGH_RATE_LIMITS } });
  });

  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    data.cleanup();
    configDir.cleanup();
  });

  const start = async (): Promise<RawServer> => {
    const server = new RawServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_TENANT_ID: 'raw', AGENT_MESH_CONFIG: config });
    servers.push(server);
    await server.handshake();
    return server;
  };

  it('answers each of 1000 malformed lines exactly once (or not at all for notifications), stays up, and writes nothing', async () => {
    const server = await start();
    const rng = new Rng(SEED);
    const lines = generateBadLines(rng, 1000);
    const before = server.messages.length;

    // Send them all without waiting, a few lines per write, sometimes split mid-line across writes.
    const blob = Buffer.concat(lines.flatMap((l) => [l.bytes, Buffer.from('\n')]));
    for (let offset = 0; offset < blob.length; ) {
      const size = 1 + rng.int(8192);
      await server.write(blob.subarray(offset, offset + size));
      offset += size;
    }

    // Then valid calls: the process still serves, and the bad lines wrote nothing.
    const set = await server.callTool('good-set', 'kv_set', { key: 'good', value: { ok: true } });
    expect(set.result?.isError, JSON.stringify(set)).toBeUndefined();
    const get = await server.callTool('good-get', 'kv_get', { key: 'good' });
    expect((get.result?.structuredContent as { value?: unknown }).value).toEqual({ ok: true });

    const expectedById = new Map<Id, { line: BadLine; index: number }>();
    const expectedNull = { [PARSE_ERROR]: 0, [INVALID_REQUEST]: 0 };
    lines.forEach((line, index) => {
      const e = line.expect;
      if (e.kind === 'none') return;
      if (e.id === null) expectedNull[e.code]++;
      else expectedById.set(e.id, { line, index });
    });
    const nullCount = () => server.messages.slice(before).filter((m) => m.id === null || m.id === undefined).length;
    const answered = () => [...expectedById.keys()].filter((id) => server.responsesFor(id).length > 0).length;
    // A final round trip (lines are read in order), then wait for stragglers: tool calls answer asynchronously.
    await server.request('final-ping', 'ping');
    try {
      await server.until(() => answered() === expectedById.size && nullCount() >= expectedNull[PARSE_ERROR] + expectedNull[INVALID_REQUEST], 5_000, 'all responses');
    } catch {
      // fall through: the assertions below say which are missing
    }
    // A pause, so that late or duplicate answers would show up too.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const problems: string[] = [];
    const show = (l: BadLine) => `[${l.category}] ${JSON.stringify(l.bytes.toString('utf8').slice(0, 160))}`;
    for (const [id, { line, index }] of expectedById) {
      const got = server.responsesFor(id);
      if (got.length !== 1) {
        problems.push(`line ${index} ${show(line)}: ${got.length} responses, expected exactly 1`);
        continue;
      }
      const response = got[0]!;
      const e = line.expect;
      if (e.kind === 'toolError') {
        const result = response.result as { isError?: boolean; structuredContent?: { error?: { code?: string; field?: string } } } | undefined;
        if (!result?.isError || result.structuredContent?.error?.code !== 'invalid_argument') {
          problems.push(`line ${index} ${show(line)}: expected a tool result with isError/invalid_argument, got ${JSON.stringify(response).slice(0, 300)}`);
        }
      } else if (e.kind === 'error') {
        if (!response.error || !Number.isInteger(response.error.code) || typeof response.error.message !== 'string') {
          problems.push(`line ${index} ${show(line)}: expected a JSON-RPC error, got ${JSON.stringify(response).slice(0, 300)}`);
        } else if (e.code !== undefined && response.error.code !== e.code) {
          problems.push(`line ${index} ${show(line)}: error code ${response.error.code}, expected ${e.code} (${response.error.message.slice(0, 100)})`);
        }
      }
    }
    const nullResponses = server.messages.slice(before).filter((m) => m.id === null || m.id === undefined);
    const nullByCode = (code: number) => nullResponses.filter((m) => m.error?.code === code).length;
    if (nullByCode(PARSE_ERROR) !== expectedNull[PARSE_ERROR]) problems.push(`${nullByCode(PARSE_ERROR)} parse errors with id null, expected ${expectedNull[PARSE_ERROR]}`);
    if (nullByCode(INVALID_REQUEST) !== expectedNull[INVALID_REQUEST]) problems.push(`${nullByCode(INVALID_REQUEST)} invalid-request errors with id null, expected ${expectedNull[INVALID_REQUEST]}`);
    const otherNull = nullResponses.filter((m) => m.error?.code !== PARSE_ERROR && m.error?.code !== INVALID_REQUEST);
    if (otherNull.length > 0) problems.push(`unexpected id-null responses: ${JSON.stringify(otherNull.slice(0, 3))}`);
    const known = new Set<Id | null | undefined>([...expectedById.keys(), null, undefined, 'good-set', 'good-get', 'final-ping']);
    const unexpected = server.messages.slice(before).filter((m) => !known.has(m.id));
    if (unexpected.length > 0) problems.push(`${unexpected.length} responses to lines that must not be answered: ${JSON.stringify(unexpected.slice(0, 3)).slice(0, 500)}`);
    if (server.unparseableOutput.length > 0) problems.push(`stdout carried non-JSON lines: ${JSON.stringify(server.unparseableOutput.slice(0, 3))}`);
    for (const m of server.messages) if (m.jsonrpc !== '2.0') problems.push(`response without jsonrpc "2.0": ${JSON.stringify(m).slice(0, 200)}`);

    const categories = new Map<string, number>();
    for (const l of lines) categories.set(l.category.replace(/ \(.*\)$/, ''), (categories.get(l.category.replace(/ \(.*\)$/, '')) ?? 0) + 1);
    console.log(`[bad-input] raw: ${lines.length} lines: ${[...categories].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    expect(problems, `seed ${SEED}: ${problems.length} problem(s):\n${problems.slice(0, 30).join('\n')}`).toEqual([]);

    // Nothing written by any of it: only the good key.
    const kvList = await server.callTool('list-kv', 'kv_list', { limit: 1000 });
    expect((kvList.result?.structuredContent as { keys: { key: string }[] }).keys.map((k) => k.key)).toEqual(['good']);
    const artList = await server.callTool('list-art', 'artifacts_list', { limit: 1000 });
    expect((artList.result?.structuredContent as { artifacts: unknown[] }).artifacts).toEqual([]);
    expect(server.exited).toBeUndefined();
    expect(strayFiles(data.dir)).toEqual([]);
  });

  it('survives a 20 MB garbage line, a line over the 64 MiB limit, and a 20 MB valid request', async () => {
    const server = await start();
    const nulls = () => server.messages.filter((m) => m.id === null);

    // 20 MB of garbage: one parse error, id null.
    const garbage = Buffer.alloc(20 * 1024 * 1024, 'x');
    garbage[0] = 0x40;
    await server.write(Buffer.concat([garbage, Buffer.from('\n')]));
    await server.until(() => nulls().length >= 1, 30_000, 'the parse error for the 20 MB line');
    expect(nulls().map((m) => m.error?.code)).toEqual([PARSE_ERROR]);
    expect((await server.request('after-garbage', 'ping')).result).toEqual({});

    // Over 64 MiB: a well-formed kv_set that is simply too long; refused with one error, never executed.
    const filler = 'y'.repeat(65 * 1024 * 1024);
    const tooLong = JSON.stringify({ jsonrpc: '2.0', id: 'huge-set', method: 'tools/call', params: { name: 'kv_set', arguments: { key: 'huge', value: filler } } });
    await server.write(tooLong + '\n');
    await server.until(() => nulls().length >= 2, 60_000, 'the error for the 65 MiB line');
    expect(nulls()[1]!.error?.code).toBe(INVALID_REQUEST);
    expect((await server.request('after-huge', 'ping')).result).toEqual({});
    expect(server.responsesFor('huge-set')).toEqual([]);

    // A 20 MB request that is valid JSON-RPC is read whole and refused by the quota (default 400 KiB values).
    const big = await server.callTool('big-set', 'kv_set', { key: 'big', value: 'z'.repeat(20 * 1024 * 1024) });
    expect((big.result?.structuredContent as { error?: { code?: string } }).error?.code).toBe('quota_exceeded');
    const missing = await server.callTool('huge-get', 'kv_get', { key: 'huge' });
    expect((missing.result?.structuredContent as { error?: { code?: string } }).error?.code).toBe('not_found');
    const missingBig = await server.callTool('big-get', 'kv_get', { key: 'big' });
    expect((missingBig.result?.structuredContent as { error?: { code?: string } }).error?.code).toBe('not_found');

    // And a 2 MB artifact still goes through on the same connection.
    const body = Buffer.alloc(2 * 1024 * 1024, 7);
    const put = await server.callTool('big-art', 'artifacts_put', { key: 'big.bin', content_base64: body.toString('base64') });
    expect(put.result?.isError, JSON.stringify(put).slice(0, 300)).toBeUndefined();
    expect((put.result?.structuredContent as { size?: number }).size).toBe(body.length);
    expect(server.exited).toBeUndefined();
    expect(server.messages.filter((m) => m.id === null)).toHaveLength(2);
  }, 120_000);
});

// =========================================================================================================
// (b) Through the SDK client
// =========================================================================================================

interface ArgSpec {
  /** A valid value, used when testing the other arguments. */
  valid?: unknown;
  wrong?: unknown[];
}

const KEY_WRONG = [123, 0, true, null, [], ['a'], {}, { key: 'a' }];
const STRING_WRONG = [5, true, null, [], {}];
const VERSION_WRONG = ['1', 0, -1, 2.5, true, null, [], {}];
const LIMIT_WRONG = ['10', 0, -1, 1001, 2.5, true, null, [], {}];

/** Every tool's arguments, with values of the wrong type or out of range for each. */
const TOOL_ARGS: Record<string, Record<string, ArgSpec>> = {
  kv_get: { key: { valid: 'typed/kv_get', wrong: KEY_WRONG } },
  kv_set: {
    key: { valid: 'typed/kv_set', wrong: KEY_WRONG },
    value: { valid: 'typed value' },
    ttl_seconds: { wrong: ['10', 0, -1, 1.5, 315_360_001, true, null, [], {}] },
    if_version: { wrong: VERSION_WRONG },
    if_absent: { wrong: ['true', 1, 0, null, [], {}] },
  },
  kv_delete: { key: { valid: 'typed/kv_delete', wrong: KEY_WRONG }, if_version: { wrong: VERSION_WRONG } },
  kv_list: { prefix: { wrong: STRING_WRONG }, limit: { wrong: LIMIT_WRONG }, cursor: { wrong: [...STRING_WRONG, 'not a cursor!', '%%%', '////'] } },
  artifacts_put: {
    key: { valid: 'typed/artifacts_put', wrong: KEY_WRONG },
    content: { valid: 'typed content', wrong: STRING_WRONG },
    content_base64: { wrong: STRING_WRONG },
    content_type: { wrong: [...STRING_WRONG, '', 'not a type', 'text/', '/plain', 'text/plain\u0000', 'a'.repeat(300) + '/b'] },
    metadata: { wrong: ['x', 5, true, null, [], ['a'], { a: 1 }, { a: null }, { a: {} }, { a: ['x'] }, { 'bad name': 'v' }, { '': 'v' }, { a: 'line\nbreak' }, { a: 'v'.repeat(3000) }] },
  },
  artifacts_get: { key: { valid: 'typed/artifacts_get', wrong: KEY_WRONG } },
  artifacts_list: { prefix: { wrong: STRING_WRONG }, limit: { wrong: LIMIT_WRONG }, cursor: { wrong: [...STRING_WRONG, 'not a cursor!', '%%%'] } },
  artifacts_delete: { key: { valid: 'typed/artifacts_delete', wrong: KEY_WRONG } },
};

const validArgs = (tool: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(TOOL_ARGS[tool]!).flatMap(([name, spec]) => ('valid' in spec ? [[name, spec.valid]] : [])));

const TRAVERSAL_KEYS = [
  '../etc/passwd',
  '/etc/passwd',
  'a/../../b',
  'a\\b',
  '..',
  '.',
  './x',
  'x/.',
  'x/..',
  '../../../../../../../../tmp/agent-mesh-escape',
  '..\\..\\escape',
  'C:\\escape',
  '\\\\server\\share',
  '/',
  '//double',
  'artifacts/../../escape',
  '.tmp/../../escape',
  'x\u0000/../../escape',
];

/** Keys that look like traversal but are valid under the rules: stored as plain names, nowhere else. */
const TRAVERSAL_LOOKALIKES = ['..%2fetc%2fpasswd', '%2e%2e/%2e%2e/escape', '....//....//escape', 'a/..b/c..', '...', 'etc/passwd', '.tmp', '.tmp/x', 'artifacts', 'agent-mesh.db'];

describe('through the SDK client: wrong arguments, quotas and traversal', () => {
  const root = lazyTempDir('agent-mesh-bad-sdk');
  let dataDir = '';
  let fuzz: ServerHandle | undefined;
  let limited: ServerHandle | undefined;
  /** What valid calls wrote, per tenant: kv key -> value; artifact key -> body. */
  const written = {
    fuzz: { kv: new Map<string, unknown>(), artifacts: new Map<string, Buffer>() },
    limited: { kv: new Map<string, unknown>(), artifacts: new Map<string, Buffer>() },
  };

  beforeAll(async () => {
    dataDir = join(root.dir, 'data');
    mkdirSync(dataDir);
    const config = writeConfig(root.dir, {
      defaults: { rateLimits: HIGH_RATE_LIMITS },
      tenants: { limited: { limits: { maxValueBytes: 1024, maxArtifactBytes: 2048, maxKeys: 5, maxTotalArtifactBytes: 4096 } } },
    });
    [fuzz, limited] = await Promise.all([
      startServer({ AGENT_MESH_DATA_DIR: dataDir, AGENT_MESH_TENANT_ID: 'fuzz', AGENT_MESH_CONFIG: config }),
      startServer({ AGENT_MESH_DATA_DIR: dataDir, AGENT_MESH_TENANT_ID: 'limited', AGENT_MESH_CONFIG: config }),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([fuzz?.close(), limited?.close()]);
    root.cleanup();
  });

  const err = (result: Awaited<ReturnType<ServerHandle['call']>>) => (result.isError ? structured(result).error : undefined);

  it('refuses a wrong type or out-of-range value for every argument of every tool, naming the argument', async () => {
    const problems: string[] = [];
    let calls = 0;
    for (const [tool, args] of Object.entries(TOOL_ARGS)) {
      for (const [name, spec] of Object.entries(args)) {
        for (const wrong of spec.wrong ?? []) {
          const result = await fuzz!.call(tool, { ...validArgs(tool), [name]: wrong });
          calls++;
          const e = err(result);
          if (e?.code !== 'invalid_argument' || !(e.field === name || e.field?.startsWith(`${name}.`))) {
            problems.push(`${tool} ${name}=${JSON.stringify(wrong).slice(0, 60)}: expected invalid_argument on ${name}, got ${JSON.stringify(structured(result)).slice(0, 200)}`);
          }
        }
      }
    }
    console.log(`[bad-input] sdk: ${calls} wrong-type calls`);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('refuses calls missing a required argument, naming it', async () => {
    const cases: [tool: string, args: Record<string, unknown> | undefined, field: string][] = [
      ['kv_get', {}, 'key'],
      ['kv_get', undefined, 'key'],
      ['kv_set', { value: 1 }, 'key'],
      ['kv_set', { key: 'missing/value' }, 'value'],
      ['kv_delete', {}, 'key'],
      ['kv_delete', { if_version: 1 }, 'key'],
      ['artifacts_put', { content: 'x' }, 'key'],
      ['artifacts_put', { key: 'missing/content' }, 'content'],
      ['artifacts_put', { key: 'missing/content2', content_type: 'text/plain', metadata: { a: 'b' } }, 'content'],
      ['artifacts_get', {}, 'key'],
      ['artifacts_delete', undefined, 'key'],
    ];
    for (const [tool, args, field] of cases) {
      const result = args === undefined ? ((await fuzz!.client.callTool({ name: tool })) as Awaited<ReturnType<ServerHandle['call']>>) : await fuzz!.call(tool, args);
      expect(err(result), `${tool} ${JSON.stringify(args)}`).toMatchObject({ code: 'invalid_argument', field });
    }
  });

  it('refuses unknown extra arguments with invalid_argument naming the field, and writes nothing', async () => {
    const extras = ['bogus', 'tenant', 'tenant_id', 'user_id', 'Key', 'key ', 'values', 'ttl', 'contentBase64', 'metadata ', 'constructor', 'toString', '_meta'];
    for (const tool of Object.keys(TOOL_ARGS)) {
      for (const extra of extras) {
        const result = await fuzz!.call(tool, { ...validArgs(tool), [extra]: 'alpha' });
        expect(err(result), `${tool} + ${JSON.stringify(extra)}`).toMatchObject({ code: 'invalid_argument', field: extra });
      }
    }
  });

  it('refuses an unknown argument named "__proto__" like any other, and writes nothing', async () => {
    // JSON.parse makes "__proto__" an ordinary own member, so it reaches the server as an unknown argument.
    const outcomes: [string, unknown][] = [];
    for (const tool of ['kv_set', 'artifacts_put', 'kv_delete']) {
      const args = JSON.parse(`{"key":"proto/${tool}","value":1,"content":"x","__proto__":{"polluted":true}}`) as Record<string, unknown>;
      if (tool !== 'kv_set') delete args.value;
      if (tool !== 'artifacts_put') delete args.content;
      outcomes.push([tool, structured(await fuzz!.call(tool, args))]);
    }
    // Keep the final bookkeeping truthful whatever happened, then judge.
    for (const [tool, key] of [['kv_get', 'proto/kv_set'], ['artifacts_get', 'proto/artifacts_put']] as const) {
      const result = await fuzz!.call(tool, { key });
      if (!result.isError) {
        if (tool === 'kv_get') written.fuzz.kv.set(key, structured(result).value);
        else written.fuzz.artifacts.set(key, Buffer.from(String(structured(result).content), 'utf8'));
      }
    }
    for (const [tool, outcome] of outcomes) {
      expect(outcome, `${tool} with an extra "__proto__" argument`).toMatchObject({ error: { code: 'invalid_argument', field: '__proto__' } });
    }
  });

  it('stores a 5 MiB binary artifact sent as content_base64 (under the default maxArtifactBytes of 10 MiB)', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
    const put = await fuzz!.call('artifacts_put', { key: 'big/5mib.bin', content_base64: body.toString('base64') });
    if (!put.isError) written.fuzz.artifacts.set('big/5mib.bin', body);
    expect(structured(put)).toMatchObject({ key: 'big/5mib.bin', size: body.length });
    // Read back in parts (at most 4 MiB per answer), following next_offset.
    const first = structured(await fuzz!.call('artifacts_get', { key: 'big/5mib.bin' }));
    expect(first).toMatchObject({ offset: 0, length: 4 * 1024 * 1024, next_offset: 4 * 1024 * 1024 });
    const rest = structured(await fuzz!.call('artifacts_get', { key: 'big/5mib.bin', offset: first.next_offset }));
    expect(rest).toMatchObject({ offset: 4 * 1024 * 1024, length: 1024 * 1024, next_offset: null });
    expect(Buffer.concat([Buffer.from(String(first.content_base64), 'base64'), Buffer.from(String(rest.content_base64), 'base64')]).equals(body)).toBe(true);
  });

  it('refuses invalid base64, both content and content_base64, and neither', async () => {
    const invalid = ['abc', '!!!!', 'YWJj=', 'Y===', 'YQ', 'YQ=', 'YW-j', 'YW_j', '====', 'YWJjZA=', 'YWJjZA===', '\u00e9\u00e9\u00e9\u00e9', 'YWJj\u0000', 'data:text/plain;base64,YWJj'];
    for (const content_base64 of invalid) {
      const result = await fuzz!.call('artifacts_put', { key: 'b64/bad', content_base64 });
      expect(err(result), `content_base64 ${JSON.stringify(content_base64)}`).toMatchObject({ code: 'invalid_argument', field: 'content_base64' });
    }
    expect(err(await fuzz!.call('artifacts_put', { key: 'b64/both', content: 'a', content_base64: 'YQ==' }))).toMatchObject({ code: 'invalid_argument', field: 'content_base64' });
    expect(err(await fuzz!.call('artifacts_put', { key: 'b64/both2', content: '', content_base64: '' }))).toMatchObject({ code: 'invalid_argument' });
    expect(err(await fuzz!.call('artifacts_put', { key: 'b64/neither' }))).toMatchObject({ code: 'invalid_argument', field: 'content' });
    for (const key of ['b64/bad', 'b64/both', 'b64/both2', 'b64/neither']) {
      expect(err(await fuzz!.call('artifacts_get', { key }))?.code, key).toBe('not_found');
    }
    // Valid base64 with whitespace (as wrapped by many encoders) is accepted: bookkeeping for the final check.
    const ok = await fuzz!.call('artifacts_put', { key: 'b64/wrapped', content_base64: 'YWJj\nZGVm\r\nZw==' });
    expect(err(ok)).toBeUndefined();
    written.fuzz.artifacts.set('b64/wrapped', Buffer.from('abcdefg'));
  });

  it('refuses path traversal keys in every tool, and stores traversal look-alikes as plain keys', async () => {
    const tools: [string, (key: string) => Record<string, unknown>][] = [
      ['kv_set', (key) => ({ key, value: 'escape' })],
      ['kv_get', (key) => ({ key })],
      ['kv_delete', (key) => ({ key })],
      ['artifacts_put', (key) => ({ key, content: 'escape' })],
      ['artifacts_get', (key) => ({ key })],
      ['artifacts_delete', (key) => ({ key })],
    ];
    for (const key of TRAVERSAL_KEYS) {
      for (const [tool, args] of tools) {
        expect(err(await fuzz!.call(tool, args(key))), `${tool} ${JSON.stringify(key)}`).toMatchObject({ code: 'invalid_argument', field: 'key' });
      }
      // and as a resource URI
      await expect(fuzz!.client.readResource({ uri: `artifact://${key}` }), `resources/read artifact://${key}`).rejects.toBeInstanceOf(McpError);
    }
    for (const key of TRAVERSAL_LOOKALIKES) {
      const set = await fuzz!.call('kv_set', { key, value: `plain ${key}` });
      expect(err(set), key).toBeUndefined();
      written.fuzz.kv.set(key, `plain ${key}`);
      const put = await fuzz!.call('artifacts_put', { key, content: `plain ${key}` });
      expect(err(put), key).toBeUndefined();
      written.fuzz.artifacts.set(key, Buffer.from(`plain ${key}`));
      const read = await fuzz!.call('artifacts_get', { key });
      expect(structured(read).content).toBe(`plain ${key}`);
    }
  });

  it('quota: values over maxValueBytes are refused and change nothing', async () => {
    const s = limited!;
    // exactly 1024 bytes of JSON is allowed
    const atLimit = 'x'.repeat(1022);
    expect(err(await s.call('kv_set', { key: 'q/at-limit', value: atLimit }))).toBeUndefined();
    written.limited.kv.set('q/at-limit', atLimit);
    for (const value of ['x'.repeat(1023), '€'.repeat(341), { list: Array.from({ length: 300 }, (_, i) => i) }, 'x'.repeat(100_000)]) {
      const result = await s.call('kv_set', { key: 'q/over', value });
      expect(err(result)).toMatchObject({ code: 'quota_exceeded', limit: 'maxValueBytes', limit_value: 1024 });
    }
    expect(err(await s.call('kv_get', { key: 'q/over' }))?.code).toBe('not_found');
    // an oversize overwrite leaves the old value and version
    const overwrite = await s.call('kv_set', { key: 'q/at-limit', value: 'y'.repeat(2000) });
    expect(err(overwrite)?.code).toBe('quota_exceeded');
    const kept = await s.call('kv_get', { key: 'q/at-limit' });
    expect(structured(kept)).toMatchObject({ value: atLimit, version: 1 });
  });

  it('quota: the sixth key is refused by maxKeys 5; overwrites and delete-then-add still work', async () => {
    const s = limited!;
    for (const key of ['q/k2', 'q/k3', 'q/k4', 'q/k5']) {
      expect(err(await s.call('kv_set', { key, value: key }))).toBeUndefined();
      written.limited.kv.set(key, key);
    }
    for (const key of ['q/k6', 'q/k7', 'q/k6']) {
      expect(err(await s.call('kv_set', { key, value: key }))).toMatchObject({ code: 'quota_exceeded', limit: 'maxKeys', limit_value: 5 });
      expect(err(await s.call('kv_get', { key }))?.code).toBe('not_found');
    }
    expect(err(await s.call('kv_set', { key: 'q/k2', value: 'overwritten' }))).toBeUndefined();
    written.limited.kv.set('q/k2', 'overwritten');
    expect(err(await s.call('kv_delete', { key: 'q/k3' }))).toBeUndefined();
    written.limited.kv.delete('q/k3');
    expect(err(await s.call('kv_set', { key: 'q/k6', value: 'q/k6' }))).toBeUndefined();
    written.limited.kv.set('q/k6', 'q/k6');
    expect(err(await s.call('kv_set', { key: 'q/k7', value: 'q/k7' }))?.code).toBe('quota_exceeded');
  });

  it('quota: artifacts over maxArtifactBytes or maxTotalArtifactBytes are refused and change nothing', async () => {
    const s = limited!;
    const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);
    const put = (key: string, body: Buffer) => s.call('artifacts_put', { key, content_base64: body.toString('base64') });
    // one byte over the single-artifact limit, as base64 and as text (multi-byte)
    expect(err(await put('qa/over', bytes(2049, 1)))).toMatchObject({ code: 'quota_exceeded', limit: 'maxArtifactBytes', limit_value: 2048 });
    expect(err(await s.call('artifacts_put', { key: 'qa/over-text', content: 'é'.repeat(1025) }))).toMatchObject({ code: 'quota_exceeded', limit: 'maxArtifactBytes' });
    // two at the limit fill the tenant's 4096 bytes
    expect(err(await put('qa/a', bytes(2048, 2)))).toBeUndefined();
    written.limited.artifacts.set('qa/a', bytes(2048, 2));
    expect(err(await put('qa/b', bytes(2048, 3)))).toBeUndefined();
    written.limited.artifacts.set('qa/b', bytes(2048, 3));
    expect(err(await put('qa/c', bytes(1, 4)))).toMatchObject({ code: 'quota_exceeded', limit: 'maxTotalArtifactBytes', limit_value: 4096 });
    // replacing one counts only the difference
    expect(err(await put('qa/a', bytes(2000, 5)))).toBeUndefined();
    written.limited.artifacts.set('qa/a', bytes(2000, 5));
    expect(err(await put('qa/c', bytes(49, 6)))?.code).toBe('quota_exceeded');
    expect(err(await put('qa/c', bytes(48, 6)))).toBeUndefined();
    written.limited.artifacts.set('qa/c', bytes(48, 6));
    expect(err(await put('qa/a', bytes(2001, 7)))?.code).toBe('quota_exceeded');
    for (const key of ['qa/over', 'qa/over-text']) expect(err(await s.call('artifacts_get', { key }))?.code).toBe('not_found');
    const a = structured(await s.call('artifacts_get', { key: 'qa/a' }));
    expect(Buffer.from(String(a.content_base64), 'base64').equals(bytes(2000, 5))).toBe(true);
    expect(a.version).toBe(2);
  });

  it('afterwards, only what valid calls wrote is there, and nothing escaped the data folder', async () => {
    for (const [tenant, server] of [['fuzz', fuzz!], ['limited', limited!]] as const) {
      const kv = structured(await server.call('kv_list', { limit: 1000 })) as { keys: { key: string }[]; next_cursor: string | null };
      expect(kv.next_cursor).toBeNull();
      expect(kv.keys.map((k) => k.key).sort(), `${tenant} kv keys`).toEqual([...written[tenant].kv.keys()].sort());
      for (const [key, value] of written[tenant].kv) expect(structured(await server.call('kv_get', { key })).value, `${tenant} ${key}`).toEqual(value);
      const arts = structured(await server.call('artifacts_list', { limit: 1000 })) as { artifacts: { key: string; size: number }[]; next_cursor: string | null };
      expect(arts.next_cursor).toBeNull();
      expect(arts.artifacts.map((a) => a.key).sort(), `${tenant} artifact keys`).toEqual([...written[tenant].artifacts.keys()].sort());
      for (const a of arts.artifacts) expect(a.size, `${tenant} ${a.key}`).toBe(written[tenant].artifacts.get(a.key)!.length);
    }
    // Nothing outside the data folder, and inside it only the database and the artifacts tree.
    expect(readdirSync(root.dir).sort()).toEqual(['agent-mesh.json', 'data']);
    expect(strayFiles(dataDir)).toEqual([]);
    expect(readdirSync(join(dataDir, 'artifacts')).sort()).toEqual(['.tmp', 'fuzz', 'limited']);
    expect(readdirSync(join(dataDir, 'artifacts', '.tmp'))).toEqual([]);
    // Every artifact file is a plain file named by the store, one per row.
    const db = new Database(join(dataDir, 'agent-mesh.db'), { readonly: true, fileMustExist: true });
    try {
      for (const tenant of ['fuzz', 'limited']) {
        const files = db.prepare('SELECT file FROM artifacts WHERE tenant = ?').pluck().all(tenant) as string[];
        const onDisk = readdirSync(join(dataDir, 'artifacts', tenant));
        expect(onDisk.sort()).toEqual([...files].sort());
        for (const f of onDisk) expect(statSync(join(dataDir, 'artifacts', tenant, f)).isFile()).toBe(true);
      }
    } finally {
      db.close();
    }
  });
});
