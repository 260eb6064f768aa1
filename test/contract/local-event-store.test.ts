import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/drivers/local/sqlite-database.js';
import { SqliteEventStore } from '../../src/drivers/local/sqlite-event-store.js';
import { testSession } from '../helpers/sessions.js';
import { delivery, describeEventStoreContract, storedEvent } from './event-store.contract.js';

function localFixture() {
  const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-contract-'));
  const db = openDatabase(dir);
  // A second connection on the same folder, as a second process opens it.
  const peerDb = openDatabase(dir);
  let offset = 0;
  const now = () => Date.now() + offset;
  return {
    store: new SqliteEventStore(db, now),
    peer: new SqliteEventStore(peerDb, now),
    now,
    advance: (ms: number) => void (offset += ms),
    close: async () => {
      peerDb.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeEventStoreContract('sqlite', async () => localFixture());

describe('SqliteEventStore.prune', () => {
  it('deletes events received before the cutoff and finished deliveries, keeping pending ones', async () => {
    const fixture = localFixture();
    try {
      const { store } = fixture;
      const a = testSession('tenant-a');
      await store.append(a, storedEvent(Date.UTC(2024, 0, 1), 'app.old', 'Old', 'old'), [delivery('finished'), delivery('waiting')]);
      const [first] = await store.claimDueDeliveries(fixture.now(), 1, 60_000);
      const finished = first!.id;
      await store.recordAttempt(
        { deliveryId: finished, alertName: 'ops', attempt: 1, at: fixture.now(), ok: true, status: 200, error: null, durationMs: 1 },
        { status: 'delivered', nextAttemptAt: fixture.now() },
      );
      fixture.advance(10_000);
      await store.append(a, storedEvent(Date.UTC(2024, 0, 1), 'app.new', 'New', 'new'), []);

      expect(await store.prune(fixture.now() - 5_000)).toBe(1);
      expect((await store.query(a, { limit: 10 })).map((e) => e.envelope.id)).toEqual(['new']);
      expect(await store.deliveryStats(a)).toEqual({ pending: 1, delivered: 0, failed: 0 });
      expect(await store.recentAttempts(a, 10, false)).toEqual([]);
      expect(await store.prune(fixture.now() - 5_000)).toBe(0);
    } finally {
      await fixture.close();
    }
  });
});
