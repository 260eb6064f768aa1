/**
 * Tenant isolation, end to end: two server processes for tenants `alpha` and `beta` share ONE store and
 * hammer overlapping, adversarial keys at the same time: once on one data folder (one SQLite database, one
 * artifacts tree), once on the AWS backend (one DynamoDB table on dynalite, one S3 bucket on fauxqs).
 *
 * The keys are randomized from a seeded PRNG; the seed is printed and is part of the suite name. To replay a
 * failing run: ISOLATION_SEED=<seed> npx vitest run test/e2e/isolation.test.ts
 *
 * Whether a key should be accepted is decided by an oracle written here from the documented rules (1-512
 * UTF-8 bytes after NFC, no control characters, no leading "/", no "\", no "." or ".." segment, no
 * unpaired surrogates, no Unicode noncharacters), not by calling the server's own validator.
 */
import Database from 'better-sqlite3';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, structured, lazyTempDir, writeConfig, type ServerHandle, type Structured } from '../helpers/server-process.js';
import { Rng } from '../helpers/random.js';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startAwsEnvironment, type AwsEnvironment } from '../helpers/aws-environment.js';

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------------------

const SEED = process.env.ISOLATION_SEED ? Number.parseInt(process.env.ISOLATION_SEED, 10) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`[isolation] seed=${SEED} (replay with ISOLATION_SEED=${SEED})`);


// ---------------------------------------------------------------------------------------------------------
// The key oracle (independent of src/)
// ---------------------------------------------------------------------------------------------------------

const MAX_KEY_BYTES = 512;
const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function isNoncharacter(cp: number): boolean {
  return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

/** Why the documented key rules refuse `raw`, or undefined if it is a valid key. */
function keyProblem(raw: string): string | undefined {
  if (raw.length === 0) return 'empty';
  if (!raw.isWellFormed()) return 'unpaired surrogate';
  const key = raw.normalize('NFC');
  if (/\p{Cc}/u.test(key)) return 'control character';
  for (const ch of key) if (isNoncharacter(ch.codePointAt(0)!)) return 'noncharacter';
  if (utf8Bytes(key) > MAX_KEY_BYTES) return 'too long';
  if (key.startsWith('/')) return 'leading slash';
  if (key.includes('\\')) return 'backslash';
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) return 'dot segment';
  return undefined;
}

/** SQLite and the docs order keys by UTF-8 bytes (= code point order), not JS UTF-16 order. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

// ---------------------------------------------------------------------------------------------------------
// Key generation
// ---------------------------------------------------------------------------------------------------------

const TENANT_SEPARATORS = ['alpha/', 'beta/', 'alpha#', 'beta#', 'tenant#beta#', 'tenant#alpha#', 'alpha:', 'beta:', '%2e%2e', '%2E%2E', 'beta%2F', 'alpha\u241F', 'alpha.beta', 'default#'];

const FRAGMENTS: Record<string, readonly string[]> = {
  cjk: ['数据', '東京', '한국어', '漢字', 'ｶﾀｶﾅ', '中文/路径', '鍵', '𠀋', '𩸽'],
  emoji: ['🚀', '👩\u200d💻', '🇯🇵', '❤\ufe0f', '🏳\ufe0f\u200d🌈', '😀', '🧪', '👍🏽'],
  // NFC/NFD pairs and normalization oddities (each is turned into a random form when used)
  combining: [
    'e\u0301', // é decomposed
    '\u00e9', // é composed
    'A\u030a', // Å decomposed
    '\u212b', // ANGSTROM SIGN -> U+00C5 under NFC
    '\u2126', // OHM SIGN -> U+03A9
    'n\u0303o',
    'a\u0328\u0301', // two marks
    'q\u0307\u0323', // marks in non-canonical order -> reordered
    '\u1100\u1161', // Hangul jamo -> U+AC00
    '\u0958', // composition exclusion: NFC expands 3 -> 6 bytes
    '\ufa6c', // CJK compatibility ideograph -> U+242EE (3 -> 4 bytes)
    'Cafe\u0301',
  ],
  rtl: ['שלום', 'مرحبا', '\u202eevil\u202c', 'abc\u200fdef', 'עברית/ערבית', '\u0627\u0644\u0633\u0644\u0627\u0645'],
  dots: ['a..b', '..x', 'x..', '...', '....', '.hidden', 'a.', '\u2024\u2024', '.%2e', '%2e', '..\u0301', '.\u200b.'],
  specials: ['#', '%', '%00', '%2F', '?', '*', ' ', 'a b', '\u00a0', '\u200b', '∕', '／', '\u2215..\u2215', ':', '~', '$', '\'"', '{}', '[]', '&amp;', '+', '='],
  separators: TENANT_SEPARATORS,
};

function asciiWord(rng: Rng): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789_-';
  let out = '';
  for (let i = rng.range(1, 10); i > 0; i--) out += alphabet[rng.int(alphabet.length)];
  return out;
}

function randomCodePoint(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return String.fromCodePoint(rng.range(0x4e00, 0x9fff)); // CJK
    case 1:
      return String.fromCodePoint(rng.range(0x1f300, 0x1f64f)); // emoji
    case 2:
      return String.fromCodePoint(rng.range(0x05d0, 0x05ea)); // Hebrew
    case 3:
      return String.fromCodePoint(rng.range(0x00c0, 0x00ff)); // Latin-1 letters (some NFC-composed)
    default:
      return String.fromCodePoint(rng.range(0x20000, 0x2a6df)); // CJK extension B
  }
}

function segment(rng: Rng): string {
  let out = '';
  for (let i = rng.range(1, 3); i > 0; i--) {
    const roll = rng.int(10);
    if (roll < 3) out += asciiWord(rng);
    else if (roll < 4) out += randomCodePoint(rng) + randomCodePoint(rng);
    else out += rng.pick(FRAGMENTS[rng.pick(Object.keys(FRAGMENTS))]!);
  }
  return out;
}

function randomKey(rng: Rng): string {
  const parts: string[] = [];
  for (let i = rng.range(1, 5); i > 0; i--) parts.push(segment(rng));
  let key = parts.join('/');
  if (rng.chance(0.08)) key = rng.pick(TENANT_SEPARATORS) + key; // a driver's tenant prefix, spelled into the key
  if (rng.chance(0.05)) key += '/'; // trailing empty segment
  if (rng.chance(0.05)) key = key.replace('/', '//'); // empty segment in the middle
  return key;
}

/** A key of exactly `bytes` UTF-8 bytes (as written; NFC may change it). */
function keyOfBytes(rng: Rng, bytes: number): string {
  let key = rng.pick(['long/', 'alpha/', 'beta#', '长/', 'k']);
  while (utf8Bytes(key) < bytes) {
    const left = bytes - utf8Bytes(key);
    const ch = left >= 4 ? rng.pick([randomCodePoint(rng), 'x', '\u00e9', '/', '#', '\u00b7']) : 'z';
    if (utf8Bytes(key + ch) <= bytes) key += ch;
  }
  return key;
}

