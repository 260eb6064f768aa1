import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MeshError } from '../../errors.js';
import { isConditionFailure } from './query-pages.js';
import { KIND } from './table-keys.js';

/** How long one call may hold a tenant's rules lock; a crashed holder blocks others at most this long. */
const RULES_LOCK_MS = 5_000;

/**
 * Changes to a tenant's rules and alerts run one at a time under a short lease on the RULESREV item, which
 * makes the quota count and deleteAlert's "no rule targets it" check exact, as SQLite's transactions do.
 * The revision grows only after the change is written, so a process that sees the new revision and lists
 * (consistently) sees the change too.
 */
export class DynamoRulesLock {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async run<T>(pk: string, change: () => Promise<{ result: T; changed: boolean }>): Promise<T> {
    const owner = randomUUID();
    await this.lock(pk, owner);
    let outcome: { result: T; changed: boolean };
    try {
      outcome = await change();
    } catch (error) {
      await this.unlock(pk, owner, false).catch(() => {}); // the lease runs out anyway
      throw error;
    }
    await this.unlock(pk, owner, outcome.changed);
    return outcome.result;
  }

  /** Lease times are wall-clock time across processes, not the injectable clock of stored timestamps. */
  private async lock(pk: string, owner: string): Promise<void> {
    const deadline = Date.now() + RULES_LOCK_MS + 1_000;
    for (let attempt = 0; ; attempt++) {
      const now = Date.now();
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk, sk: KIND.rulesRevision },
            UpdateExpression: 'SET lockOwner = :owner, lockUntil = :until',
            ConditionExpression: 'attribute_not_exists(lockUntil) OR lockUntil <= :now',
            ExpressionAttributeValues: { ':owner': owner, ':until': now + RULES_LOCK_MS, ':now': now },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (now > deadline) {
          throw new MeshError('unavailable', 'rules and alerts of this tenant are being changed by another call; retry shortly', {}, { retryable: true });
        }
        await sleep(Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  }

  private async unlock(pk: string, owner: string, changed: boolean): Promise<void> {
    const key = { pk, sk: KIND.rulesRevision };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: `REMOVE lockOwner, lockUntil${changed ? ' ADD revision :one' : ''}`,
          ConditionExpression: 'lockOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner, ...(changed && { ':one': 1 }) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Our lease ran out and another call holds the lock now: the change is written, so the revision must still grow.
      if (changed) {
        await this.client.send(
          new UpdateCommand({ TableName: this.table, Key: key, UpdateExpression: 'ADD revision :one', ExpressionAttributeValues: { ':one': 1 } }),
        );
      }
    }
  }
}
