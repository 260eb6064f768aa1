import { DynamoDBClient, DynamoDBServiceException, GetItemCommand, ProvisionedThroughputExceededException, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { NoSuchBucket } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { asMeshError, dependencyProblem, MeshError } from '../../src/errors.js';
import { freePort } from '../helpers/aws-emulators.js';

const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe('errors of the services agent-mesh stands on', () => {
  it('an AWS client that cannot connect is unreachable, and tells the tenant unavailable without the endpoint', async () => {
    const port = await freePort();
    const client = new DynamoDBClient({ region: 'us-west-2', endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const error = await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })).catch((caught: unknown) => caught);
    client.destroy();
    expect(dependencyProblem(error)).toBe('unreachable');
    const meshError = asMeshError(error);
    expect(meshError.code).toBe('unavailable');
    expect(meshError.message).toMatch(/did not answer; retry later/);
    expect(meshError.message).not.toContain(String(port));
  });

  it.each([
    ['throttling', new ProvisionedThroughputExceededException({ message: 'slow down', ...metadata(400) }), 'throttled'],
    ['a server fault', new DynamoDBServiceException({ name: 'InternalServerError', $fault: 'server', message: 'oops', ...metadata(500) }), 'throttled'],
    ['an unmodelled 503', new DynamoDBServiceException({ name: 'Unknown', $fault: 'server', message: '', ...metadata(503) }), 'throttled'],
    ['a missing table', new ResourceNotFoundException({ message: 'Requested resource not found', ...metadata(400) }), 'missing'],
    ['a missing bucket', new NoSuchBucket({ message: 'The specified bucket does not exist', ...metadata(404) }), 'missing'],
    [
      'an IAM refusal naming the account',
      new DynamoDBServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'User arn:aws:iam::123456789012:user/x is not authorized', ...metadata(400) }),
      'denied',
    ],
    ['no credentials', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'credentials'],
    ['a Redis socket refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }), 'unreachable'],
  ])('%s is a dependency failing, and nothing of the deployment reaches the tenant', (_label, error, problem) => {
    expect(dependencyProblem(error)).toBe(problem);
    const meshError = asMeshError(error);
    expect(meshError.code).toBe('unavailable');
    expect(meshError.message).not.toMatch(/123456789012|arn:|6379|bucket does not exist/);
  });

  it.each([
    ['a conditional check the driver handles', new DynamoDBServiceException({ name: 'ConditionalCheckFailedException', $fault: 'client', message: 'failed', ...metadata(400) })],
    ['a validation error (a bug of ours)', new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', message: 'bad', ...metadata(400) })],
    ['a plain bug', new TypeError('x is undefined')],
    ['a thrown string', 'nope'],
  ])('%s is not a dependency failing: internal', (_label, error) => {
    expect(dependencyProblem(error)).toBeUndefined();
    expect(asMeshError(error).code).toBe('internal');
  });

  it('keeps a MeshError as it is', () => {
    const own = new MeshError('conflict', 'taken');
    expect(asMeshError(own)).toBe(own);
  });

  it('a full disk under the embedded store is unavailable, saying so, and the write is not there', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT)');
    // SQLite answers SQLITE_FULL when a database reaches max_page_count, as it does when the disk fills.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    let error: unknown;
    try {
      db.prepare('INSERT INTO kv VALUES (?, ?)').run('k', 'x'.repeat(100_000));
    } catch (caught) {
      error = caught;
    }
    expect((error as { code?: string }).code).toBe('SQLITE_FULL');
    expect(asMeshError(error)).toMatchObject({ code: 'unavailable', message: "the data folder's disk is full; free some space and retry" });
    expect(db.prepare('SELECT COUNT(*) AS n FROM kv').get()).toEqual({ n: 0 });
    db.close();
    // An artifact file that found no room: Node's error for it.
    expect(asMeshError(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })).message).toMatch(/disk is full/);
  });

  it('a database opened read-only refuses the write: unavailable, the data folder is read-only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-mesh-readonly-'));
    new Database(join(dir, 'agent-mesh.db')).close();
    const db = new Database(join(dir, 'agent-mesh.db'), { readonly: true });
    let error: unknown;
    try {
      db.exec('CREATE TABLE kv (key TEXT)');
    } catch (caught) {
      error = caught;
    }
    db.close();
    rmSync(dir, { recursive: true, force: true });
    expect((error as { code?: string }).code).toMatch(/^SQLITE_READONLY/);
    expect(asMeshError(error)).toMatchObject({ code: 'unavailable', message: 'the data folder is read-only' });
  });

  it.each([
    ['a busy database', Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), 'the embedded store is busy; retry shortly'],
    ['a read-only file system', Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }), 'the data folder is read-only'],
  ])('%s is unavailable: %s', (_label, error, message) => {
    expect(asMeshError(error)).toMatchObject({ code: 'unavailable', message });
  });
});