/** Ways to spell the same key: the server stores NFC, so NFD (and mixed) spellings must reach the same entry. */
function spellings(nfc: string, raw: string): string[] {
  return [...new Set([nfc, nfc.normalize('NFD'), raw])];
}

function invalidKeys(rng: Rng, valid: readonly string[]): string[] {
  const fixed = [
    '',
    '.',
    '..',
    './',
    '../',
    '../beta/',
    '../beta/x',
    '../alpha/x',
    'alpha/../beta/x',
    'a/../../b',
    'a/./b',
    'a/..',
    './/a',
    '/alpha/x',
    '/beta#x',
    '/',
    'a\\b',
    '..\\beta',
    '\\',
    'beta\\x',
    '\u0000',
    'x\u0000y',
    'alpha\u0000beta',
    'tenant#beta#\u0000',
    '\u0001',
    '\u001f',
    '\u007f',
    '\u0085',
    '\u009f',
    '\n',
    'a\r\nb',
    'tab\there',
    '\ud800',
    'a\udfffb',
    '\ud83d',
    '\ufdd0',
    '\ufdef',
    '\ufffe',
    '\uffff',
    '\u{1fffe}',
    '\u{10ffff}',
    'beta/\u{10ffff}',
    '.\u0301/../x', // NFC leaves ".́" (not "."), but the ".." segment stays
    'x'.repeat(513),
    '数'.repeat(171), // 513 bytes
    '\u0958'.repeat(86), // 258 bytes as written, 516 after NFC
    '\ufa6c'.repeat(129), // 387 bytes as written, 516 after NFC
  ];
  const mutated: string[] = [];
  for (let i = 0; i < 110; i++) {
    const base = rng.pick(valid);
    const points = Array.from(base);
    const at = rng.int(points.length + 1);
    const insert = (s: string): string => [...points.slice(0, at), s, ...points.slice(at)].join('');
    switch (rng.int(8)) {
      case 0:
        mutated.push(insert(String.fromCharCode(rng.pick([0, 1, 7, 8, 9, 10, 13, 27, 31, 127, 0x80, 0x85, 0x9f]))));
        break;
      case 1:
        mutated.push('/' + base);
        break;
      case 2:
        mutated.push(insert('\\'));
        break;
      case 3:
        mutated.push(`${base}/${rng.pick(['.', '..'])}/${asciiWord(rng)}`);
        break;
      case 4:
        mutated.push(`${rng.pick(['..', '.'])}/${base}`);
        break;
      case 5:
        mutated.push(insert(rng.pick(['\ud800', '\udc00', '\ufdd5', '\ufffe', '\u{2ffff}', '\u{10fffe}'])));
        break;
      case 6:
        mutated.push(keyOfBytes(rng, rng.range(513, 600)));
        break;
      default:
        mutated.push(base + '/' + 'ü'.repeat(260)); // ü is 2 bytes: always over 512
    }
  }
  return [...new Set([...fixed, ...mutated])].filter((k) => keyProblem(k) !== undefined);
}

interface PoolKey {
  nfc: string;
  forms: string[];
}

