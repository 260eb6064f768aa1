/**
 * `agent-mesh serve` under concurrent load from many tenants, against a minimal stateful SDK server over
 * Streamable HTTP (bench/echo-http-server.mjs) in the same run, then its memory per open tenant session.
 *
 *   npm run bench:http    (BENCH_CLIENTS=64 BENCH_TENANTS=1000 BENCH_MEMORY_TENANTS=10000 BENCH_ROUNDS=3
 *                          BENCH_BLOCK_MS=5000 BENCH_SESSION_CALLS=20)
 *
 * Throughput: BENCH_CLIENTS SDK clients (Client + StreamableHTTPClientTransport) in this process, each with one
 * call in flight. Against agent-mesh each client holds a session of one tenant (its own API key) and calls
 * kv_get on a key set beforehand; after BENCH_SESSION_CALLS calls it ends the session (DELETE) and opens one on
 * the next tenant, round robin over BENCH_TENANTS, so the run spreads over all of them. Against the baseline the
 * same clients call `echo` and rotate sessions alike. Blocks of BENCH_BLOCK_MS alternate between the two servers
 * (which goes first alternates too) so drift in machine load hits both; an unmeasured block per server comes first.
 * calls/s is calls over wall time, session changes included. Target: agent-mesh calls/s >= 0.8 of the baseline's.
 * The clients share the machine with the servers (on 2 cores they use about one core themselves), so calls/s can be
 * capped by the clients rather than the server; the server CPU time per call (/proc/<pid>/stat) is reported too,
 * and its baseline / agent-mesh ratio is what calls/s would show with the server as the bottleneck.
 *
 * Memory: BENCH_MEMORY_TENANTS sessions, one per tenant, opened with raw HTTP (initialize, initialized, one
 * kv_set) and left open; the server's VmRSS (/proc/<pid>/status) and V8 heap used (/metrics) before and after.
 * Target: < 50 KB per tenant. The baseline gets the same sessions (with one echo) for comparison.
 *
 * Tenants and keys are written straight into the data folder's SQLite database with agent-mesh's own store and
 * key functions (as `agent-mesh tenants create` / `keys create` do, without one process per key). It is a
 * measurement, not a test: it exits 0 whatever the figures, and non-zero only if the setup fails.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MESH_ENTRY, UNLIMITED, positiveIntFromEnv } from './lib/stdio-child.js';
import { fixed, percentile, round3 } from './lib/stats.js';
import { runMain } from './lib/run-main.js';

const CLIENTS = positiveIntFromEnv('BENCH_CLIENTS', 64);
const TENANTS = positiveIntFromEnv('BENCH_TENANTS', 1000);
const MEMORY_TENANTS = positiveIntFromEnv('BENCH_MEMORY_TENANTS', 10_000);
const ROUNDS = positiveIntFromEnv('BENCH_ROUNDS', 3);
const BLOCK_MS = positiveIntFromEnv('BENCH_BLOCK_MS', 5000);
const SESSION_CALLS = positiveIntFromEnv('BENCH_SESSION_CALLS', 20);
/** An unmeasured block per server before the rounds, so that neither meets this process's cold call loop first. */
const WARMUP_BLOCK_MS = 2000;
const THROUGHPUT_TARGET = 0.8;
const MEMORY_TARGET_KB = 50;
/** A block stops early after this many failed sessions (the server is down or refusing). */
const MAX_ERRORS = 200;

const ECHO_HTTP_ENTRY = resolve(import.meta.dirname, 'echo-http-server.mjs');
const DIST = dirname(dirname(MESH_ENTRY));
const BENCH_CONFIG = { defaults: { rateLimits: { dynamodb: UNLIMITED } } };
const KV_KEY = 'bench';

/** USER_HZ of /proc/<pid>/stat: 100 on every mainstream Linux. */
const CLOCK_TICKS = 100;

const tenantId = (i: number): string => `bench-${String(i).padStart(5, '0')}`;

