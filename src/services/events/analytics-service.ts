import { invalidArgument } from '../../errors.js';
import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { EventStore } from '../../ports/event-store.js';
import { requirePermission } from '../../tenancy/permissions.js';
import type { TenantSession } from '../../tenancy/session.js';
import { parseTime } from './event-input.js';

export type AnalyticsBucket = 'minute' | 'hour' | 'day';
export type AnalyticsGroup = 'detail_type' | 'source';

export interface AnalyticsInput {
  start_time?: string;
  end_time?: string;
  bucket: AnalyticsBucket;
  group_by: AnalyticsGroup;
}

const BUCKET_MS: Record<AnalyticsBucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** Without start_time: the last hour by minute, the last day by hour, the last 30 days by day. */
const DEFAULT_WINDOW_BUCKETS: Record<AnalyticsBucket, number> = { minute: 60, hour: 24, day: 30 };
const MAX_BUCKETS = 10_000;
const TOP_GROUPS = 10;

/** events_analytics: counts per UTC-aligned time bucket and group, with totals and the top groups. */
export class EventAnalyticsService {
  constructor(
    private readonly store: EventStore,
    private readonly limiter: RateLimiter,
    private readonly now: () => number = Date.now,
  ) {}

  async analytics(session: TenantSession, input: AnalyticsInput) {
    requirePermission(session, 'events:read');
    const bucketMs = BUCKET_MS[input.bucket];
    const endMs = input.end_time === undefined ? this.now() : parseTime(input.end_time, 'end_time');
    const startMs = input.start_time === undefined ? endMs - DEFAULT_WINDOW_BUCKETS[input.bucket] * bucketMs : parseTime(input.start_time, 'start_time');
    if (startMs >= endMs) throw invalidArgument('start_time', 'must be before end_time');
    const firstBucket = Math.floor(startMs / bucketMs) * bucketMs;
    const bucketCount = Math.ceil((endMs - firstBucket) / bucketMs);
    if (bucketCount > MAX_BUCKETS) {
      throw invalidArgument('start_time', `the window spans ${bucketCount} ${input.bucket} buckets; at most ${MAX_BUCKETS} (use a larger bucket)`);
    }
    await this.limiter.acquire(session, 'eventbridge');
    const rows = await this.store.analytics(session, { startMs, endMs, bucketMs, groupBy: input.group_by });

    const buckets = Array.from({ length: bucketCount }, (_, i) => ({
      start: new Date(firstBucket + i * bucketMs).toISOString(),
      total: 0,
      counts: {} as Record<string, number>,
    }));
    const totals = new Map<string, number>();
    for (const row of rows) {
      const bucket = buckets[Math.floor((row.bucketStartMs - firstBucket) / bucketMs)];
      if (!bucket) continue;
      bucket.counts[row.group] = (bucket.counts[row.group] ?? 0) + row.count;
      bucket.total += row.count;
      totals.set(row.group, (totals.get(row.group) ?? 0) + row.count);
    }
    const ranked = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([group, count]) => ({ group, count }));
    return {
      bucket: input.bucket,
      group_by: input.group_by,
      start_time: new Date(startMs).toISOString(),
      end_time: new Date(endMs).toISOString(),
      total: ranked.reduce((sum, g) => sum + g.count, 0),
      buckets,
      totals: ranked,
      top: ranked.slice(0, TOP_GROUPS),
    };
  }
}
