/**
 * API keys for tests that call the HTTP API: made in the test's own store, as `pivot keys create`
 * makes them. `startTestPivot` remembers the key it made for its URL, so `readModel(pivot.httpUrl)`
 * authenticates without the tests passing credentials around.
 */
import type { ApiKeyRole } from '../../src/apikeys/events.ts';
import { type ApiKeyRegistry, startApiKeyRegistry } from '../../src/apikeys/registry.ts';
import type { EventStore } from '../../src/store/port.ts';

export interface TestKey {
  sid: string;
  secret: string;
  /** The `Authorization` header value: `Basic base64(sid:secret)`. */
  authorization: string;
}

export const basicAuthorization = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A key made through a registry the caller runs (its own appends apply at once). */
export async function keyFrom(registry: ApiKeyRegistry, role: ApiKeyRole = 'admin'): Promise<TestKey> {
  const { key, secret } = await registry.create({ role, name: `test ${role}` });
  return { sid: key.sid, secret, authorization: basicAuthorization(key.sid, secret) };
}

/** A key stored in `store`, for an API that starts (or follows the store) afterwards. */
export async function createTestKey(store: EventStore, role: ApiKeyRole = 'admin'): Promise<TestKey> {
  const registry = await startApiKeyRegistry({ store, follow: false });
  try {
    return await keyFrom(registry, role);
  } finally {
    await registry.stop();
  }
}

const byUrl = new Map<string, string>();

export function rememberAuthorization(url: string, authorization: string): void {
  byUrl.set(url, authorization);
}

export function forgetAuthorization(url: string): void {
  byUrl.delete(url);
}

/** The `Authorization` a test pivot at `url` accepts, when one was remembered. */
export function authorizationFor(url: string): string | undefined {
  return byUrl.get(url);
}
