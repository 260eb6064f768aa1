import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoKvStore } from '../../src/drivers/aws/dynamo-kv-store.js';
import { TenantUsage } from '../../src/drivers/aws/tenant-usage.js';
import type { TenantSession } from '../../src/tenancy/session.js';
import { useDynalite } from '../helpers/aws-emulators.js';
import { Rng } from '../helpers/random.js';
import { testSession } from '../helpers/sessions.js';
import { describeKvStoreContract } from './kv-store.contract.js';

const dynalite = useDynalite();
let client: DynamoDBDocumentClient;
beforeAll(() => void (client = dynalite.client));

/**
 * A fresh table and a store on a clock that stands still until the test moves it; a move first catches up
 * with real time. Tests set expiries from Date.now(), so an entry "expiring in 10 ms" stays live however
 * long the emulator's round trips take, and is expired after advance(20).
 */
async function awsFixture() {
  const table = await dynalite.table();
  let clock = Date.now();
  const now = () => clock;
  return {
    table,
    now,
    store: new DynamoKvStore(client, table, now),
    advance: (ms: number) => void (clock = Math.max(clock, Date.now()) + ms),
    close: () => dynalite.dropTable(table),
  };
}

async function withFixture(body: (fixture: Awaited<ReturnType<typeof awsFixture>>) => Promise<void>): Promise<void> {
  const fixture = await awsFixture();
  try {
    await body(fixture);
  } finally {
    await fixture.close();
  }
}

describeKvStoreContract('dynamodb (dynalite)', awsFixture);

const value = (v: unknown) => ({ valueJson: JSON.stringify(v), expiresAt: null });
const byUtf8 = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));
const rawItem = async (table: string, pk: string, sk: string) => (await client.send(new GetCommand({ TableName: table, Key: { pk, sk } }))).Item;
/** Every KV item of a tenant, expired or not, straight from the table. */
async function storedKeys(table: string, pk: string): Promise<string[]> {
  const result = await client.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kv)',
      ExpressionAttributeValues: { ':pk': pk, ':kv': 'KV#' },
      ConsistentRead: true,
    }),
  );
  return (result.Items ?? []).map((item) => String(item.sk).slice(3));
}