function buildPool(rng: Rng): { valid: PoolKey[]; invalid: string[] } {
  const raws: string[] = [];
  for (let i = 0; i < 1400; i++) raws.push(randomKey(rng));
  // near and at the limit, counted after NFC
  for (const bytes of [505, 508, 510, 511, 512, 512, 512, 512]) raws.push(keyOfBytes(rng, bytes));
  for (let i = 0; i < 30; i++) raws.push(keyOfBytes(rng, rng.range(480, 512)));
  raws.push(
    'e\u0301'.repeat(171), // 513 bytes as written (NFD), 342 after NFC: valid
    'e\u0301'.repeat(256), // 768 bytes as written, 512 after NFC: valid, exactly at the limit
    '\ufa6c'.repeat(128), // 384 bytes as written, 512 after NFC: valid
    '\u0958'.repeat(85), // 255 bytes as written, 510 after NFC: valid
    'x'.repeat(512),
    '数'.repeat(170) + 'ab', // 512
    '😀'.repeat(128), // 512
    ...TENANT_SEPARATORS,
    ...TENANT_SEPARATORS.map((s) => s + 'shared'),
    'alpha',
    'beta',
    'a..b',
    '..x',
    'x/..y/z..',
    '#',
    '%',
    '%2e%2e/%2e%2e/beta',
    'tenant#beta#shared',
    '\u00e9t\u00e9',
    'e\u0301te\u0301',
  );
  const valid = new Map<string, PoolKey>();
  for (const raw of raws) {
    if (keyProblem(raw) !== undefined) continue;
    const nfc = raw.normalize('NFC');
    const entry = valid.get(nfc);
    if (entry) entry.forms = [...new Set([...entry.forms, raw])];
    else valid.set(nfc, { nfc, forms: spellings(nfc, raw) });
  }
  const validKeys = [...valid.values()];
  return { valid: validKeys, invalid: invalidKeys(rng, validKeys.map((k) => k.nfc)) };
}

// ---------------------------------------------------------------------------------------------------------
// Model and helpers
// ---------------------------------------------------------------------------------------------------------

const TENANTS = ['alpha', 'beta'] as const;
type Tenant = (typeof TENANTS)[number];
const other = (tenant: Tenant): Tenant => (tenant === 'alpha' ? 'beta' : 'alpha');

interface KvModel {
  value: unknown;
  version: number;
}
interface ArtifactModel {
  body: Buffer;
  binary: boolean;
  version: number;
}
interface TenantModel {
  kv: Map<string, KvModel>;
  artifacts: Map<string, ArtifactModel>;
}

const IN_FLIGHT = 50;

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<void>, limit = IN_FLIGHT): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const errorOf = (s: Structured) => s.error;

/** Mismatches collected per phase, reported together (the first few in full). */
class Problems {
  readonly list: string[] = [];
  add(message: string): void {
    this.list.push(message);
  }
  assertNone(phase: string): void {
    const shown = this.list.slice(0, 25).join('\n');
    expect(this.list.length, `${phase}: ${this.list.length} problem(s), seed ${SEED}; first ones:\n${shown}`).toBe(0);
  }
}

