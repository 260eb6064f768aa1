import { createHash, randomBytes } from 'node:crypto';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ArtifactStore, type S3ArtifactStoreOptions } from '../../src/drivers/aws/s3-artifact-store.js';
import { TenantUsage } from '../../src/drivers/aws/tenant-usage.js';
import type { ArtifactWrite } from '../../src/ports/artifact-store.js';
import { validateKey } from '../../src/services/keys.js';
import { createTestBucket, createTestTable, dynamoClient, s3Client, startDynalite, startFauxqs, type Emulator } from '../helpers/aws-emulators.js';
import { Rng } from '../helpers/random.js';
import { testSession } from '../helpers/sessions.js';
import { describeArtifactStoreContract } from './artifact-store.contract.js';

let dynalite: Emulator;
let fauxqs: Emulator;
let dynamo: DynamoDBDocumentClient;
let s3: S3Client;

beforeAll(async () => {
  [dynalite, fauxqs] = await Promise.all([startDynalite(), startFauxqs()]);
  dynamo = dynamoClient(dynalite.endpoint);
  s3 = s3Client(fauxqs.endpoint);
});

afterAll(async () => {
  dynamo?.destroy();
  s3?.destroy();
  await Promise.all([dynalite?.close(), fauxqs?.close()]);
});

interface Fixture {
  store: S3ArtifactStore;
  table: string;
  bucket: string;
  advance(ms: number): void;
}

async function open(options: S3ArtifactStoreOptions = {}): Promise<Fixture> {
  const [table, bucket] = await Promise.all([createTestTable(dynamo), createTestBucket(s3)]);
  let offset = 0;
  const store = new S3ArtifactStore(dynamo, table, s3, bucket, { now: () => Date.now() + offset, ...options });
  return { store, table, bucket, advance: (ms) => void (offset += ms) };
}

const write = (body: Buffer | string, contentType = 'text/plain', metadata: Record<string, string> = {}): ArtifactWrite => {
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { body: buffer, sha256: createHash('sha256').update(buffer).digest('hex'), contentType, metadata };
};

