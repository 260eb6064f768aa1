import { afterAll, describe, expect, it } from 'vitest';
import { errorCode, startServer, structured, tempDataDir, writeConfig } from '../helpers/server-process.js';

describe('several stdio processes on one data folder', () => {
  const data = tempDataDir();
  const config = writeConfig(data.dir, {
    defaults: {
      rateLimits: { dynamodb: { capacity: 100000, refillPerSecond: 100000 }, s3: { capacity: 100000, refillPerSecond: 100000 } },
      limits: { maxKeys: 50 },
    },
  });
  afterAll(() => data.cleanup());

  it('lose no compare-and-set update and keep quotas exact across processes', async () => {
    const env = { AGENT_MESH_DATA_DIR: data.dir, AGENT_MESH_CONFIG: config, AGENT_MESH_TENANT_ID: 'team' };
    const windows = await Promise.all([1, 2, 3].map((n) => startServer({ ...env, AGENT_MESH_USER_ID: `window-${n}` })));
    try {
      await windows[0]!.call('kv_set', { key: 'counter', value: 0 });
      const increment = async (window: (typeof windows)[number]): Promise<void> => {
        for (;;) {
          const current = structured(await window.call('kv_get', { key: 'counter' }));
          const result = await window.call('kv_set', { key: 'counter', value: (current.value as number) + 1, if_version: current.version });
          if (!result.isError) return;
          expect(errorCode(result)).toBe('conflict');
        }
      };
      await Promise.all(windows.flatMap((window) => Array.from({ length: 15 }, () => increment(window))));
      expect(structured(await windows[2]!.call('kv_get', { key: 'counter' })).value).toBe(45);

      // 3 processes race to create 3 x 30 new keys against maxKeys 50 (one is taken by the counter).
      const creations = await Promise.all(
        windows.flatMap((window, w) => Array.from({ length: 30 }, (_, i) => window.call('kv_set', { key: `k/${w}/${i}`, value: i }))),
      );
      expect(creations.filter((r) => !r.isError)).toHaveLength(49);
      expect(creations.filter((r) => errorCode(r) === 'quota_exceeded')).toHaveLength(41);
      const listed = structured(await windows[1]!.call('kv_list', { limit: 1000 }));
      expect((listed.keys as unknown[]).length).toBe(50);

      // An artifact written by one process is whole when another reads it.
      const body = 'x'.repeat(300_000);
      await windows[0]!.call('artifacts_put', { key: 'shared.txt', content: body });
      expect(structured(await windows[1]!.call('artifacts_get', { key: 'shared.txt' })).content).toBe(body);
    } finally {
      await Promise.all(windows.map((window) => window.close()));
    }
  });
});