const show = (key: string): string => JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…(${utf8Bytes(key)} bytes)` : key);

function kvValue(rng: Rng, tenant: Tenant, key: string, generation: number): unknown {
  const base = { tenant, key, generation, nonce: rng.int(1e9) };
  switch (rng.int(3)) {
    case 0:
      return base;
    case 1:
      return [tenant, key, generation, { nested: base }];
    default:
      return `${tenant}|${generation}|${key}`;
  }
}

function artifactBody(rng: Rng, tenant: Tenant, key: string, generation: number): { body: Buffer; binary: boolean } {
  const text = `${tenant}\n${generation}\n${key}\n${rng.int(1e9)}\n`;
  if (rng.chance(0.25)) {
    const bin = Buffer.concat([Buffer.from([0, 255, 254, 128]), Buffer.from(text, 'utf8'), Buffer.from([rng.int(256), 0xc3])]);
    return { body: bin, binary: true };
  }
  return { body: Buffer.from(text, 'utf8'), binary: false };
}

const putArgs = (key: string, a: { body: Buffer; binary: boolean }) =>
  a.binary
    ? { key, content_base64: a.body.toString('base64'), content_type: 'application/octet-stream' }
    : { key, content: a.body.toString('utf8'), content_type: 'text/plain; charset=utf-8' };

// ---------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------

function describeIsolation(backend: 'local' | 'aws'): void {
  describe(`tenant isolation on one shared ${backend === 'local' ? 'data folder' : 'DynamoDB table and S3 bucket'} (seed ${SEED})`, () => {
    let aws: AwsEnvironment | undefined;
    // `rng` is only used synchronously (pool, plans, choices made before a phase's first await), so the same
    // seed replays the same keys and the same plans; `noise` is drawn while calls are in flight (spellings,
    // values), in whatever order responses arrive.
    const rng = new Rng(SEED);
    const noise = new Rng(SEED ^ 0x9e3779b9);
    const pool = buildPool(rng);
    const byNfc = new Map(pool.valid.map((k) => [k.nfc, k]));
    const data = lazyTempDir('agent-mesh-isolation');
    const configDir = lazyTempDir('agent-mesh-isolation-config');
    const servers = {} as Record<Tenant, ServerHandle>;
    const model: Record<Tenant, TenantModel> = {
      alpha: { kv: new Map(), artifacts: new Map() },
      beta: { kv: new Map(), artifacts: new Map() },
    };
    const form = (k: PoolKey): string => noise.pick(k.forms);

    beforeAll(async () => {
      const config = writeConfig(configDir.dir, {
        defaults: {
          rateLimits: {
            dynamodb: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
            s3: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
          },
        },
      });
      if (backend === 'aws') aws = await startAwsEnvironment();
      const start = (tenant: Tenant) =>
        startServer({ ...aws?.env, AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_TENANT_ID: tenant, AGENT_MESH_USER_ID: `${tenant}-user`, AGENT_MESH_CONFIG: config });
      // Start both at once: both open (and possibly migrate) the same database concurrently.
      const [alpha, beta] = await Promise.all([start('alpha'), start('beta')]);
      servers.alpha = alpha;
      servers.beta = beta;
    });

    afterAll(async () => {
      await Promise.allSettled(Object.values(servers).map((s) => s.close()));
      await aws?.close();
      data.cleanup();
      configDir.cleanup();
    });

    /** Every pool key through kv_get and artifacts_get must give exactly the model: own value or not_found. */
    async function verifyReads(tenant: Tenant, problems: Problems): Promise<void> {
      const server = servers[tenant];
      await inBatches(pool.valid, async (k) => {
        const key = form(k);
        const [kv, art] = await Promise.all([server.call('kv_get', { key }), server.call('artifacts_get', { key })]);
        const expectedKv = model[tenant].kv.get(k.nfc);
        if (expectedKv) {
          if (kv.isError) problems.add(`${tenant} kv_get ${show(key)}: ${JSON.stringify(errorOf(structured(kv)))}, expected its own value`);
          else {
            const s = structured(kv);
            if (s.key !== k.nfc) problems.add(`${tenant} kv_get ${show(key)}: returned key ${show(String(s.key))}, expected NFC ${show(k.nfc)}`);
            try {
              expect(s.value).toEqual(expectedKv.value);
            } catch {
              problems.add(`${tenant} kv_get ${show(key)}: value ${JSON.stringify(s.value)}, expected ${JSON.stringify(expectedKv.value)}`);
            }
            if (s.version !== expectedKv.version) problems.add(`${tenant} kv_get ${show(key)}: version ${s.version}, expected ${expectedKv.version}`);
          }
        } else if (errorOf(structured(kv))?.code !== 'not_found') {
          problems.add(`${tenant} kv_get ${show(key)}: expected not_found (never written by ${tenant}), got ${JSON.stringify(structured(kv))}`);
        }

        const expectedArt = model[tenant].artifacts.get(k.nfc);
        if (expectedArt) {
          if (art.isError) problems.add(`${tenant} artifacts_get ${show(key)}: ${JSON.stringify(errorOf(structured(art)))}, expected its own artifact`);
          else {
            const s = structured(art) as Structured & { content?: string; content_base64?: string; sha256?: string };
            const body = s.content !== undefined ? Buffer.from(s.content, 'utf8') : Buffer.from(s.content_base64 ?? '', 'base64');
            if (s.key !== k.nfc) problems.add(`${tenant} artifacts_get ${show(key)}: returned key ${show(String(s.key))}`);
            if (!body.equals(expectedArt.body)) {
              problems.add(`${tenant} artifacts_get ${show(key)}: content ${JSON.stringify(body.toString('latin1').slice(0, 80))}, expected ${JSON.stringify(expectedArt.body.toString('latin1').slice(0, 80))}`);
            }
            if (s.version !== expectedArt.version) problems.add(`${tenant} artifacts_get ${show(key)}: version ${s.version}, expected ${expectedArt.version}`);
            if (s.size !== expectedArt.body.length) problems.add(`${tenant} artifacts_get ${show(key)}: size ${s.size}, expected ${expectedArt.body.length}`);
          }
        } else if (errorOf(structured(art))?.code !== 'not_found') {
          problems.add(`${tenant} artifacts_get ${show(key)}: expected not_found, got ${JSON.stringify(structured(art)).slice(0, 300)}`);
        }
      });
    }

    /** Pages through a listing; checks order, no duplicates, and returns key -> version. */
    async function listAll(tenant: Tenant, tool: 'kv_list' | 'artifacts_list', prefix: string, limit: number, omitPrefix: boolean, problems: Problems): Promise<Map<string, number>> {
      const server = servers[tenant];
      const seen = new Map<string, number>();
      let cursor: string | undefined;
      let previous: string | undefined;
      for (let page = 0; page < 5000; page++) {
        const args: Record<string, unknown> = { prefix, limit, ...(cursor !== undefined && { cursor }) };
        if (omitPrefix) delete args.prefix;
        const result = await server.call(tool, args);
        if (result.isError) {
          problems.add(`${tenant} ${tool} prefix ${show(prefix)}: ${JSON.stringify(errorOf(structured(result)))}`);
          return seen;
        }
        const s = structured(result) as { keys?: { key: string; version: number }[]; artifacts?: { key: string; version: number }[]; next_cursor: string | null };
        const items = (tool === 'kv_list' ? s.keys : s.artifacts) ?? [];
        if (items.length > limit) problems.add(`${tenant} ${tool}: page of ${items.length} items over limit ${limit}`);
        for (const item of items) {
          if (previous !== undefined && byteOrder(previous, item.key) >= 0) {
            problems.add(`${tenant} ${tool} prefix ${show(prefix)}: ${show(item.key)} after ${show(previous)} is out of order or repeated`);
          }
          previous = item.key;
          seen.set(item.key, item.version);
        }
        if (s.next_cursor === null) return seen;
        if (items.length === 0) problems.add(`${tenant} ${tool} prefix ${show(prefix)}: empty page with a next_cursor`);
        cursor = s.next_cursor;
      }
      problems.add(`${tenant} ${tool} prefix ${show(prefix)}: more than 5000 pages`);
      return seen;
    }

    function listPrefixes(tenant: Tenant, count: number): string[] {
      const own = [...model[tenant].kv.keys(), ...model[tenant].artifacts.keys()];
      const theirs = [...model[other(tenant)].kv.keys(), ...model[other(tenant)].artifacts.keys()];
      const onlyTheirs = theirs.filter((k) => !model[tenant].kv.has(k) && !model[tenant].artifacts.has(k));
      const prefixOf = (key: string): string => {
        const points = Array.from(key);
        return points.slice(0, rng.range(1, points.length)).join('');
      };
      const prefixes = new Set<string>(['', ...TENANT_SEPARATORS, 'alpha', 'beta', 'tenant', '..', '.', '%', '#', 'e\u0301', '\u00e9', '\u212b']);
      for (let i = 0; i < count; i++) {
        const source = rng.pick([own, theirs, onlyTheirs.length > 0 ? onlyTheirs : theirs]);
        if (source.length === 0) continue;
        let prefix = prefixOf(rng.pick(source));
        if (rng.chance(0.2)) prefix = prefix.normalize('NFD'); // the server must normalize prefixes too
        prefixes.add(prefix);
      }
      return [...prefixes];
    }

    async function verifyLists(tenant: Tenant, prefixCount: number, problems: Problems): Promise<void> {
      const prefixes = listPrefixes(tenant, prefixCount);
      const jobs = prefixes.flatMap((prefix) =>
        (['kv_list', 'artifacts_list'] as const).map((tool) => ({
          prefix,
          tool,
          limit: rng.pick([1, 3, 17, 100, 250, 1000]),
          omitPrefix: prefix === '' && rng.chance(0.5),
        })),
      );
      await inBatches(jobs, async ({ prefix, tool, limit, omitPrefix }) => {
        const got = await listAll(tenant, tool, prefix, limit, omitPrefix, problems);
        const normalized = prefix.normalize('NFC');
        const store = tool === 'kv_list' ? model[tenant].kv : model[tenant].artifacts;
        const expected = new Map([...store].filter(([key]) => key.startsWith(normalized)).map(([key, entry]) => [key, entry.version]));
        for (const [key, version] of got) {
          const want = expected.get(key);
          if (want === undefined) {
            const whose = (tool === 'kv_list' ? model[other(tenant)].kv : model[other(tenant)].artifacts).has(key) ? ` (a key of ${other(tenant)}!)` : '';
            problems.add(`${tenant} ${tool} prefix ${show(prefix)}: listed ${show(key)} which ${tenant} does not have${whose}`);
          } else if (want !== version) {
            problems.add(`${tenant} ${tool} prefix ${show(prefix)}: ${show(key)} at version ${version}, expected ${want}`);
          }
        }
        for (const key of expected.keys()) {
          if (!got.has(key)) problems.add(`${tenant} ${tool} prefix ${show(prefix)}: missing own key ${show(key)}`);
        }
      }, 20);
    }

    it(`generates a randomized key pool (>= 1000 valid keys plus rejected ones)`, () => {
      const { valid, invalid } = pool;
      console.log(`[isolation] seed=${SEED}: ${valid.length} valid keys (${valid.filter((k) => k.forms.length > 1).length} with several spellings), ${invalid.length} invalid keys`);
      expect(valid.length).toBeGreaterThanOrEqual(1000);
      expect(invalid.length).toBeGreaterThanOrEqual(100);
      const bytes = valid.map((k) => utf8Bytes(k.nfc));
      expect(bytes.filter((b) => b === MAX_KEY_BYTES).length).toBeGreaterThan(0);
      expect(valid.some((k) => k.forms.some((f) => utf8Bytes(f) > MAX_KEY_BYTES))).toBe(true); // over 512 as written, not after NFC
      expect(valid.some((k) => k.nfc.includes('..'))).toBe(true);
    });

    it('both tenants write overlapping keys at the same time; every write is their own version 1', async () => {
      const problems = new Problems();
      const plan = {} as Record<Tenant, { kv: PoolKey[]; artifacts: PoolKey[] }>;
      for (const tenant of TENANTS) {
        plan[tenant] = { kv: pool.valid.filter(() => rng.chance(0.75)), artifacts: pool.valid.filter(() => rng.chance(0.75)) };
      }
      const started = performance.now();
      await Promise.all(
        TENANTS.map(async (tenant) => {
          const server = servers[tenant];
          const ops = rng.shuffle([
            ...plan[tenant].kv.map((k) => ({ k, tool: 'kv_set' as const })),
            ...plan[tenant].artifacts.map((k) => ({ k, tool: 'artifacts_put' as const })),
          ]);
          await inBatches(ops, async ({ k, tool }) => {
            const key = form(k);
            if (tool === 'kv_set') {
              const value = kvValue(noise, tenant, k.nfc, 1);
              const result = await server.call('kv_set', { key, value });
              if (result.isError) return problems.add(`${tenant} kv_set ${show(key)}: ${JSON.stringify(errorOf(structured(result)))}`);
              const s = structured(result);
              if (s.version !== 1) problems.add(`${tenant} kv_set ${show(key)}: version ${s.version}, expected 1 (the other tenant's key?)`);
              if (s.key !== k.nfc) problems.add(`${tenant} kv_set ${show(key)}: returned key ${show(String(s.key))}, expected ${show(k.nfc)}`);
              model[tenant].kv.set(k.nfc, { value, version: 1 });
            } else {
              const a = artifactBody(noise, tenant, k.nfc, 1);
              const result = await server.call('artifacts_put', putArgs(key, a));
              if (result.isError) return problems.add(`${tenant} artifacts_put ${show(key)}: ${JSON.stringify(errorOf(structured(result)))}`);
              const s = structured(result);
              if (s.version !== 1) problems.add(`${tenant} artifacts_put ${show(key)}: version ${s.version}, expected 1`);
              model[tenant].artifacts.set(k.nfc, { ...a, version: 1 });
            }
          });
        }),
      );
      console.log(`[isolation] write phase: ${(performance.now() - started).toFixed(0)} ms`);
      problems.assertNone('concurrent writes');
      const overlap = [...model.alpha.kv.keys()].filter((k) => model.beta.kv.has(k)).length;
      expect(overlap).toBeGreaterThan(400);
    });

    it('keys the rules refuse are refused identically for both tenants, by every tool', async () => {
      const problems = new Problems();
      const tools = ['kv_set', 'kv_get', 'kv_delete', 'artifacts_put', 'artifacts_get', 'artifacts_delete'] as const;
      const argsFor = (tool: (typeof tools)[number], key: string): Record<string, unknown> =>
        tool === 'kv_set' ? { key, value: { sneaky: true } } : tool === 'artifacts_put' ? { key, content: 'sneaky' } : { key };
      await inBatches(pool.invalid, async (key) => {
        for (const tool of tools) {
          const [a, b] = await Promise.all(TENANTS.map((t) => servers[t].call(tool, argsFor(tool, key))));
          const ea = errorOf(structured(a!));
          const eb = errorOf(structured(b!));
          if (!a!.isError || ea?.code !== 'invalid_argument' || ea.field !== 'key') {
            problems.add(`alpha ${tool} ${show(key)} (${keyProblem(key)}): expected invalid_argument on key, got ${JSON.stringify(structured(a!)).slice(0, 200)}`);
          }
          try {
            expect(eb).toEqual(ea);
          } catch {
            problems.add(`${tool} ${show(key)}: alpha and beta were refused differently: ${JSON.stringify(ea)} vs ${JSON.stringify(eb)}`);
          }
        }
      });
      // Listing prefixes with control characters, backslashes, bad surrogates or over 512 bytes are refused too.
      for (const prefix of ['\u0000', 'alpha\u0000', 'a\\b', '\ud800', '\uffff', 'x'.repeat(513)]) {
        for (const tool of ['kv_list', 'artifacts_list']) {
          const [a, b] = await Promise.all(TENANTS.map((t) => servers[t].call(tool, { prefix })));
          if (errorOf(structured(a!))?.code !== 'invalid_argument') problems.add(`alpha ${tool} prefix ${show(prefix)}: not refused: ${JSON.stringify(structured(a!)).slice(0, 200)}`);
          try {
            expect(errorOf(structured(b!))).toEqual(errorOf(structured(a!)));
          } catch {
            problems.add(`${tool} prefix ${show(prefix)}: refused differently for alpha and beta`);
          }
        }
      }
      problems.assertNone('refused keys');
    });

    it("each tenant reads back exactly its own values (any spelling of the key), and not_found for the other's keys", async () => {
      const problems = new Problems();
      const started = performance.now();
      await Promise.all(TENANTS.map((t) => verifyReads(t, problems)));
      console.log(`[isolation] read phase: ${(performance.now() - started).toFixed(0)} ms`);
      problems.assertNone('reads');
    });

    it("listings under many prefixes (including '' and the other tenant's key prefixes) show only the tenant's own keys", async () => {
      const problems = new Problems();
      const started = performance.now();
      await Promise.all(TENANTS.map((t) => verifyLists(t, 60, problems)));
      console.log(`[isolation] list phase: ${(performance.now() - started).toFixed(0)} ms`);
      problems.assertNone('listings');

      // A cursor is only a position: one taken from the other tenant's listing pages through this tenant's keys.
      const crossed = new Problems();
      for (const tenant of TENANTS) {
        for (const tool of ['kv_list', 'artifacts_list'] as const) {
          const theirs = structured(await servers[other(tenant)].call(tool, { limit: rng.pick([3, 29, 111]) })) as { next_cursor: string | null; keys?: { key: string }[]; artifacts?: { key: string }[] };
          if (theirs.next_cursor === null) continue;
          const page = (theirs.keys ?? theirs.artifacts)!;
          const after = page[page.length - 1]!.key;
          const mine = structured(await servers[tenant].call(tool, { cursor: theirs.next_cursor, limit: 1000 })) as { keys?: { key: string }[]; artifacts?: { key: string }[] };
          const got = (mine.keys ?? mine.artifacts ?? []).map((i) => i.key);
          const store = tool === 'kv_list' ? model[tenant].kv : model[tenant].artifacts;
          const expected = [...store.keys()].filter((k) => byteOrder(k, after) > 0).sort(byteOrder).slice(0, 1000);
          try {
            expect(got).toEqual(expected);
          } catch {
            crossed.add(`${tenant} ${tool} with ${other(tenant)}'s cursor (after ${show(after)}): got ${got.length} keys, expected ${expected.length}; foreign: ${got.filter((k) => !store.has(k)).slice(0, 3).map(show).join(', ')}`);
          }
        }
      }
      crossed.assertNone("listings with the other tenant's cursor");
    });

    it("rewrites, if_absent and if_version by one tenant never touch the other tenant's value or version", async () => {
      const problems = new Problems();
      await Promise.all(
        TENANTS.map(async (tenant) => {
          const server = servers[tenant];
          const mine = model[tenant];
          const theirs = model[other(tenant)];
          const shared = pool.valid.filter((k) => mine.kv.has(k.nfc) && theirs.kv.has(k.nfc));
          const sharedArt = pool.valid.filter((k) => mine.artifacts.has(k.nfc) && theirs.artifacts.has(k.nfc));
          const onlyTheirs = rng.shuffle(pool.valid.filter((k) => !mine.kv.has(k.nfc) && theirs.kv.has(k.nfc)));
          const ops: { kind: 'rewrite' | 'rewriteArt' | 'ifAbsent' | 'ifVersion'; k: PoolKey }[] = [
            ...rng.shuffle([...shared]).slice(0, 150).map((k) => ({ kind: 'rewrite' as const, k })),
            ...rng.shuffle([...sharedArt]).slice(0, 100).map((k) => ({ kind: 'rewriteArt' as const, k })),
            ...onlyTheirs.slice(0, 40).map((k) => ({ kind: 'ifVersion' as const, k })),
            ...onlyTheirs.slice(40, 80).map((k) => ({ kind: 'ifAbsent' as const, k })),
          ];
          // Each rewrite is claimed in the model before its call, so no two ops of one tenant race on a key.
          await inBatches(rng.shuffle(ops), async ({ kind, k }) => {
            const key = form(k);
            if (kind === 'rewrite') {
              const entry = mine.kv.get(k.nfc)!;
              const value = kvValue(noise, tenant, k.nfc, entry.version + 1);
              const useIfVersion = noise.chance(0.5);
              const result = await server.call('kv_set', { key, value, ...(useIfVersion && { if_version: entry.version }) });
              if (result.isError) return problems.add(`${tenant} kv_set rewrite ${show(key)}: ${JSON.stringify(errorOf(structured(result)))}`);
              if (structured(result).version !== entry.version + 1) problems.add(`${tenant} kv_set rewrite ${show(key)}: version ${structured(result).version}, expected ${entry.version + 1}`);
              mine.kv.set(k.nfc, { value, version: entry.version + 1 });
            } else if (kind === 'rewriteArt') {
              const entry = mine.artifacts.get(k.nfc)!;
              const a = artifactBody(noise, tenant, k.nfc, entry.version + 1);
              const result = await server.call('artifacts_put', putArgs(key, a));
              if (result.isError) return problems.add(`${tenant} artifacts_put rewrite ${show(key)}: ${JSON.stringify(errorOf(structured(result)))}`);
              if (structured(result).version !== entry.version + 1) problems.add(`${tenant} artifacts_put rewrite ${show(key)}: version ${structured(result).version}, expected ${entry.version + 1}`);
              mine.artifacts.set(k.nfc, { ...a, version: entry.version + 1 });
            } else if (kind === 'ifVersion') {
              // The other tenant has this key at some version; for this tenant it does not exist.
              const theirVersion = theirs.kv.get(k.nfc)?.version ?? 1;
              const result = await server.call('kv_set', { key, value: { tenant, stolen: true }, if_version: theirVersion });
              if (errorOf(structured(result))?.code !== 'conflict') {
                problems.add(`${tenant} kv_set if_version ${theirVersion} on ${other(tenant)}'s key ${show(key)}: expected conflict, got ${JSON.stringify(structured(result)).slice(0, 200)}`);
              }
            } else {
              const value = kvValue(noise, tenant, k.nfc, 1);
              const result = await server.call('kv_set', { key, value, if_absent: true });
              if (result.isError) return problems.add(`${tenant} kv_set if_absent on ${other(tenant)}'s key ${show(key)}: ${JSON.stringify(errorOf(structured(result)))} (absent for ${tenant})`);
              if (structured(result).version !== 1) problems.add(`${tenant} kv_set if_absent ${show(key)}: version ${structured(result).version}, expected 1`);
              mine.kv.set(k.nfc, { value, version: 1 });
            }
          });
        }),
      );
      problems.assertNone('rewrites');
      // ...and everything, for both tenants, still matches the model.
      const check = new Problems();
      await Promise.all(TENANTS.map((t) => verifyReads(t, check)));
      await Promise.all(TENANTS.map((t) => verifyLists(t, 10, check)));
      check.assertNone('reads after rewrites');
    });

    it("deletes by one tenant don't touch the other's keys; deleting the other's keys gives not_found", async () => {
      const problems = new Problems();
      await Promise.all(
        TENANTS.map(async (tenant) => {
          const server = servers[tenant];
          const mine = model[tenant];
          const theirs = model[other(tenant)];
          const kvDeletes = [...mine.kv.keys()].filter(() => rng.chance(0.3));
          const artDeletes = [...mine.artifacts.keys()].filter(() => rng.chance(0.3));
          const foreignKv = [...theirs.kv.keys()].filter((k) => !mine.kv.has(k)).slice(0, 60);
          const foreignArt = [...theirs.artifacts.keys()].filter((k) => !mine.artifacts.has(k)).slice(0, 60);
          const ops = rng.shuffle([
            ...kvDeletes.map((key) => ({ tool: 'kv_delete' as const, key, foreign: false })),
            ...artDeletes.map((key) => ({ tool: 'artifacts_delete' as const, key, foreign: false })),
            ...foreignKv.map((key) => ({ tool: 'kv_delete' as const, key, foreign: true })),
            ...foreignArt.map((key) => ({ tool: 'artifacts_delete' as const, key, foreign: true })),
          ]);
          await inBatches(ops, async ({ tool, key, foreign }) => {
            const spelled = form(byNfc.get(key)!);
            const result = await server.call(tool, { key: spelled });
            if (foreign) {
              if (errorOf(structured(result))?.code !== 'not_found') {
                problems.add(`${tenant} ${tool} of ${other(tenant)}'s key ${show(key)}: expected not_found, got ${JSON.stringify(structured(result)).slice(0, 200)}`);
              }
            } else if (result.isError) {
              problems.add(`${tenant} ${tool} ${show(key)}: ${JSON.stringify(errorOf(structured(result)))}`);
            }
          });
          for (const key of kvDeletes) mine.kv.delete(key);
          for (const key of artDeletes) mine.artifacts.delete(key);
        }),
      );
      problems.assertNone('deletes');
      const check = new Problems();
      await Promise.all(TENANTS.map((t) => verifyReads(t, check)));
      await Promise.all(TENANTS.map((t) => verifyLists(t, 30, check)));
      check.assertNone('reads after deletes');
    });

    it.runIf(backend === 'local')('on disk, every row and every artifact file belongs to the tenant that wrote it', () => {
      const db = new Database(join(data.dir, 'agent-mesh.db'), { readonly: true, fileMustExist: true });
      try {
        const tenantsInDb = db.prepare('SELECT DISTINCT tenant FROM kv UNION SELECT DISTINCT tenant FROM artifacts').pluck().all() as string[];
        expect(tenantsInDb.sort()).toEqual(['alpha', 'beta']);
        for (const tenant of TENANTS) {
          const kvRows = db.prepare('SELECT key, value, version FROM kv WHERE tenant = ?').all(tenant) as { key: string; value: string; version: number }[];
          expect(new Set(kvRows.map((r) => r.key))).toEqual(new Set(model[tenant].kv.keys()));
          for (const row of kvRows) expect(JSON.parse(row.value)).toEqual(model[tenant].kv.get(row.key)!.value);
          const artRows = db.prepare('SELECT key, file, size FROM artifacts WHERE tenant = ?').all(tenant) as { key: string; file: string; size: number }[];
          expect(new Set(artRows.map((r) => r.key))).toEqual(new Set(model[tenant].artifacts.keys()));
          const dir = join(data.dir, 'artifacts', tenant);
          for (const row of artRows) {
            expect(existsSync(join(dir, row.file)), `${tenant} file of ${show(row.key)}`).toBe(true);
            expect(row.size).toBe(model[tenant].artifacts.get(row.key)!.body.length);
          }
          // No stray files: the tenant's folder holds exactly the files its rows point to.
          expect(new Set(readdirSync(dir))).toEqual(new Set(artRows.map((r) => r.file)));
          const usage = db.prepare('SELECT kv_keys, artifact_bytes FROM tenant_usage WHERE tenant = ?').get(tenant) as { kv_keys: number; artifact_bytes: number };
          expect(usage.kv_keys).toBe(kvRows.length);
          expect(usage.artifact_bytes).toBe(artRows.reduce((sum, r) => sum + r.size, 0));
        }
        expect(readdirSync(join(data.dir, 'artifacts')).sort()).toEqual(['.tmp', 'alpha', 'beta']);
        expect(readdirSync(join(data.dir, 'artifacts', '.tmp'))).toEqual([]);
      } finally {
        db.close();
      }
    });

    it.runIf(backend === 'aws')('in the table and the bucket, every item and object belongs to the tenant that wrote it', async () => {
      const { dynamo, s3, table, bucket } = aws!;
      const partitions = new Map<string, Record<string, unknown>[]>();
      for (const tenant of TENANTS) {
        const items: Record<string, unknown>[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const page = await dynamo.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `T#${tenant}` }, ExclusiveStartKey: start, ConsistentRead: true }));
          items.push(...(page.Items ?? []));
          start = page.LastEvaluatedKey;
        } while (start);
        partitions.set(tenant, items);
      }
      // Per tenant prefix, in one page each: fauxqs pages a listing past 1000 mixed keys wrongly.
      const listObjects = async (prefix: string, delimiter?: string) => {
        const keys: string[] = [];
        const folders: string[] = [];
        let token: string | undefined;
        do {
          const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }));
          keys.push(...(page.Contents ?? []).map((o) => o.Key!));
          folders.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
          token = page.NextContinuationToken;
        } while (token);
        return { keys, folders };
      };
      const top = await listObjects('', '/');
      expect(top).toEqual({ keys: [], folders: ['tenants/'] });
      expect((await listObjects('tenants/', '/')).folders.sort()).toEqual(['tenants/alpha/', 'tenants/beta/']);
      const objectsByTenant = new Map<Tenant, Set<string>>();
      for (const tenant of TENANTS) objectsByTenant.set(tenant, new Set((await listObjects(`tenants/${tenant}/`)).keys));
      const objectsOf = (tenant: Tenant) => objectsByTenant.get(tenant)!;
      for (const tenant of TENANTS) {
        const items = partitions.get(tenant)!;
        const kvItems = items.filter((item) => String(item.sk).startsWith('KV#'));
        expect(new Set(kvItems.map((item) => String(item.sk).slice(3)))).toEqual(new Set(model[tenant].kv.keys()));
        const artItems = items.filter((item) => String(item.sk).startsWith('ART#'));
        expect(new Set(artItems.map((item) => String(item.sk).slice(4)))).toEqual(new Set(model[tenant].artifacts.keys()));
        // No stray objects: the tenant's prefix holds exactly the objects its index rows point to.
        expect(objectsOf(tenant)).toEqual(new Set(artItems.map((item) => String(item.objectKey))));
        const usage = items.find((item) => item.sk === 'USAGE')!;
        expect(usage.kvKeys).toBe(kvItems.length);
        expect(usage.artifactBytes).toBe(artItems.reduce((sum, item) => sum + Number(item.size), 0));
      }
    });
  });
}

describeIsolation('local');
describeIsolation('aws');