async function objectKeys(bucket: string, prefix = 'tenants/'): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token && { ContinuationToken: token }) }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Records the S3 commands and request headers a client sends. */
function recordRequests(client: S3Client): { commands: string[]; headers: Record<string, string>[]; stop(): void } {
  const commands: string[] = [];
  const headers: Record<string, string>[] = [];
  const name = `record-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? '?');
      headers.push({ command: context.commandName ?? '?', ...((args.request as { headers?: Record<string, string> }).headers ?? {}) });
      return next(args);
    },
    { step: 'finalizeRequest', name },
  );
  return { commands, headers, stop: () => void client.middlewareStack.remove(name) };
}

describeArtifactStoreContract('s3 + dynamodb (fauxqs + dynalite)', async () => {
  const fixture = await open();
  return { store: fixture.store, close: async () => {} };
});

describe('S3ArtifactStore', () => {
  it('uploads a large body in parts and reads it back intact', async () => {
    const { store, bucket } = await open({ multipartThresholdBytes: 5 * 1024 * 1024, partSizeBytes: 5 * 1024 * 1024 });
    const a = testSession('tenant-a');
    const body = randomBytes(12 * 1024 * 1024 + 123);
    const recorder = recordRequests(s3);
    try {
      const meta = await store.put(a, 'big/blob.bin', write(body, 'application/octet-stream'));
      expect(meta).toMatchObject({ size: body.length, version: 1 });
    } finally {
      recorder.stop();
    }
    expect(recorder.commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(recorder.commands).toContain('CompleteMultipartUploadCommand');
    const got = await store.get(a, 'big/blob.bin');
    expect(got!.body.equals(body)).toBe(true);
    expect(got!.meta.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(await objectKeys(bucket)).toHaveLength(1);
  });

  it('stores the object under the tenant prefix with its content type, metadata and SHA-256 checksum', async () => {
    const { store, bucket } = await open();
    const a = testSession('tenant-a');
    const recorder = recordRequests(s3);
    const artifact = write('{"ok":true}', 'application/json', { origin: 'test', Team: 'blue' });
    try {
      await store.put(a, 'reports/ü 1.json', artifact);
    } finally {
      recorder.stop();
    }
    const [objectKey, ...others] = await objectKeys(bucket);
    expect(others).toEqual([]);
    expect(objectKey).toMatch(new RegExp(`^tenants/tenant-a/${Buffer.from('reports/ü 1.json').toString('base64url')}/[0-9a-f]{32}$`));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }));
    expect(head.ContentType).toBe('application/json');
    expect(head.Metadata).toEqual({ origin: 'test', team: 'blue', 'agent-mesh-sha256': artifact.sha256 });
    // fauxqs accepts but does not verify checksums, so check what the driver asks S3 to verify.
    const put = recorder.headers.find((h) => h.command === 'PutObjectCommand')!;
    expect(put['x-amz-checksum-sha256']).toBe(Buffer.from(artifact.sha256, 'hex').toString('base64'));
    expect((await store.get(a, 'reports/ü 1.json'))?.meta.metadata).toEqual({ origin: 'test', Team: 'blue' });
  });

  it('refuses a put over the quota without leaving an object, a row or reserved bytes', async () => {
    const { store, bucket, table } = await open();
    const small = testSession('small', { limits: { maxTotalArtifactBytes: 100 } });
    await store.put(small, 'kept', write('x'.repeat(60)));
    const usage = new TenantUsage(dynamo, table);
    await expect(store.put(small, 'too-big', write('y'.repeat(41)))).rejects.toMatchObject({
      code: 'quota_exceeded',
      message: "storing 41 bytes would bring the tenant's artifacts to 101 bytes, over maxTotalArtifactBytes 100",
    });
    await expect(store.put(small, 'alone-too-big', write('z'.repeat(101)))).rejects.toMatchObject({ code: 'quota_exceeded' });
    const fresh = testSession('fresh', { limits: { maxTotalArtifactBytes: 10 } });
    await expect(store.put(fresh, 'first', write('w'.repeat(11)))).rejects.toMatchObject({ code: 'quota_exceeded' });

    expect(await store.get(small, 'too-big')).toBeUndefined();
    expect((await store.list(small, { prefix: '', limit: 10 })).items.map((i) => i.key)).toEqual(['kept']);
    expect(await objectKeys(bucket)).toHaveLength(1);
    expect(await objectKeys(bucket, 'tenants/fresh/')).toEqual([]);
    expect(await usage.read('T#small', 'artifactBytes')).toBe(60);
    expect(await usage.read('T#fresh', 'artifactBytes')).toBe(0);
  });

  it('undoes a put whose upload or index write fails, and keeps one whose index write answer was lost', async () => {
    const table = await createTestTable(dynamo);
    const bucket = await createTestBucket(s3);
    const faultyDynamo = dynamoClient(dynalite.endpoint);
    const faultyS3 = s3Client(fauxqs.endpoint);
    let fault: 'upload' | 'index-before' | 'index-after' | undefined;
    const isIndexPut = (commandName: string | undefined, input: unknown) => {
      const sk = (input as { Item?: { sk?: string | { S?: string } } }).Item?.sk;
      return (commandName === 'PutCommand' || commandName === 'PutItemCommand') && String(typeof sk === 'object' ? sk.S : sk).startsWith('ART#');
    };
    faultyDynamo.middlewareStack.add(
      (next, context) => async (args) => {
        if (!isIndexPut(context.commandName, args.input)) return next(args);
        if (fault === 'index-before') throw Object.assign(new Error('injected: connection reset'), { name: 'NetworkingError' });
        const result = await next(args);
        if (fault === 'index-after') throw Object.assign(new Error('injected: answer lost'), { name: 'NetworkingError' });
        return result;
      },
      { step: 'initialize', name: 'inject-dynamo-fault' },
    );
    faultyS3.middlewareStack.add(
      (next, context) => async (args) => {
        if (fault === 'upload' && context.commandName === 'PutObjectCommand') {
          await next(args); // the body arrives, then the answer is lost
          throw Object.assign(new Error('injected: upload answer lost'), { name: 'NetworkingError' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'inject-s3-fault' },
    );
    try {
      const store = new S3ArtifactStore(faultyDynamo, table, faultyS3, bucket);
      const usage = new TenantUsage(dynamo, table);
      const a = testSession('tenant-a');
      await store.put(a, 'k', write('first'));

      for (const injected of ['upload', 'index-before'] as const) {
        fault = injected;
        await expect(store.put(a, 'k', write('second, longer'))).rejects.toThrow(/injected/);
        await expect(store.put(a, 'new', write('fresh'))).rejects.toThrow(/injected/);
        fault = undefined;
        expect((await store.get(a, 'k'))?.body.toString(), injected).toBe('first');
        expect(await store.get(a, 'new'), injected).toBeUndefined();
        expect(await objectKeys(bucket), injected).toHaveLength(1);
        expect(await usage.read('T#tenant-a', 'artifactBytes'), injected).toBe(5);
      }

      fault = 'index-after';
      expect(await store.put(a, 'k', write('third!'))).toMatchObject({ version: 2, size: 6 });
      fault = undefined;
      expect((await store.get(a, 'k'))?.body.toString()).toBe('third!');
      expect(await objectKeys(bucket)).toHaveLength(1);
      expect(await usage.read('T#tenant-a', 'artifactBytes')).toBe(6);
    } finally {
      faultyDynamo.destroy();
      faultyS3.destroy();
    }
  });

  it('sweeps objects no index row points to and keeps live ones', async () => {
    const { store, bucket, advance } = await open();
    const a = testSession('tenant-a');
    await store.put(a, 'live', write('live body'));
    await store.put(a, 'replaced', write('old'));
    await store.put(a, 'replaced', write('new'));
    const live = await objectKeys(bucket);
    // What a crash between upload and index write leaves: an object of the tenant's shape, no row for it.
    const orphan = `tenants/tenant-a/${Buffer.from('live').toString('base64url')}/${'0'.repeat(32)}`;
    const orphanOfMissingKey = `tenants/tenant-b/${Buffer.from('never-indexed').toString('base64url')}/${'1'.repeat(32)}`;
    const foreign = 'tenants/not-ours.txt';
    for (const Key of [orphan, orphanOfMissingKey, foreign]) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }));

    expect(await store.sweepOrphans(60_000)).toBe(0); // all younger than a minute
    advance(120_000);
    expect(await store.sweepOrphans(60_000)).toBe(2);
    expect((await objectKeys(bucket)).sort()).toEqual([...live, foreign].sort());
    expect((await store.get(a, 'live'))?.body.toString()).toBe('live body');
    expect((await store.get(a, 'replaced'))?.body.toString()).toBe('new');
  });

  it('ends concurrent puts on one key with one consistent row, its object, and no leaked objects or bytes', async () => {
    const { store, bucket, table } = await open();
    const a = testSession('tenant-a');
    const bodies = Array.from({ length: 10 }, (_, i) => `writer ${i} `.repeat(i + 1));
    const results = await Promise.all(bodies.map((body) => store.put(a, 'contended', write(body))));
    expect(results.map((r) => r.version).sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));

    const got = await store.get(a, 'contended');
    expect(got!.meta.version).toBe(10);
    expect(got!.meta.sha256).toBe(createHash('sha256').update(got!.body).digest('hex'));
    expect(results.find((r) => r.version === 10)!.sha256).toBe(got!.meta.sha256);
    expect(await objectKeys(bucket)).toHaveLength(1);
    expect(await new TenantUsage(dynamo, table).read('T#tenant-a', 'artifactBytes')).toBe(got!.body.length);

    await Promise.all([store.delete(a, 'contended'), store.put(a, 'contended', write('after'))]);
    const remaining = await store.get(a, 'contended');
    const objects = await objectKeys(bucket);
    expect(objects).toHaveLength(remaining ? 1 : 0);
    expect(await new TenantUsage(dynamo, table).read('T#tenant-a', 'artifactBytes')).toBe(remaining?.body.length ?? 0);
  });

  it('keeps two tenants apart over hundreds of random keys', async () => {
    const seed = Date.now() % 1_000_000;
    const random = new Rng(seed);
    const { store, bucket } = await open();
    const tenants = { a: testSession('iso-a'), b: testSession('iso-a.b') };
    const alphabet = ['a', 'b', 'Z', '0', '9', '-', '_', '.', ' ', '/', '/', 'é', 'ß', '日', '本', '🙂', '\u0301', '+', '%', '#', '~'];
    const randomKey = (): string => {
      const long = random.chance(0.05);
      const length = long ? random.range(120, 200) : random.range(1, 24);
      let key = '';
      while (key.length < length) key += random.pick(alphabet);
      return key;
    };
    const keys = new Set<string>();
    while (keys.size < 320) {
      try {
        const key = validateKey(randomKey());
        if (!key.endsWith('/') || random.chance(0.5)) keys.add(key);
      } catch {
        // invalid keys (a "." segment, a leading "/", too long) never reach a driver
      }
    }
    const expected = { a: new Map<string, string>(), b: new Map<string, string>() };
    const jobs: Array<() => Promise<unknown>> = [];
    for (const key of keys) {
      for (const side of ['a', 'b'] as const) {
        if (random.chance(0.6)) {
          const body = `${side}:${key}:${random.int(1000)}`;
          expected[side].set(key, body);
          jobs.push(() => store.put(tenants[side], key, write(body)));
        }
      }
    }
    for (let i = 0; i < jobs.length; i += 16) await Promise.all(jobs.slice(i, i + 16).map((job) => job()));

    const byUtf8 = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));
    for (const side of ['a', 'b'] as const) {
      const listed: string[] = [];
      let after: string | undefined;
      do {
        const page = await store.list(tenants[side], { prefix: '', limit: random.range(1, 60), ...(after !== undefined && { after }) });
        listed.push(...page.items.map((i) => i.key));
        after = page.nextAfter;
      } while (after !== undefined);
      expect(listed, `seed ${seed}`).toEqual([...expected[side].keys()].sort(byUtf8));

      for (let i = 0; i < 40; i++) {
        const prefix = [...random.pick([...keys])].slice(0, random.range(0, 4)).join('');
        const page = await store.list(tenants[side], { prefix, limit: 1000 });
        const want = [...expected[side].keys()].filter((k) => k.startsWith(prefix)).sort(byUtf8);
        expect(page.items.map((item) => item.key), `seed ${seed} prefix ${JSON.stringify(prefix)}`).toEqual(want);
      }
    }
    const reads = await Promise.all(
      [...keys].flatMap((key) => (['a', 'b'] as const).map(async (side) => [side, key, (await store.get(tenants[side], key))?.body.toString()] as const)),
    );
    for (const [side, key, body] of reads) expect(body, `seed ${seed} ${side} ${JSON.stringify(key)}`).toBe(expected[side].get(key));

    // Every object sits under its own tenant's prefix: one per stored artifact, none shared.
    const objects = await objectKeys(bucket);
    expect(objects.filter((k) => k.startsWith('tenants/iso-a/'))).toHaveLength(expected.a.size);
    expect(objects.filter((k) => k.startsWith('tenants/iso-a.b/'))).toHaveLength(expected.b.size);
    expect(objects).toHaveLength(expected.a.size + expected.b.size);

    // Deleting in one tenant never touches the other.
    const shared = [...keys].find((k) => expected.a.has(k) && expected.b.has(k))!;
    expect(await store.delete(tenants.b, shared)).toBe(true);
    expect((await store.get(tenants.a, shared))?.body.toString()).toBe(expected.a.get(shared));
  });
});
