/** The key check behind the API: scrypt once per key, revocation at once, bounded hashing. */
import { describe, expect, it } from 'vitest';
import { AuthenticationBusyError, createAuthenticator } from '../../src/apikeys/authenticate.ts';
import type { ApiKeyState } from '../../src/apikeys/events.ts';
import { type ApiKeyRegistry, startApiKeyRegistry } from '../../src/apikeys/registry.ts';
import { hashSecret, verifySecret } from '../../src/apikeys/secret.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';

async function registry() {
  return startApiKeyRegistry({ store: createInMemoryEventStore(), follow: false });
}

/** The registry, with a key's stored hash swapped for one its secret does not match. */
function withHashOf(keys: ApiKeyRegistry, sid: string, other: ApiKeyState['secretHash']): ApiKeyRegistry {
  return { ...keys, get: (s) => (s === sid ? { ...keys.get(sid)!, secretHash: other } : keys.get(s)) };
}

describe('API key authentication', () => {
  it('stores a salted scrypt hash with its parameters, and verifies only the right secret', async () => {
    const a = await hashSecret('secret');
    const b = await hashSecret('secret');
    expect(a).toMatchObject({ algorithm: 'scrypt', N: 16384, r: 8, p: 1, keyLength: 32 });
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(await verifySecret('secret', a)).toBe(true);
    expect(await verifySecret('secreT', a)).toBe(false);
    expect(await verifySecret('secret', { ...a, N: 1024 })).toBe(false);
  });

  it('hashes a key once per TTL: a cached secret is accepted without hashing it again', async () => {
    const keys = await registry();
    const { key, secret } = await keys.create({ role: 'read' });
    const decoy = await hashSecret('something else');
    // The stored hash is swapped for one the secret does not match once the first check is done:
    // while the cache holds, the secret is not hashed again, so it is still accepted.
    let stored: ApiKeyRegistry = keys;
    const view: ApiKeyRegistry = { ...keys, get: (sid) => stored.get(sid) };
    let now = 0;
    const auth = createAuthenticator(view, { ttlMs: 1000, now: () => now });
    expect((await auth.authenticate(key.sid, secret))?.sid).toBe(key.sid);
    stored = withHashOf(keys, key.sid, decoy);
    now = 999;
    expect((await auth.authenticate(key.sid, secret))?.sid).toBe(key.sid);
    // Another secret is never taken from the cache.
    expect(await auth.authenticate(key.sid, `${secret}x`)).toBeUndefined();
    now = 1000;
    expect(await auth.authenticate(key.sid, secret)).toBeUndefined(); // expired: hashed against the decoy
  });

  it('a revoked key is refused on the next check, cached or not', async () => {
    const keys = await registry();
    const { key, secret } = await keys.create({ role: 'admin' });
    const auth = createAuthenticator(keys);
    expect((await auth.authenticate(key.sid, secret))?.role).toBe('admin');
    await keys.revoke(key.sid);
    expect(await auth.authenticate(key.sid, secret)).toBeUndefined();
    await expect(keys.revoke(key.sid)).rejects.toThrow('was revoked at');
  });

  it('hashes at most `concurrency` secrets at once and turns away more than `maxWaiting` waiting', async () => {
    const keys = await registry();
    const { key, secret } = await keys.create({ role: 'read' });
    const auth = createAuthenticator(keys, { concurrency: 1, maxWaiting: 1 });
    const first = auth.authenticate(key.sid, 'wrong-1');
    const second = auth.authenticate(key.sid, 'wrong-2');
    await expect(auth.authenticate(key.sid, 'wrong-3')).rejects.toBeInstanceOf(AuthenticationBusyError);
    expect(await first).toBeUndefined();
    expect(await second).toBeUndefined();
    // The slots are free again.
    expect((await auth.authenticate(key.sid, secret))?.sid).toBe(key.sid);
  });
});
