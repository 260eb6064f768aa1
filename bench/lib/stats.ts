export interface LatencySummary {
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** calls/s from the summed latencies (so interleaved measurements can be split), p50 and p99. */
export function summarize(latencies: number[]): LatencySummary {
  const total = latencies.reduce((sum, ms) => sum + ms, 0);
  const sorted = [...latencies].sort((a, b) => a - b);
  return { callsPerSecond: (latencies.length * 1000) / total, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], fraction: number): number {
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The element with the median key (the upper middle one when the count is even). */
export function medianBy<T>(items: T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor(sorted.length / 2)]!;
}

export const fixed = (value: number, digits: number): string => value.toFixed(digits);
export const round3 = (value: number): number => Math.round(value * 1000) / 1000;