/** Tenants and one key each, in one transaction, through dist's own store and newApiKey; returns the tokens. */
const SETUP_SCRIPT = `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const { DIST, DATA_DIR, COUNT, OUT } = process.env;
const load = (path) => import(pathToFileURL(join(DIST, path)).href);
const { openDatabase } = await load('drivers/local/sqlite-database.js');
const { SqliteApiKeyStore } = await load('drivers/local/sqlite-api-key-store.js');
const { newApiKey } = await load('tenancy/auth/api-keys.js');
const db = openDatabase(DATA_DIR);
const store = new SqliteApiKeyStore(db);
const tokens = [];
const now = Date.now();
db.exec('BEGIN IMMEDIATE');
for (let i = 0; i < Number(COUNT); i++) {
  const tenant = 'bench-' + String(i).padStart(5, '0');
  await store.createTenant(tenant, now);
  const { record, token } = newApiKey(tenant, 'bench-user', [], now);
  await store.createKey(record);
  tokens.push(token);
}
db.exec('COMMIT');
db.close();
writeFileSync(OUT, JSON.stringify(tokens));
`;

function createTenants(root: string, dataDir: string, count: number): string[] {
  const out = join(root, 'tokens.json');
  execFileSync(process.execPath, ['--input-type=module', '-e', SETUP_SCRIPT], {
    env: { PATH: process.env.PATH ?? '', DIST, DATA_DIR: dataDir, COUNT: String(count), OUT: out },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return JSON.parse(readFileSync(out, 'utf8')) as string[];
}

interface ServerChild {
  label: string;
  url: string;
  pid: number;
  stderr(): string;
  /** The exit code or signal once it has exited, else undefined. */
  exitedWith(): string | undefined;
  stop(): Promise<void>;
}

/** A server as a child under plain `node`; resolves with its /mcp URL once its stderr matches `ready`. */
async function startServer(label: string, args: string[], env: Record<string, string>, ready: RegExp, toUrl: (match: RegExpExecArray) => string): Promise<ServerChild> {
  const child: ChildProcess = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exit: string | undefined;
  const exited = new Promise<void>((done) => child.once('exit', (code, signal) => ((exit = signal ?? String(code)), done())));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${label} did not start: ${stderr}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const match = ready.exec(stderr);
      if (match) clearTimeout(timer), done(toUrl(match));
    });
    void exited.then(() => fail(new Error(`${label} exited with ${exit}: ${stderr}`)));
  });
  return {
    label,
    url,
    pid: child.pid!,
    stderr: () => stderr,
    exitedWith: () => exit,
    stop: async () => {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Target {
  server: ServerChild;
  /** One API key per tenant; none for the baseline. */
  tokens?: string[];
  tool: string;
  args(tenant: number): Record<string, unknown>;
  /** The next tenant a new session goes to, round robin. */
  cursor: number;
}

interface Connection {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

async function connect(target: Target, tenant: number): Promise<Connection> {
  const token = target.tokens?.[tenant];
  const transport = new StreamableHTTPClientTransport(new URL(target.server.url), token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {});
  const client = new Client({ name: 'agent-mesh-bench', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** Ends the session on the server (DELETE), as a client that is done with it does, then closes the client. */
async function disconnect(connection: Connection): Promise<void> {
  await connection.transport.terminateSession().catch(() => {});
  await connection.client.close().catch(() => {});
}

async function call(connection: Connection, tool: string, args: Record<string, unknown>): Promise<void> {
  const result = (await connection.client.callTool({ name: tool, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${tool} failed: ${JSON.stringify(result.structuredContent ?? result.content)}`);
}

interface BlockResult {
  calls: number;
  sessions: number;
  elapsedMs: number;
  latencies: number[];
  errors: string[];
  tenants: Set<number>;
  /** CPU time the server process and this (client) process used during the block. */
  serverCpuMs: number;
  clientCpuMs: number;
}

/**
 * CLIENTS workers for `ms`: each opens a session on the target's next tenant, makes up to SESSION_CALLS calls,
 * ends the session and moves on. Elapsed time runs from the start to the last call's answer.
 */
async function runBlock(target: Target, ms: number, callsPerSession = SESSION_CALLS): Promise<BlockResult> {
  const result: BlockResult = { calls: 0, sessions: 0, elapsedMs: 0, latencies: [], errors: [], tenants: new Set(), serverCpuMs: 0, clientCpuMs: 0 };
  const serverCpuBefore = cpuMs(target.server.pid);
  const clientCpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + ms;
  let lastAnswer = start;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && result.errors.length < MAX_ERRORS && target.server.exitedWith() === undefined) {
      const tenant = target.cursor;
      target.cursor = (target.cursor + 1) % TENANTS;
      let connection: Connection | undefined;
      try {
        connection = await connect(target, tenant);
        result.sessions++;
        result.tenants.add(tenant);
        for (let i = 0; i < callsPerSession && performance.now() < deadline; i++) {
          const before = performance.now();
          await call(connection, target.tool, target.args(tenant));
          lastAnswer = performance.now();
          result.latencies.push(lastAnswer - before);
          result.calls++;
        }
      } catch (error) {
        result.errors.push(`${tenantId(tenant)}: ${(error as Error).message}`);
      } finally {
        if (connection) await disconnect(connection);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  result.elapsedMs = lastAnswer - start;
  const serverCpuAfter = cpuMs(target.server.pid);
  result.serverCpuMs = serverCpuBefore !== undefined && serverCpuAfter !== undefined ? serverCpuAfter - serverCpuBefore : NaN;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  result.clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;
  return result;
}

/** Every tenant once, one call per session: seeds agent-mesh's KV key and warms both servers up alike. */
async function visitAllTenants(target: Target, tool: string, args: (tenant: number) => Record<string, unknown>): Promise<{ ms: number; errors: string[] }> {
  const errors: string[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < TENANTS && errors.length < MAX_ERRORS) {
      const tenant = next++;
      let connection: Connection | undefined;
      try {
        connection = await connect(target, tenant);
        await call(connection, tool, args(tenant));
      } catch (error) {
        errors.push(`${tenantId(tenant)}: ${(error as Error).message}`);
      } finally {
        if (connection) await disconnect(connection);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  return { ms: performance.now() - started, errors };
}

/** One session opened with raw HTTP and left open: initialize, notifications/initialized, one tools/call. */
async function openRawSession(url: string, token: string | undefined, tool: string, args: Record<string, unknown>): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  const post = (body: unknown, extra: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
  const init = await post({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'agent-mesh-bench', version: '1.0.0' } },
  });
  const initBody = await init.text();
  const sessionId = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !sessionId) throw new Error(`initialize: HTTP ${init.status} ${initBody.slice(0, 200)}`);
  const inSession = { 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
  const initialized = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, inSession);
  const initializedBody = await initialized.text();
  if (initialized.status !== 202) throw new Error(`notifications/initialized: HTTP ${initialized.status} ${initializedBody.slice(0, 200)}`);
  const called = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: tool, arguments: args } }, inSession);
  const calledBody = await called.text();
  if (called.status !== 200 || !calledBody.includes('"result"') || calledBody.includes('"isError":true')) {
    throw new Error(`tools/call ${tool}: HTTP ${called.status} ${calledBody.slice(0, 200)}`);
  }
}

interface MemoryResult {
  sessions: number;
  ms: number;
  errors: string[];
  rssBeforeKb: number | undefined;
  rssAfterKb: number | undefined;
  heapBeforeBytes: number | undefined;
  heapAfterBytes: number | undefined;
  openSessionsAfter: number | undefined;
}

function rssKb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms; undefined off Linux. */
function cpuMs(pid: number): number | undefined {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** A sample of agent-mesh's /metrics, read with a key holding admin:read (undefined for the baseline, which has none). */
async function metric(server: ServerChild, name: string, token: string | undefined): Promise<number | undefined> {
  try {
    const response = await fetch(new URL('/metrics', server.url), token ? { headers: { authorization: `Bearer ${token}` } } : {});
    if (!response.ok) return undefined;
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(await response.text());
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

const settle = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function measureMemory(server: ServerChild, tokens: string[] | undefined, tool: string, args: (tenant: number) => Record<string, unknown>): Promise<MemoryResult> {
  const heap = () => metric(server, 'agent_mesh_nodejs_heap_size_used_bytes', tokens?.[0]);
  await settle(1500);
  const heapBeforeBytes = await heap();
  const rssBeforeKb = rssKb(server.pid);
  const errors: string[] = [];
  let sessions = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < MEMORY_TENANTS && errors.length < MAX_ERRORS && server.exitedWith() === undefined) {
      const tenant = next++;
      try {
        await openRawSession(server.url, tokens?.[tenant], tool, args(tenant));
        sessions++;
      } catch (error) {
        errors.push(`${tenantId(tenant)}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  const ms = performance.now() - started;
  await settle(1500);
  return {
    sessions,
    ms,
    errors,
    rssBeforeKb,
    rssAfterKb: rssKb(server.pid),
    heapBeforeBytes,
    heapAfterBytes: await heap(),
    openSessionsAfter: await metric(server, 'agent_mesh_open_sessions', tokens?.[0]),
  };
}

type Side = BlockResult;

const emptySide = (): Side => ({ calls: 0, sessions: 0, elapsedMs: 0, latencies: [], errors: [], tenants: new Set(), serverCpuMs: 0, clientCpuMs: 0 });

function add(side: Side, block: BlockResult): void {
  side.calls += block.calls;
  side.sessions += block.sessions;
  side.elapsedMs += block.elapsedMs;
  side.serverCpuMs += block.serverCpuMs;
  side.clientCpuMs += block.clientCpuMs;
  for (const ms of block.latencies) side.latencies.push(ms);
  side.errors.push(...block.errors);
  for (const tenant of block.tenants) side.tenants.add(tenant);
}

interface Figures {
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time per call, sessions opened and ended included. */
  serverCpuUsPerCall: number;
  /** Server and client CPU use over the blocks' wall time, in % of one core. */
  serverCpuPercent: number;
  clientCpuPercent: number;
}

function figures(side: Side): Figures {
  const sorted = [...side.latencies].sort((a, b) => a - b);
  return {
    callsPerSecond: side.elapsedMs > 0 ? (side.calls * 1000) / side.elapsedMs : 0,
    p50Ms: sorted.length ? percentile(sorted, 0.5) : NaN,
    p99Ms: sorted.length ? percentile(sorted, 0.99) : NaN,
    serverCpuUsPerCall: side.calls > 0 ? (side.serverCpuMs * 1000) / side.calls : NaN,
    serverCpuPercent: (side.serverCpuMs * 100) / side.elapsedMs,
    clientCpuPercent: (side.clientCpuMs * 100) / side.elapsedMs,
  };
}

const perSessionKb = (m: MemoryResult): number | undefined =>
  m.rssBeforeKb !== undefined && m.rssAfterKb !== undefined && m.sessions > 0 ? (m.rssAfterKb - m.rssBeforeKb) / m.sessions : undefined;
const heapPerSessionKb = (m: MemoryResult): number | undefined =>
  m.heapBeforeBytes !== undefined && m.heapAfterBytes !== undefined && m.sessions > 0 ? (m.heapAfterBytes - m.heapBeforeBytes) / 1024 / m.sessions : undefined;
const show = (value: number | undefined, digits: number): string => (value === undefined || Number.isNaN(value) ? 'n/a' : fixed(value, digits));
const maybe = (value: number | undefined): number | null => (value === undefined || Number.isNaN(value) ? null : round3(value));

function reportErrors(label: string, errors: string[]): void {
  if (errors.length === 0) return;
  console.log(`${label}: ${errors.length} failed session(s); first: ${errors[0]}`);
  if (errors.length > 1) console.log(`${label}: last: ${errors[errors.length - 1]}`);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'agent-mesh-bench-http-'));
  const dataDir = join(root, 'data');
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify(BENCH_CONFIG));
  const servers: ServerChild[] = [];
  try {
    const tenantCount = Math.max(TENANTS, MEMORY_TENANTS);
    let started = performance.now();
    const tokens = createTenants(root, dataDir, tenantCount);
    process.stderr.write(`created ${tokens.length} tenants and keys in ${fixed((performance.now() - started) / 1000, 1)} s\n`);

    const baselineServer = await startServer('baseline', [ECHO_HTTP_ENTRY], { PORT: '0' }, /LISTENING (\d+)/, (m) => `http://127.0.0.1:${m[1]}/mcp`);
    servers.push(baselineServer);
    const meshServer = await startServer(
      'agent-mesh',
      [MESH_ENTRY, 'serve', '--port', '0'],
      { AGENT_MESH_DATA_DIR: dataDir, AGENT_MESH_CONFIG: config, LOG_LEVEL: 'warn' },
      /serving MCP at (\S+)/,
      (m) => m[1]!,
    );
    servers.push(meshServer);

    const baseline: Target = { server: baselineServer, tool: 'echo', args: () => ({ text: 'hello' }), cursor: 0 };
    const mesh: Target = { server: meshServer, tokens, tool: 'kv_get', args: () => ({ key: KV_KEY }), cursor: 0 };

    // Warm-up, and the KV key every tenant reads.
    const seeded = await visitAllTenants(mesh, 'kv_set', (tenant) => ({ key: KV_KEY, value: { tenant: tenantId(tenant), text: 'hello' } }));
    const warmed = await visitAllTenants(baseline, 'echo', () => ({ text: 'hello' }));
    process.stderr.write(
      `warm-up: ${TENANTS} sessions each (initialize, one call, DELETE): agent-mesh ${fixed((TENANTS * 1000) / seeded.ms, 0)}/s, baseline ${fixed((TENANTS * 1000) / warmed.ms, 0)}/s\n`,
    );

    await runBlock(baseline, WARMUP_BLOCK_MS);
    await runBlock(mesh, WARMUP_BLOCK_MS);

    const sides = { baseline: emptySide(), mesh: emptySide() };
    const roundRatios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const blocks = round % 2 === 1 ? (['baseline', 'mesh'] as const) : (['mesh', 'baseline'] as const);
      const results: Partial<Record<'baseline' | 'mesh', BlockResult>> = {};
      for (const which of blocks) {
        const block = await runBlock(which === 'mesh' ? mesh : baseline, BLOCK_MS);
        add(sides[which], block);
        results[which] = block;
      }
      const rate = (b: BlockResult | undefined) => (b && b.elapsedMs > 0 ? (b.calls * 1000) / b.elapsedMs : 0);
      const ratio = rate(results.mesh) / rate(results.baseline);
      roundRatios.push(ratio);
      process.stderr.write(
        `round ${round}/${ROUNDS} baseline ${fixed(rate(results.baseline), 0)} calls/s, agent-mesh ${fixed(rate(results.mesh), 0)} calls/s, ratio ${fixed(ratio, 3)}\n`,
      );
    }
    const base = figures(sides.baseline);
    const meshFigures = figures(sides.mesh);
    const ratio = meshFigures.callsPerSecond / base.callsPerSecond;
    const cpuRatio = base.serverCpuUsPerCall / meshFigures.serverCpuUsPerCall;

    // Memory: every throughput session was ended, so the sessions opened now are all that is open.
    const meshMemory = await measureMemory(meshServer, tokens, 'kv_set', (tenant) => ({ key: 'memory', value: { tenant: tenantId(tenant) } }));
    const baseMemory = await measureMemory(baselineServer, undefined, 'echo', () => ({ text: 'hello' }));
    const meshKb = perSessionKb(meshMemory);

    console.log(
      `\n${CLIENTS} concurrent SDK clients over Streamable HTTP, one call in flight each; agent-mesh: kv_get over ${TENANTS} tenants ` +
        `(one API key each), baseline: echo on the SDK's McpServer; a new session every ${SESSION_CALLS} calls; ` +
        `${ROUNDS} rounds of ${BLOCK_MS / 1000} s per server, alternating; node ${process.version}`,
    );
    console.log(
      `${''.padEnd(12)} ${'calls/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'calls'.padStart(8)} ${'sessions'.padStart(9)} ${'tenants'.padStart(8)} ${'errors'.padStart(7)} ` +
        `${'server CPU us/call'.padStart(19)} ${'server CPU %'.padStart(13)} ${'client CPU %'.padStart(13)}`,
    );
    for (const [name, side, f] of [['baseline', sides.baseline, base], ['agent-mesh', sides.mesh, meshFigures]] as const) {
      console.log(
        `${name.padEnd(12)} ${fixed(f.callsPerSecond, 0).padStart(9)} ${fixed(f.p50Ms, 2).padStart(8)} ${fixed(f.p99Ms, 2).padStart(8)} ` +
          `${String(side.calls).padStart(8)} ${String(side.sessions).padStart(9)} ${String(name === 'baseline' ? '-' : side.tenants.size).padStart(8)} ${String(side.errors.length).padStart(7)} ` +
          `${show(f.serverCpuUsPerCall, 0).padStart(19)} ${show(f.serverCpuPercent, 0).padStart(13)} ${show(f.clientCpuPercent, 0).padStart(13)}`,
      );
    }
    console.log(`(CPU % is of one core over the blocks' wall time; this machine has ${availableParallelism()} cores, shared by both servers and the clients)`);
    console.log(`\nagent-mesh calls/s / baseline calls/s = ${fixed(ratio, 3)} (rounds: ${roundRatios.map((r) => fixed(r, 3)).join(', ')})  target >= ${THROUGHPUT_TARGET}  ${ratio >= THROUGHPUT_TARGET ? 'PASS' : 'BELOW'}`);
    console.log(`baseline server CPU per call / agent-mesh server CPU per call = ${show(cpuRatio, 3)} (what the ratio would be with the server as the bottleneck)`);

    console.log(`\nmemory with sessions left open (raw HTTP: initialize, initialized, one call each; one tenant per agent-mesh session)`);
    console.log(`${''.padEnd(12)} ${'sessions'.padStart(9)} ${'open/s'.padStart(7)} ${'RSS before MB'.padStart(14)} ${'RSS after MB'.padStart(13)} ${'RSS KB/session'.padStart(15)} ${'heap KB/session'.padStart(16)}`);
    for (const [name, m] of [['agent-mesh', meshMemory], ['baseline', baseMemory]] as const) {
      const mb = (kb: number | undefined) => (kb === undefined ? undefined : kb / 1024);
      console.log(
        `${name.padEnd(12)} ${String(m.sessions).padStart(9)} ${fixed((m.sessions * 1000) / m.ms, 0).padStart(7)} ${show(mb(m.rssBeforeKb), 1).padStart(14)} ` +
          `${show(mb(m.rssAfterKb), 1).padStart(13)} ${show(perSessionKb(m), 1).padStart(15)} ${show(heapPerSessionKb(m), 1).padStart(16)}`,
      );
    }
    console.log(`agent-mesh open sessions after (from /metrics): ${show(meshMemory.openSessionsAfter, 0)}`);
    console.log(
      `\nagent-mesh RSS per tenant = ${show(meshKb, 1)} KB  target < ${MEMORY_TARGET_KB} KB  ${meshKb === undefined ? 'N/A' : meshKb < MEMORY_TARGET_KB ? 'PASS' : 'ABOVE'}`,
    );
    reportErrors('baseline throughput', sides.baseline.errors);
    reportErrors('agent-mesh throughput', sides.mesh.errors);
    reportErrors('agent-mesh warm-up', seeded.errors);
    reportErrors('baseline warm-up', warmed.errors);
    reportErrors('agent-mesh memory', meshMemory.errors);
    reportErrors('baseline memory', baseMemory.errors);
    for (const server of servers) {
      const exit = server.exitedWith();
      if (exit !== undefined) console.log(`${server.label} exited during the run (${exit}); stderr:\n${server.stderr()}`);
      else if (server.stderr().trim().split('\n').length > 1) console.log(`${server.label} stderr:\n${server.stderr().trim()}`);
    }

    const memoryJson = (m: MemoryResult) => ({
      sessions: m.sessions,
      errors: m.errors.length,
      rss_before_kb: m.rssBeforeKb ?? null,
      rss_after_kb: m.rssAfterKb ?? null,
      rss_kb_per_session: maybe(perSessionKb(m)),
      heap_kb_per_session: maybe(heapPerSessionKb(m)),
    });
    console.log(
      `BENCH_JSON ${JSON.stringify({
        clients: CLIENTS,
        tenants: TENANTS,
        rounds: ROUNDS,
        block_ms: BLOCK_MS,
        session_calls: SESSION_CALLS,
        node: process.version,
        baseline: {
          calls_per_s: Math.round(base.callsPerSecond),
          p50_ms: round3(base.p50Ms),
          p99_ms: round3(base.p99Ms),
          calls: sides.baseline.calls,
          errors: sides.baseline.errors.length,
          server_cpu_us_per_call: maybe(base.serverCpuUsPerCall),
          server_cpu_percent: maybe(base.serverCpuPercent),
          client_cpu_percent: maybe(base.clientCpuPercent),
        },
        mesh: {
          calls_per_s: Math.round(meshFigures.callsPerSecond),
          p50_ms: round3(meshFigures.p50Ms),
          p99_ms: round3(meshFigures.p99Ms),
          calls: sides.mesh.calls,
          tenants_used: sides.mesh.tenants.size,
          errors: sides.mesh.errors.length,
          server_cpu_us_per_call: maybe(meshFigures.serverCpuUsPerCall),
          server_cpu_percent: maybe(meshFigures.serverCpuPercent),
          client_cpu_percent: maybe(meshFigures.clientCpuPercent),
        },
        ratio: round3(ratio),
        round_ratios: roundRatios.map(round3),
        server_cpu_ratio: maybe(cpuRatio),
        target: THROUGHPUT_TARGET,
        pass: ratio >= THROUGHPUT_TARGET,
        memory: {
          tenants: MEMORY_TENANTS,
          mesh: { ...memoryJson(meshMemory), open_sessions_after: meshMemory.openSessionsAfter ?? null },
          baseline: memoryJson(baseMemory),
          target_kb: MEMORY_TARGET_KB,
          pass: meshKb !== undefined && meshKb < MEMORY_TARGET_KB,
        },
      })}`,
    );
  } finally {
    for (const server of servers) await server.stop().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}

runMain(main);
