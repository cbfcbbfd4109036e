/**
 * A token bucket per source IP address: each source may send `ratePerSecond` requests on average and
 * `burst` at once. One address flooding the adapter (a broken PBX looping REFERs, a scanner, a
 * spoofed INVITE flood) then costs the engine at most its own share, and other sources keep being
 * served. The buckets live in a bounded LRU, so a flood from ever new addresses cannot grow memory;
 * an evicted source simply starts again with a full bucket.
 */
import { createLru } from '../shared/lru.ts';

export interface SourceLimitOptions {
  ratePerSecond: number;
  burst: number;
  /** Sources remembered at once (default 10,000). */
  maxSources?: number;
}

export interface SourceLimiter {
  /** Takes one token from the source's bucket; false when the bucket is empty. */
  admit(host: string): boolean;
  readonly sources: number;
  clear(): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

export const DEFAULT_MAX_SOURCES = 10_000;

export function createSourceLimiter(options: SourceLimitOptions, now: () => number): SourceLimiter {
  const { ratePerSecond, burst } = options;
  const buckets = createLru<Bucket>(options.maxSources ?? DEFAULT_MAX_SOURCES);
  return {
    admit(host) {
      const t = now();
      const bucket = buckets.get(host);
      if (!bucket) {
        buckets.set(host, { tokens: burst - 1, at: t });
        return burst >= 1;
      }
      // A clock that went backwards refills nothing rather than draining the bucket.
      const elapsedMs = Math.max(0, t - bucket.at);
      bucket.tokens = Math.min(burst, bucket.tokens + (elapsedMs * ratePerSecond) / 1000);
      bucket.at = t;
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
    get sources() {
      return buckets.size;
    },
    clear() {
      buckets.clear();
    },
  };
}
