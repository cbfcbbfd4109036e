/**
 * Checks `SK…:secret` pairs against the key registry. The registry's state is consulted on every
 * request, so a revoked key fails as soon as this process has folded its `ApiKeyRevoked`; the cache
 * only remembers which secret was last verified for a key, so scrypt runs once per key per `ttlMs`
 * rather than on every request.
 *
 * Key sids are not secret (the audit shows them), so anyone can make the API hash wrong secrets. At most
 * `concurrency` hashes run at once (they take libuv threads the rest of the process shares) and at most
 * `maxWaiting` wait; beyond that a request is turned away (503) instead of queueing without end. Keys
 * already verified are not affected: they are answered from the cache.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyState } from './events.ts';
import type { ApiKeyRegistry } from './registry.ts';
import { digestOf, KEY_SID, verifySecret } from './secret.ts';

/** Too many secrets are being verified: try again shortly. */
export class AuthenticationBusyError extends Error {
  override readonly name = 'AuthenticationBusyError';
}

export interface Authenticator {
  /**
   * The key, when `sid` names a key that is not revoked and `secret` is its secret; throws
   * AuthenticationBusyError when the secret would have to wait too long to be verified.
   */
  authenticate(sid: string, secret: string): Promise<ApiKeyState | undefined>;
}

export interface AuthenticatorOptions {
  /** How long a verified secret is trusted without hashing it again (default 5 minutes). */
  ttlMs?: number;
  /** Cached keys at most (default 10,000); the oldest entry goes first. */
  maxEntries?: number;
  /** Secrets hashed at once (default 2) and waiting their turn (default 64). */
  concurrency?: number;
  maxWaiting?: number;
  now?: () => number;
}

export function createAuthenticator(keys: ApiKeyRegistry, options: AuthenticatorOptions = {}): Authenticator {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const verified = new Map<string, { digest: Buffer; until: number }>();
  const concurrency = options.concurrency ?? 2;
  const maxWaiting = options.maxWaiting ?? 64;
  // Concurrent first requests with one key share one scrypt instead of each starting their own.
  const pending = new Map<string, Promise<boolean>>();
  let running = 0;
  const waiting: (() => void)[] = [];

  async function limited<T>(work: () => Promise<T>): Promise<T> {
    if (running < concurrency) running++;
    else {
      if (waiting.length >= maxWaiting) throw new AuthenticationBusyError('too many API keys being verified');
      // The slot is handed over by the finishing hash, so `running` already counts this one.
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  }

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
        check = limited(() => verifySecret(secret, key.secretHash)).finally(() => pending.delete(flight));
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
