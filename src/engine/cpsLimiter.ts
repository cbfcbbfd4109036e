/**
 * Calls per second per trunk, as SIP trunking providers sell it: every new call (either direction) and
 * every accepted transfer (it places a call to the target) takes a token from its trunk's bucket. The
 * bucket holds one second's worth (at least one token) and refills continuously at `cpsLimit` a second,
 * so a burst up to the limit passes and a steady rate above it is cut to the limit.
 *
 * Bounded: one small entry per trunk with a limit; past `maxEntries` (more trunks than that came and
 * went), buckets that have refilled are dropped, which forgets nothing that matters.
 */
export interface CpsLimiter {
  /** Takes a token from the trunk's bucket: false when it is empty (the call is over the limit). */
  take(trunkSid: string, cpsLimit: number | undefined, nowMs: number): boolean;
  readonly size: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
  limit: number;
}

function tokensAt(bucket: Bucket, nowMs: number): number {
  const elapsedSeconds = Math.max(0, nowMs - bucket.atMs) / 1000;
  return Math.min(Math.max(1, bucket.limit), bucket.tokens + elapsedSeconds * bucket.limit);
}

export function createCpsLimiter(maxEntries = 10_000): CpsLimiter {
  const buckets = new Map<string, Bucket>();
  return {
    take(trunkSid, cpsLimit, nowMs) {
      if (cpsLimit === undefined || !(cpsLimit > 0)) return true;
      const previous = buckets.get(trunkSid);
      const tokens = previous ? tokensAt({ ...previous, limit: cpsLimit }, nowMs) : Math.max(1, cpsLimit);
      const allowed = tokens >= 1;
      buckets.set(trunkSid, { tokens: allowed ? tokens - 1 : tokens, atMs: nowMs, limit: cpsLimit });
      if (buckets.size > maxEntries) {
        for (const [sid, bucket] of buckets) {
          if (tokensAt(bucket, nowMs) >= Math.max(1, bucket.limit)) buckets.delete(sid);
        }
      }
      return allowed;
    },
    get size() {
      return buckets.size;
    },
  };
}
