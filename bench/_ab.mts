import { mkdtempSync, writeFileSync } from 'node:fs';
import { MESH_ENTRY, UNLIMITED, startChild, type Child } from './lib/stdio-child.js';
import { summarize } from './lib/stats.js';
const dir = mkdtempSync('/tmp/prof/ab-');
writeFileSync(dir + '/c.json', JSON.stringify({ defaults: { rateLimits: { dynamodb: UNLIMITED } } }));
const E = new URL('./_echo-variants.mjs', import.meta.url).pathname;
const servers: [string, Child, string, Record<string, unknown>][] = [
  ['plain', await startChild('plain', E, { MODE: 'plain' }), 'echo', { text: 'hello' }],
  ['structured-full', await startChild('full', E, { MODE: 'full' }), 'echo', { text: 'bench/get' }],
  ['structured-short', await startChild('short', E, { MODE: 'short' }), 'echo', { text: 'bench/get' }],
  ['mesh kv_get', await startChild('mesh', MESH_ENTRY, { AGENT_MESH_DATA_DIR: dir, AGENT_MESH_CONFIG: dir + '/c.json', LOG_LEVEL: 'warn' }), 'kv_get', { key: 'bench/get' }],
];
await servers[3]![1].call('kv_set', { key: 'bench/get', value: { hello: 'world', n: 1 } });
const lat = servers.map(() => [] as number[]);
for (let i = 0; i < 5000; i++) for (const [k, [, c, tool, args]] of servers.entries()) { const t = performance.now(); await c.call(tool, args); if (i >= 500) lat[k]!.push(performance.now() - t); }
servers.forEach(([n], k) => { const s = summarize(lat[k]!); console.log(n.padEnd(18), Math.round(s.callsPerSecond), 'calls/s p50', (s.p50Ms * 1000).toFixed(0), 'us'); });
for (const [, c] of servers) await c.close();
