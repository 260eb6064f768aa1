/**
 * Crash durability, end to end: concurrent kv_set and artifacts_put against a real server process, which is
 * killed with SIGKILL while many writes are in flight; then a new server on the same data folder must return
 * every acknowledged write intact, never a torn or foreign one, and the folder must hold no leftovers.
 * The kill is repeated several times on one folder, at different points, so crashes pile up.
 *
 * Every key is written once, and its value / artifact body is derived from the key alone, so whatever a
 * read returns can be checked without knowing whether its write was acknowledged.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, structured, lazyTempDir, writeConfig, type ServerHandle } from '../helpers/server-process.js';

const TENANT = 'durable';
const KV_IN_FLIGHT = 20;
const ARTIFACTS_IN_FLIGHT = 20;
const KIB = 1024;
const MIB = 1024 * 1024;

const SEED = process.env.DURABILITY_SEED ? Number.parseInt(process.env.DURABILITY_SEED, 10) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`[durability] seed=${SEED} (replay with DURABILITY_SEED=${SEED})`);

// ---------------------------------------------------------------------------------------------------------
// Content derived from the key
// ---------------------------------------------------------------------------------------------------------

function keySeed(key: string): number {
  return createHash('sha256').update(`${SEED}:${key}`).digest().readUInt32LE(0);
}

function* words(seed: number): Generator<number> {
  let state = seed >>> 0 || 1;
  for (;;) {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    yield state;
  }
}

/** 1 KiB - 1 MiB, mostly small: 60% up to 64 KiB, the rest up to 1 MiB. Never a multiple of 4 on purpose. */
function artifactSize(key: string): number {
  const h = keySeed(`size:${key}`);
  const small = h % 10 < 6;
  const span = small ? 64 * KIB - KIB : MIB - KIB;
  return KIB + (Math.floor(h / 10) % span) | 1;
}

function artifactBody(key: string): Buffer {
  const size = artifactSize(key);
  const body = Buffer.allocUnsafe(size);
  const gen = words(keySeed(key));
  let offset = 0;
  for (; offset + 4 <= size; offset += 4) body.writeUInt32LE(gen.next().value as number, offset);
  for (; offset < size; offset++) body[offset] = (gen.next().value as number) & 0xff;
  // the key itself up front, so a body swapped between keys is obvious in a hexdump
  Buffer.from(key, 'utf8').copy(body, 0, 0, Math.min(size, Buffer.byteLength(key)));
  return body;
}

const sha256 = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

function kvValue(key: string): unknown {
  const h = keySeed(`value:${key}`);
  return { key, h, pad: 'v'.repeat(h % 3000), list: [h % 7, 'ü', null, true] };
}

// ---------------------------------------------------------------------------------------------------------
// Bookkeeping
// ---------------------------------------------------------------------------------------------------------

interface Ledger {
  /** Acknowledged: the response came back without isError. These must survive. */
  kvAcked: Set<string>;
  artAcked: Set<string>;
  /** Sent but not acknowledged (in flight at the kill): may be present or absent, but never wrong. */
  kvMaybe: Set<string>;
  artMaybe: Set<string>;
}

async function inBatches<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface KillPlan {
  label: string;
  /** Kill once this returns true, checked after every acknowledgement (and every 5 ms by a timer). */
  when(state: { acked: number; kvAcked: number; artAcked: number; elapsedMs: number }): boolean;
}

// Different kill points: after 150 acks (the brief's default), at the very first ack (the new server is
// probably still sweeping the previous crash's leftovers), once many big artifacts have landed, late, and
// on a timer unrelated to acknowledgements.
const ROUNDS: KillPlan[] = [
  { label: 'after 150 acknowledged writes', when: (s) => s.acked >= 150 },
  { label: 'at the first acknowledged write', when: (s) => s.acked >= 1 },
  { label: 'after 40 acknowledged artifacts', when: (s) => s.artAcked >= 40 },
  { label: 'after 500 acknowledged writes', when: (s) => s.acked >= 500 },
  { label: `on a timer (${40 + (SEED % 400)} ms after the first write)`, when: (s) => s.elapsedMs >= 40 + (SEED % 400) },
];

