/**
 * Checks `SK…:secret` pairs against the key registry. The registry's state is consulted on every
 * request, so a revoked key fails as soon as this process has folded its `ApiKeyRevoked`; the cache
 * only remembers which secret was last verified for a key, so scrypt runs once per key per `ttlMs`
 * rather than on every request.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyState } from './events.ts';
import type { ApiKeyRegistry } from './registry.ts';
import { digestOf, KEY_SID, verifySecret } from './secret.ts';

export interface Authenticator {
  /** The key, when `sid` names a key that is not revoked and `secret` is its secret. */
  authenticate(sid: string, secret: string): Promise<ApiKeyState | undefined>;
}

export interface AuthenticatorOptions {
  /** How long a verified secret is trusted without hashing it again (default 5 minutes). */
  ttlMs?: number;
  /** Cached keys at most (default 10,000); the oldest entry goes first. */
  maxEntries?: number;
  now?: () => number;
}

export function createAuthenticator(keys: ApiKeyRegistry, options: AuthenticatorOptions = {}): Authenticator {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const verified = new Map<string, { digest: Buffer; until: number }>();
  // Concurrent first requests with one key share one scrypt instead of each starting their own.
  const pending = new Map<string, Promise<boolean>>();

  return {
    async authenticate(sid, secret) {
      if (!KEY_SID.test(sid)) return undefined;
      const key = keys.get(sid);
      if (!key || key.revokedAt !== null) {
        verified.delete(sid);
        return undefined;
      }
      const digest = digestOf(secret);
      const cached = verified.get(sid);
      if (cached && cached.until > now() && timingSafeEqual(cached.digest, digest)) return key;

      const flight = `${sid}:${digest.toString('hex')}`;
      let check = pending.get(flight);
      if (!check) {
        check = verifySecret(secret, key.secretHash).finally(() => pending.delete(flight));
        pending.set(flight, check);
      }
      if (!(await check)) return undefined;
      // Revoked while the hash was computed: refuse, and remember nothing.
      if (keys.get(sid)?.revokedAt !== null) return undefined;
      verified.delete(sid);
      verified.set(sid, { digest, until: now() + ttlMs });
      if (verified.size > maxEntries) verified.delete(verified.keys().next().value!);
      return key;
    },
  };
}
