/**
 * A Map whose entries expire: the adapter keeps only short-lived transaction state, and this is where
 * "short-lived" is enforced. Expiry is checked on read and by sweep(), which the adapter calls on a timer.
 */
export interface ExpiringMap<V> {
  get(key: string): V | undefined;
  /** Stores the value until ttlMs from now; onExpire runs when it expires or is cleared (not on delete). */
  set(key: string, value: V, ttlMs: number, onExpire?: (value: V) => void): void;
  /** Extends or shortens the lifetime of an existing entry. */
  expireIn(key: string, ttlMs: number): void;
  delete(key: string): void;
  sweep(): void;
  clear(): void;
  readonly size: number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  onExpire: ((value: V) => void) | undefined;
}

export function createExpiringMap<V>(now: () => number = Date.now): ExpiringMap<V> {
  const entries = new Map<string, Entry<V>>();

  const expire = (key: string, entry: Entry<V>) => {
    entries.delete(key);
    entry.onExpire?.(entry.value);
  };

  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= now()) {
        expire(key, entry);
        return undefined;
      }
      return entry.value;
    },
    set(key, value, ttlMs, onExpire) {
      entries.set(key, { value, expiresAt: now() + ttlMs, onExpire });
    },
    expireIn(key, ttlMs) {
      const entry = entries.get(key);
      if (entry) entry.expiresAt = now() + ttlMs;
    },
    delete(key) {
      entries.delete(key);
    },
    sweep() {
      const t = now();
      for (const [key, entry] of entries) if (entry.expiresAt <= t) expire(key, entry);
    },
    clear() {
      for (const [key, entry] of entries) expire(key, entry);
    },
    get size() {
      return entries.size;
    },
  };
}
