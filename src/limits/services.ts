/** Rate-limited services, named after the AWS service behind them (as in the original design). */
export const RATE_LIMITED_SERVICES = ['dynamodb', 's3', 'eventbridge', 'stepfunctions', 'sns', 'mcp'] as const;
export type RateLimitedService = (typeof RATE_LIMITED_SERVICES)[number];

export interface BucketRule {
  /** Largest burst: the bucket holds at most this many tokens. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export type RateLimitRules = Record<RateLimitedService, BucketRule>;

export const DEFAULT_RATE_LIMITS: RateLimitRules = {
  dynamodb: { capacity: 1000, refillPerSecond: 500 },
  s3: { capacity: 200, refillPerSecond: 100 },
  eventbridge: { capacity: 500, refillPerSecond: 100 },
  stepfunctions: { capacity: 100, refillPerSecond: 20 },
  sns: { capacity: 50, refillPerSecond: 10 },
  mcp: { capacity: 200, refillPerSecond: 50 },
};
