import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEventStore } from '../../src/drivers/aws/dynamo-event-store.js';
import { testSession } from '../helpers/sessions.js';
import { createTestTable, dynamoClient, startDynalite, type Emulator } from '../helpers/aws-emulators.js';
import { delivery, describeEventStoreContract, storedEvent } from './event-store.contract.js';

const RETENTION_MS = 7 * 86_400_000;
let dynalite: Emulator;

beforeAll(async () => {
  dynalite = await startDynalite();
});

afterAll(async () => {
  await dynalite?.close();
});

async function awsFixture() {
  const client = dynamoClient(dynalite.endpoint);
  const table = await createTestTable(client);
  // The peer has its own client, as another process would.
  const peerClient = dynamoClient(dynalite.endpoint);
  let offset = 0;
  const now = () => Date.now() + offset;
  return {
    client,
    table,
    store: new DynamoEventStore(client, table, { retentionMs: RETENTION_MS, now }),
    peer: new DynamoEventStore(peerClient, table, { retentionMs: RETENTION_MS, now }),
    now,
    advance: (ms: number) => void (offset += ms),
    close: async () => {
      client.destroy();
      peerClient.destroy();
    },
  };
}

const rawItem = async (client: DynamoDBDocumentClient, table: string, pk: string, sk: string) =>
  (await client.send(new GetCommand({ TableName: table, Key: { pk, sk }, ConsistentRead: true }))).Item;

describeEventStoreContract('dynamodb (dynalite)', awsFixture);

describe('DynamoEventStore retention', () => {
  it('relies on DynamoDB TTL: prune does nothing, reads skip what is past retention', async () => {
    const fixture = await awsFixture();
    try {
      const { store, client, table } = fixture;
      const a = testSession('tenant-a');
      const timeMs = Date.UTC(2024, 0, 1);
      const receivedAt = fixture.now();
      await store.append(a, storedEvent(timeMs, 'app.old', 'Old', 'old'), [delivery('finished'), delivery('waiting')]);
      const [first] = await store.claimDueDeliveries(fixture.now(), 1, 60_000);
      await store.recordAttempt(
        { deliveryId: first!.id, alertName: 'ops', attempt: 1, at: fixture.now(), ok: false, status: 500, error: 'boom', durationMs: 1 },
        { status: 'failed', nextAttemptAt: fixture.now() },
      );

      const event = await rawItem(client, table, 'T#tenant-a', `EV#${String(timeMs).padStart(15, '0')}#old`);
      expect(event?.ttl).toBeGreaterThanOrEqual(Math.floor((receivedAt + RETENTION_MS) / 1000));
      expect(event?.ttl).toBeLessThanOrEqual(Math.ceil((fixture.now() + RETENTION_MS) / 1000));
      expect((await rawItem(client, table, 'T#tenant-a', `DLV#${first!.id}`))?.ttl).toEqual(expect.any(Number));
      const pending = await rawItem(client, table, 'T#tenant-a', `DLV#${first!.id === 'finished' ? 'waiting' : 'finished'}`);
      expect(pending?.ttl).toBeUndefined();
      expect(pending?.gsi1pk).toBe('DUE');

      expect(await store.prune(fixture.now() + RETENTION_MS)).toBe(0);
      expect(await store.query(a, { limit: 10 })).toHaveLength(1);

      fixture.advance(RETENTION_MS + 2_000);
      await store.append(a, storedEvent(timeMs, 'app.new', 'New', 'new'), []);
      // dynalite never expires items: these are still stored, and every read skips them.
      expect((await store.query(a, { limit: 10 })).map((e) => e.envelope.id)).toEqual(['new']);
      expect(await store.analytics(a, { startMs: timeMs, endMs: timeMs + 1, bucketMs: 1000, groupBy: 'source' })).toEqual([
        { bucketStartMs: timeMs, group: 'app.new', count: 1 },
      ]);
      expect(await store.deliveryStats(a)).toEqual({ pending: 1, delivered: 0, failed: 0 });
      expect(await store.recentAttempts(a, 10, false)).toEqual([]);
      // A pending delivery never expires, however old.
      expect(await store.claimDueDeliveries(fixture.now(), 10, 60_000)).toHaveLength(1);
    } finally {
      await fixture.close();
    }
  });
});