describe(`durability across kill -9 (seed ${SEED})`, () => {
  const data = lazyTempDir('agent-mesh-durability');
  const configDir = lazyTempDir('agent-mesh-durability-config');
  let config = '';
  const ledger: Ledger = { kvAcked: new Set(), artAcked: new Set(), kvMaybe: new Set(), artMaybe: new Set() };
  const open: ServerHandle[] = [];

  beforeAll(() => {
    config = writeConfig(configDir.dir, {
      defaults: {
        rateLimits: {
          dynamodb: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
          s3: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
        },
      },
    });
  });

  afterAll(async () => {
    await Promise.allSettled(open.map((s) => s.close()));
    data.cleanup();
    configDir.cleanup();
  });

  async function start(): Promise<ServerHandle> {
    const server = await startServer({ AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_TENANT_ID: TENANT, AGENT_MESH_CONFIG: config });
    open.push(server);
    return server;
  }

  /** Reads back every key ever sent: acknowledged ones must be intact; the others absent or intact. */
  async function verifyEverything(server: ServerHandle): Promise<{ maybePresent: number }> {
    const problems: string[] = [];
    let maybePresent = 0;
    const kvKeys = [...ledger.kvAcked, ...ledger.kvMaybe];
    await inBatches(kvKeys, 50, async (key) => {
      const acked = ledger.kvAcked.has(key);
      const result = await server.call('kv_get', { key });
      if (result.isError) {
        const code = structured(result).error?.code;
        if (acked || code !== 'not_found') problems.push(`kv ${key} (${acked ? 'acknowledged' : 'unacknowledged'}): ${JSON.stringify(structured(result).error)}`);
        return;
      }
      if (!acked) maybePresent++;
      const s = structured(result);
      try {
        expect(s.value).toEqual(kvValue(key));
        expect(s.version).toBe(1);
      } catch {
        problems.push(`kv ${key}: wrong value or version: ${JSON.stringify(s).slice(0, 200)}`);
      }
    });
    const artKeys = [...ledger.artAcked, ...ledger.artMaybe];
    await inBatches(artKeys, 10, async (key) => {
      const acked = ledger.artAcked.has(key);
      const result = await server.call('artifacts_get', { key });
      if (result.isError) {
        const code = structured(result).error?.code;
        if (acked || code !== 'not_found') problems.push(`artifact ${key} (${acked ? 'acknowledged' : 'unacknowledged'}): ${JSON.stringify(structured(result).error)}`);
        return;
      }
      if (!acked) maybePresent++;
      const s = structured(result) as { content_base64?: string; content?: string; sha256?: string; size?: number; version?: number };
      const expected = artifactBody(key);
      const body = s.content_base64 !== undefined ? Buffer.from(s.content_base64, 'base64') : Buffer.from(s.content ?? '', 'utf8');
      if (!body.equals(expected)) problems.push(`artifact ${key}: content differs (got ${body.length} bytes, expected ${expected.length})`);
      if (s.sha256 !== sha256(expected)) problems.push(`artifact ${key}: sha256 ${s.sha256}, expected ${sha256(expected)}`);
      if (s.size !== expected.length) problems.push(`artifact ${key}: size ${s.size}, expected ${expected.length}`);
      if (s.version !== 1) problems.push(`artifact ${key}: version ${s.version}, expected 1`);
    });
    expect(problems.length, `${problems.length} problem(s) reading back (seed ${SEED}):\n${problems.slice(0, 25).join('\n')}`).toBe(0);

    // Listings agree: nothing listed that was never sent, every acknowledged key listed.
    for (const [tool, field, acked, maybe] of [
      ['kv_list', 'keys', ledger.kvAcked, ledger.kvMaybe],
      ['artifacts_list', 'artifacts', ledger.artAcked, ledger.artMaybe],
    ] as const) {
      const listed = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = structured(await server.call(tool, { limit: 1000, ...(cursor && { cursor }) })) as Record<string, unknown>;
        expect(page.error, `${tool} failed`).toBeUndefined();
        for (const item of page[field] as { key: string }[]) listed.add(item.key);
        cursor = (page.next_cursor as string | null) ?? undefined;
      } while (cursor);
      const unknown = [...listed].filter((k) => !acked.has(k) && !maybe.has(k));
      const missing = [...acked].filter((k) => !listed.has(k));
      expect(unknown, `${tool} lists keys never written`).toEqual([]);
      expect(missing, `${tool} misses acknowledged keys`).toEqual([]);
    }
    return { maybePresent };
  }

  /** The data folder on disk: rows point to complete files, and (once the sweep ran) nothing else is there. */
  async function verifyDisk(): Promise<{ waitedMs: number }> {
    const live = new Set(plantedLive.map((p) => p.split('/').pop()!));
    const artifactsRoot = join(data.dir, 'artifacts');
    const tenantDir = join(artifactsRoot, TENANT);
    const tmpDir = join(artifactsRoot, '.tmp');
    const db = new Database(join(data.dir, 'agent-mesh.db'), { readonly: true, fileMustExist: true });
    try {
      const rows = () => db.prepare('SELECT tenant, key, file, size, sha256 FROM artifacts').all() as { tenant: string; key: string; file: string; size: number; sha256: string }[];
      const leftovers = () => {
        const referenced = new Set(rows().map((r) => r.file));
        const tmp = existsSync(tmpDir) ? readdirSync(tmpDir).filter((f) => !live.has(f)) : [];
        const unreferenced = existsSync(tenantDir) ? readdirSync(tenantDir).filter((f) => !referenced.has(f) && !live.has(f)) : [];
        return { tmp, unreferenced };
      };
      // The sweep runs in the background at start-up: give it a moment.
      const started = performance.now();
      let left = leftovers();
      while ((left.tmp.length > 0 || left.unreferenced.length > 0) && performance.now() - started < 10_000) {
        await sleep(50);
        left = leftovers();
      }
      const waitedMs = Math.round(performance.now() - started);
      expect(left.tmp, 'temp files left in artifacts/.tmp after the sweep').toEqual([]);
      expect(left.unreferenced, `files in artifacts/${TENANT}/ that no row points to, after the sweep`).toEqual([]);
      // Files named for a live process are its work in progress: the sweep must leave them alone.
      for (const path of plantedLive.splice(0)) {
        expect(existsSync(path), `${path} (named for a live writer) was removed by the sweep`).toBe(true);
        unlinkSync(path);
      }

      const all = rows();
      const problems: string[] = [];
      for (const row of all) {
        if (row.tenant !== TENANT) problems.push(`row of unexpected tenant ${row.tenant}`);
        const path = join(artifactsRoot, row.tenant, row.file);
        if (!existsSync(path)) {
          problems.push(`${row.key}: file ${row.file} missing`);
          continue;
        }
        const size = statSync(path).size;
        if (size !== row.size) problems.push(`${row.key}: file is ${size} bytes, row says ${row.size}`);
        const digest = sha256(readFileSync(path));
        if (digest !== row.sha256) problems.push(`${row.key}: file sha256 ${digest}, row says ${row.sha256}`);
        if (row.sha256 !== sha256(artifactBody(row.key))) problems.push(`${row.key}: row sha256 is not the sha256 of the body written under that key`);
      }
      expect(problems, `on-disk problems (seed ${SEED})`).toEqual([]);
      expect(new Set(all.map((r) => r.file)).size, 'two rows share one file').toBe(all.length);

      // The usage counters move in the same transactions as the rows.
      const usage = db.prepare('SELECT kv_keys, artifact_bytes FROM tenant_usage WHERE tenant = ?').get(TENANT) as { kv_keys: number; artifact_bytes: number } | undefined;
      const kvRows = db.prepare('SELECT COUNT(*) FROM kv WHERE tenant = ?').pluck().get(TENANT) as number;
      expect(usage?.kv_keys ?? 0, 'tenant_usage.kv_keys').toBe(kvRows);
      expect(usage?.artifact_bytes ?? 0, 'tenant_usage.artifact_bytes').toBe(all.reduce((sum, r) => sum + r.size, 0));
      expect(db.pragma('quick_check', { simple: true })).toBe('ok');
      return { waitedMs };
    } finally {
      db.close();
    }
  }

  /** Fires concurrent writes until the plan says kill, then SIGKILLs the server mid-flight. */
  async function writeAndKill(server: ServerHandle, round: number, plan: KillPlan) {
    let kvNext = 0;
    let artNext = 0;
    let acked = 0;
    let kvAcked = 0;
    let artAcked = 0;
    let inFlight = 0;
    let inFlightAtKill = -1;
    let killed = false;
    let firstWriteAt = 0;
    const failures: string[] = [];
    const closed = new Promise<void>((resolve) => {
      const previous = server.client.onclose;
      server.client.onclose = () => {
        previous?.();
        resolve();
      };
    });

    const kill = (): void => {
      if (killed) return;
      killed = true;
      inFlightAtKill = inFlight;
      process.kill(server.pid, 'SIGKILL');
    };
    const check = (): void => {
      if (!killed && firstWriteAt > 0 && plan.when({ acked, kvAcked, artAcked, elapsedMs: performance.now() - firstWriteAt })) kill();
    };
    const timer = setInterval(check, 5);

    const writer = async (kind: 'kv' | 'art'): Promise<void> => {
      while (!killed) {
        const key = kind === 'kv' ? `r${round}/kv/${String(kvNext++).padStart(5, '0')}` : `r${round}/art/${String(artNext++).padStart(4, '0')}.bin`;
        (kind === 'kv' ? ledger.kvMaybe : ledger.artMaybe).add(key);
        if (firstWriteAt === 0) firstWriteAt = performance.now();
        inFlight++;
        try {
          const result =
            kind === 'kv'
              ? await server.call('kv_set', { key, value: kvValue(key) })
              : await server.call('artifacts_put', { key, content_base64: artifactBody(key).toString('base64'), content_type: 'application/octet-stream' });
          if (result.isError) {
            failures.push(`${key}: ${JSON.stringify(structured(result).error)}`);
            continue;
          }
          // Acknowledged.
          if (kind === 'kv') {
            ledger.kvMaybe.delete(key);
            ledger.kvAcked.add(key);
            kvAcked++;
          } else {
            ledger.artMaybe.delete(key);
            ledger.artAcked.add(key);
            artAcked++;
          }
          acked++;
          check();
        } catch {
          // The connection died under this request: not acknowledged.
          if (!killed) failures.push(`${key}: request failed before the kill`);
          return;
        } finally {
          inFlight--;
        }
      }
    };

    const writers = [
      ...Array.from({ length: KV_IN_FLIGHT }, () => writer('kv')),
      ...Array.from({ length: ARTIFACTS_IN_FLIGHT }, () => writer('art')),
    ];
    // Safety net: never run a round longer than 20 s.
    const watchdog = setTimeout(kill, 20_000);
    await Promise.all(writers);
    clearInterval(timer);
    clearTimeout(watchdog);
    await closed;
    await server.close();
    expect(failures, 'writes refused or failed before the kill').toEqual([]);
    return { acked, kvAcked, artAcked, inFlightAtKill, sent: { kv: kvNext, art: artNext } };
  }

  /** What the killed server left behind, before any restart sweeps it (to show the sweep has work to do). */
  function leftoversAfterKill(): { tmp: number; unreferenced: number } {
    const artifactsRoot = join(data.dir, 'artifacts');
    const tmpDir = join(artifactsRoot, '.tmp');
    const tenantDir = join(artifactsRoot, TENANT);
    const db = new Database(join(data.dir, 'agent-mesh.db'), { readonly: true, fileMustExist: true });
    try {
      const referenced = new Set(db.prepare('SELECT file FROM artifacts').pluck().all() as string[]);
      return {
        tmp: existsSync(tmpDir) ? readdirSync(tmpDir).length : 0,
        unreferenced: existsSync(tenantDir) ? readdirSync(tenantDir).filter((f) => !referenced.has(f)).length : 0,
      };
    } finally {
      db.close();
    }
  }
  const leftoverTotals = { tmp: 0, unreferenced: 0 };
  const plantedLive: string[] = [];

  /**
   * Leftovers of a crash do not appear every time (it depends on where the kill lands), so plant some too:
   * a temp file and an unreferenced body named for the dead server (to be swept), and the same named for a
   * live process, this test's own (to be kept).
   */
  function plantLeftovers(deadPid: number, round: number): void {
    const tmpDir = join(data.dir, 'artifacts', '.tmp');
    const tenantDir = join(data.dir, 'artifacts', TENANT);
    mkdirSync(tmpDir, { recursive: true });
    mkdirSync(tenantDir, { recursive: true });
    writeFileSync(join(tmpDir, `${deadPid}-planted${round}-0123456789abcdef.tmp`), 'half a body');
    writeFileSync(join(tenantDir, `${deadPid}-planted${round}-0123456789abcdef.bin`), 'renamed, never committed');
    for (const path of [join(tmpDir, `${process.pid}-live${round}-0123456789abcdef.tmp`), join(tenantDir, `${process.pid}-live${round}-0123456789abcdef.bin`)]) {
      writeFileSync(path, 'a live writer is still working on this');
      plantedLive.push(path);
    }
  }

  ROUNDS.forEach((plan, round) => {
    it(`round ${round + 1}: SIGKILL ${plan.label}; a restarted server has every acknowledged write`, async () => {
      const started = performance.now();
      const server = await start();
      if (round > 0) {
        // Verify the previous round's crash (and all earlier ones) before crashing again.
        const { maybePresent } = await verifyEverything(server);
        const { waitedMs } = await verifyDisk();
        console.log(`[durability] round ${round + 1}: restart verified (${maybePresent} unacknowledged writes were present and intact; sweep done within ${waitedMs} ms)`);
      }
      const outcome = await writeAndKill(server, round, plan);
      const left = leftoversAfterKill();
      leftoverTotals.tmp += left.tmp;
      leftoverTotals.unreferenced += left.unreferenced;
      plantLeftovers(server.pid, round);
      console.log(
        `[durability] round ${round + 1} (${plan.label}): ${outcome.acked} acknowledged (${outcome.kvAcked} kv, ${outcome.artAcked} artifacts), ` +
          `${outcome.inFlightAtKill} in flight at the kill, sent ${outcome.sent.kv} kv / ${outcome.sent.art} artifacts; ` +
          `left ${left.tmp} temp + ${left.unreferenced} unreferenced files; ${(performance.now() - started).toFixed(0)} ms`,
      );
      expect(outcome.inFlightAtKill, 'the kill should land while writes are in flight').toBeGreaterThan(0);
    });
  });

  it('final restart: every acknowledged write of every round is intact, rows match files, and no leftovers remain', async () => {
    const server = await start();
    const { maybePresent } = await verifyEverything(server);
    const { waitedMs } = await verifyDisk();
    console.log(
      `[durability] final: ${ledger.kvAcked.size} kv + ${ledger.artAcked.size} artifacts acknowledged in all, ` +
        `${ledger.kvMaybe.size + ledger.artMaybe.size} unacknowledged of which ${maybePresent} present and intact; ` +
        `the kills left ${leftoverTotals.tmp} temp + ${leftoverTotals.unreferenced} unreferenced files in all; sweep done within ${waitedMs} ms`,
    );
    expect(ledger.kvAcked.size + ledger.artAcked.size).toBeGreaterThan(150);
    expect(ledger.artAcked.size).toBeGreaterThan(10);
    // A normal shutdown afterwards leaves the same clean state.
    await server.close();
    const again = await start();
    try {
      await verifyDisk();
      const dataEntries = readdirSync(data.dir).filter((name) => !/^agent-mesh\.db(-wal|-shm)?$/.test(name));
      expect(dataEntries).toEqual(['artifacts']);
    } finally {
      await again.close();
    }
  });
});
