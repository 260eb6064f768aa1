import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { readFileSync } from 'node:fs';
const [entry, op, n = '10000'] = process.argv.slice(2);
const env = { ...process.env, AGENT_MESH_DATA_DIR: '/tmp/prof/data', LOG_LEVEL: 'warn', AGENT_MESH_CONFIG: '/tmp/prof/cfg.json' };
const t = new StdioClientTransport({ command: process.execPath, args: ['--import', '/tmp/prof/latency-hook5.mjs', entry], env, stderr: 'inherit' });
const c = new Client({ name: 'b', version: '1' }); await c.connect(t); await c.listTools();
const ops = {
  echo: () => ({ name: 'echo', arguments: { text: 'hello' } }),
  kv_get: () => ({ name: 'kv_get', arguments: { key: 'bench/get' } }),
  kv_set: (i) => ({ name: 'kv_set', arguments: { key: `bench/set-${i % 100}`, value: { n: i, note: 'bench', tags: ['a', 'b'] } } }),
};
const pid = t.pid;
const t0 = performance.now();
for (let i = 0; i < +n; i++) await c.callTool(ops[op](i));
const wall = (performance.now() - t0) * 1000 / +n;
await c.close(); await new Promise((r) => setTimeout(r, 500));
console.log(op.padEnd(8), `wall ${wall.toFixed(0)} us/call  server in→out`, readFileSync(`/tmp/prof/latency-${pid}.txt`, 'utf8').trim());