describe('DynamoKvStore', () => {
  it('marks an expiring item for the TTL and the sparse index, and unmarks it when it stops expiring', async () => {
    await withFixture(async ({ store, table }) => {
      const a = testSession('tenant-a');
      const expiresAt = Date.now() + 60_000;
      await store.set(a, 'dir/k#1', { valueJson: '1', expiresAt });
      expect(await rawItem(table, 'T#tenant-a', 'KV#dir/k#1')).toMatchObject({
        value: '1',
        version: 1,
        expiresAt,
        ttl: Math.ceil((expiresAt + 86_400_000) / 1000),
        gsi1pk: 'EXP',
        gsi1sk: `${String(expiresAt).padStart(15, '0')}#tenant-a#dir/k#1`,
      });
      await store.set(a, 'dir/k#1', value(2));
      const item = await rawItem(table, 'T#tenant-a', 'KV#dir/k#1');
      expect(item).toMatchObject({ value: '2', version: 2 });
      for (const attribute of ['expiresAt', 'ttl', 'gsi1pk', 'gsi1sk']) expect(item).not.toHaveProperty(attribute);
    });
  });

  it('keeps the key counter equal to the items stored through every kind of write', async () => {
    await withFixture(async ({ store, table, advance }) => {
      const a = testSession('tenant-a', { limits: { maxKeys: 10 } });
      const usage = new TenantUsage(client, table);
      const expectCounted = async () => expect(await usage.read('T#tenant-a', 'kvKeys')).toBe((await storedKeys(table, 'T#tenant-a')).length);
      const soon = () => ({ valueJson: '0', expiresAt: Date.now() + 10 });
      await store.set(a, 'live', value(1));
      await store.set(a, 'live', value(2));
      await store.set(a, 'exp1', soon());
      await store.set(a, 'exp2', soon());
      await store.set(a, 'exp3', soon());
      await expectCounted();
      await expect(store.set(a, 'live', { ...value(3), ifAbsent: true })).rejects.toMatchObject({ code: 'conflict' });
      await expect(store.set(a, 'new', { ...value(3), ifVersion: 1 })).rejects.toMatchObject({ code: 'conflict' });
      await expectCounted();
      advance(20);
      expect(await store.set(a, 'exp1', value('again'))).toEqual({ version: 1 }); // replaces the expired item in place
      expect(await store.delete(a, 'exp2')).toBe(false); // expired: absent, but its item goes and its key with it
      await expectCounted();
      expect(await store.purgeExpired(10)).toBe(1);
      await expectCounted();
      expect(await store.delete(a, 'live', 2)).toBe(true);
      await expectCounted();
      expect(await usage.read('T#tenant-a', 'kvKeys')).toBe(1);
    });
  });

  it('gives exactly maxKeys new keys to writers racing for them', async () => {
    await withFixture(async ({ store, table }) => {
      const small = testSession('tenant-small', { limits: { maxKeys: 5 } });
      const attempts = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.set(small, `k${i}`, value(i))));
      expect(attempts.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
      for (const r of attempts) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'quota_exceeded' });
      expect(await storedKeys(table, 'T#tenant-small')).toHaveLength(5);
      expect(await new TenantUsage(client, table).read('T#tenant-small', 'kvKeys')).toBe(5);
    });
  });

  it('lists past long runs of expired items, which Query counts before its filter', async () => {
    await withFixture(async ({ store, advance }) => {
      const a = testSession('tenant-a');
      for (let i = 0; i < 30; i++) await store.set(a, `k/${String(i).padStart(2, '0')}`, { valueJson: '0', expiresAt: Date.now() + 10 });
      for (const key of ['k/50', 'k/51', 'k/52']) await store.set(a, key, value(key));
      advance(20);
      const first = await store.list(a, { prefix: 'k/', limit: 2 });
      expect(first).toEqual({ items: [expect.objectContaining({ key: 'k/50' }), expect.objectContaining({ key: 'k/51' })], nextAfter: 'k/51' });
      expect((await store.list(a, { prefix: 'k/', limit: 2, after: 'k/51' })).items.map((i) => i.key)).toEqual(['k/52']);
      expect((await store.list(a, { prefix: 'k/', limit: 2, after: 'l' })).items).toEqual([]);
    });
  });

  it('purges across tenants in batches, oldest expiry first, and never a key written again since', async () => {
    await withFixture(async ({ store, advance }) => {
      const a = testSession('tenant-a');
      const b = testSession('tenant-b');
      const start = Date.now();
      await store.set(a, 'first', { valueJson: '1', expiresAt: start + 5 });
      await store.set(b, 'second', { valueJson: '1', expiresAt: start + 6 });
      await store.set(b, 'third', { valueJson: '1', expiresAt: start + 7 });
      await store.set(a, 'renewed', { valueJson: '1', expiresAt: start + 8 });
      await store.set(a, 'renewed', { valueJson: '2', expiresAt: start + 60_000 });
      advance(20);
      expect(await store.purgeExpired(1)).toBe(1);
      expect(await store.delete(a, 'first')).toBe(false);
      expect(await store.purgeExpired(100)).toBe(2);
      expect(await store.purgeExpired(100)).toBe(0);
      expect((await store.get(a, 'renewed'))?.valueJson).toBe('2');
    });
  });

  it('refuses a value too large for one DynamoDB item, and counts no key for it', async () => {
    await withFixture(async ({ store, table }) => {
      const a = testSession('tenant-a');
      await expect(store.set(a, 'big', { valueJson: JSON.stringify('x'.repeat(400 * 1024)), expiresAt: null })).rejects.toMatchObject({
        code: 'invalid_argument',
      });
      expect(await store.get(a, 'big')).toBeUndefined();
      expect(await new TenantUsage(client, table).read('T#tenant-a', 'kvKeys')).toBe(0);
    });
  });

  it('never lets two tenants read, list or overwrite each other’s keys (randomized)', async () => {
    const seed = Number(process.env.ISOLATION_SEED ?? 20_240_601);
    const rng = new Rng(seed);
    const note = `seed ${seed} (ISOLATION_SEED replays it)`;
    const chars = ['a', 'b', 'z', '#', '-', '_', 'T', 'K', 'V', 'é', '日', '🚀', '0', '9'];
    const segment = () => Array.from({ length: rng.range(1, 3) }, () => rng.pick(chars)).join('');
    const keys = new Set<string>();
    while (keys.size < 1_000) keys.add(Array.from({ length: rng.range(1, 3) }, segment).join('/'));
    // Keys that look like another tenant's physical names, in case anything concatenates without a boundary.
    for (const key of ['tenant-b', 'T#tenant-b', '#tenant-b#x', 'KV#x']) keys.add(key);
    const pool = [...keys];

    await withFixture(async ({ store }) => {
      const tenants = [testSession('tenant-a'), testSession('tenant-b')] as const;
      const models = tenants.map(() => new Map<string, { valueJson: string; version: number }>());
      let counter = 0;
      interface Step {
        t: 0 | 1;
        key: string;
        roll: number;
        expiring: boolean;
      }
      const step = async ({ t, key, roll, expiring }: Step) => {
        const session: TenantSession = tenants[t];
        const model = models[t]!;
        const current = model.get(key);
        if (roll < 0.6) {
          const valueJson = JSON.stringify(`${session.tenantId}:${++counter}`);
          const { version } = await store.set(session, key, { valueJson, expiresAt: expiring ? Date.now() + 3_600_000 : null });
          expect(version, `${note}: set ${key}`).toBe((current?.version ?? 0) + 1);
          model.set(key, { valueJson, version });
        } else if (roll < 0.75) {
          // A write conditional on what the *other* tenant holds must be judged on this tenant's entry alone.
          const other = models[1 - t]!.get(key);
          const write = other ? { valueJson: '"cas"', expiresAt: null, ifVersion: other.version } : { valueJson: '"cas"', expiresAt: null, ifAbsent: true };
          const succeeds = other ? current?.version === other.version : current === undefined;
          if (succeeds) {
            model.set(key, { valueJson: '"cas"', version: (await store.set(session, key, write)).version });
          } else {
            await expect(store.set(session, key, write), `${note}: conditional set ${key}`).rejects.toMatchObject({ code: 'conflict' });
          }
        } else if (roll < 0.9) {
          expect(await store.delete(session, key), `${note}: delete ${key}`).toBe(current !== undefined);
          model.delete(key);
        } else {
          const entry = await store.get(session, key);
          expect(entry && { valueJson: entry.valueJson, version: entry.version }, `${note}: get ${key}`).toEqual(current);
        }
      };
      // All randomness is drawn up front; keys are worked on concurrently, each key's steps in order, so the
      // models stay exact and a seed replays the same run.
      const plan: Step[] = Array.from({ length: 2_400 }, () => ({ t: rng.int(2) as 0 | 1, key: rng.pick(pool), roll: rng.next(), expiring: rng.chance(0.2) }));
      const byKey = new Map<string, Step[]>();
      for (const op of plan) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
      const groups = [...byKey.values()];
      for (let i = 0; i < groups.length; i += 50) {
        await Promise.all(
          groups.slice(i, i + 50).map(async (ops) => {
            for (const op of ops) await step(op);
          }),
        );
      }

      for (const [t, session] of tenants.entries()) {
        const model = models[t]!;
        for (let i = 0; i < pool.length; i += 100) {
          await Promise.all(
            pool.slice(i, i + 100).map(async (key) => {
              const entry = await store.get(session, key);
              expect(entry && { valueJson: entry.valueJson, version: entry.version }, `${note}: ${session.tenantId} reads ${key}`).toEqual(model.get(key));
              if (entry && entry.valueJson !== '"cas"') expect(JSON.parse(entry.valueJson)).toMatch(new RegExp(`^${session.tenantId}:`));
            }),
          );
        }
        // Cut by code points: a prefix is never an unpaired surrogate (the service refuses one).
        const prefixes = ['', ...Array.from({ length: 60 }, () => Array.from(rng.pick(pool)).slice(0, rng.range(1, 4)).join(''))];
        for (const prefix of prefixes) {
          const expected = [...model.keys()].filter((key) => key.startsWith(prefix)).sort(byUtf8);
          const seen: string[] = [];
          let after: string | undefined;
          do {
            const page = await store.list(session, { prefix, limit: rng.range(1, 400), ...(after !== undefined && { after }) });
            seen.push(...page.items.map((item) => item.key));
            after = page.nextAfter;
          } while (after !== undefined);
          expect(seen, `${note}: ${session.tenantId} lists "${prefix}"`).toEqual(expected);
        }
      }
      expect(models[0]!.size, note).toBeGreaterThan(200);
      expect(models[1]!.size, note).toBeGreaterThan(200);
    });
  });
});
