/**
 * The live set of API keys. Loads every `apikey-*` stream from `$all`, then follows `$all` so a key
 * created or revoked by another process (`pivot keys`, another `pivot api`) applies here as soon as
 * the store delivers the event: at once on the in-process backends, within the SQLite poll interval
 * (200 ms) for another process on the same file, through LISTEN/NOTIFY on PostgreSQL, by push on
 * EventStoreDB. Its own appends apply at once.
 */
import { randomUUID } from 'node:crypto';
import { type AllFollower, followAll } from '../engine/followAll.ts';
import { type Logger, silentLogger } from '../log.ts';
import { type EventStore, type RecordedEvent, WrongExpectedVersionError } from '../store/port.ts';
import {
  API_KEY_STREAM_PREFIX,
  type ApiKeyCreated,
  type ApiKeyEvent,
  type ApiKeyRole,
  type ApiKeyState,
  apiKeyEventOf,
  apiKeyStreamOf,
  evolveApiKey,
  isApiKeyEvent,
} from './events.ts';
import { hashSecret, newKeySid, newSecret } from './secret.ts';

/** A refused key operation. */
export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
}

export interface CreatedApiKey {
  key: ApiKeyState;
  /** The secret, in clear: the only time it exists outside the caller's hands. */
  secret: string;
}

export interface ApiKeyRegistry {
  get(sid: string): ApiKeyState | undefined;
  /** Every key, revoked ones too, oldest first. */
  list(): ApiKeyState[];
  /** Keys not revoked. */
  active(): ApiKeyState[];
  create(options: { role: ApiKeyRole; name?: string; by?: string }): Promise<CreatedApiKey>;
  revoke(sid: string, options?: { by?: string }): Promise<ApiKeyState>;
  stop(): Promise<void>;
}

export interface ApiKeyRegistryOptions {
  store: EventStore;
  log?: Logger;
  clock?: () => Date;
  /** Follow `$all` for keys created or revoked by other processes (default true). */
  follow?: boolean;
  /** First wait before following `$all` again after the subscription failed (default 1000 ms). */
  retryMs?: number;
}

export async function startApiKeyRegistry(options: ApiKeyRegistryOptions): Promise<ApiKeyRegistry> {
  const { store } = options;
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? (() => new Date());
  const keys = new Map<string, ApiKeyState>();
  let position = 0;
  let follower: AllFollower | undefined;

  async function reload(sid: string): Promise<void> {
    let state: ApiKeyState | undefined;
    for (const recorded of await store.readStream(apiKeyStreamOf(sid))) {
      state = evolveApiKey(state, apiKeyEventOf(recorded), recorded.revision);
    }
    if (state) keys.set(sid, state);
  }

  /** Folds one stored key event in revision order; a gap (a missed event) reloads the stream. */
  function observe(recorded: RecordedEvent): void {
    if (!isApiKeyEvent(recorded)) return;
    const sid = recorded.streamName.slice(API_KEY_STREAM_PREFIX.length);
    const known = keys.get(sid)?.revision ?? -1;
    if (recorded.revision <= known) return;
    if (recorded.revision !== known + 1) {
      void reload(sid).catch((error) => log('error', 'API key reload failed', { sid, error: String(error) }));
      return;
    }
    const next = evolveApiKey(keys.get(sid), apiKeyEventOf(recorded), recorded.revision);
    if (next) keys.set(sid, next);
  }

  async function append(sid: string, event: ApiKeyEvent, expectedRevision: number | 'no-stream') {
    const { type, ...data } = event;
    const result = await store.appendToStream(
      apiKeyStreamOf(sid),
      [{ id: randomUUID(), type, data, metadata: { correlationId: `keys;${randomUUID()}` } }],
      { expectedRevision },
    );
    const revision = result.nextExpectedRevision;
    if ((keys.get(sid)?.revision ?? -1) === revision - 1) {
      const next = evolveApiKey(keys.get(sid), event, revision);
      if (next) keys.set(sid, next);
    }
  }

  for (;;) {
    const page = await store.readAll({ after: position, maxCount: 2000 });
    if (page.length === 0) break;
    for (const recorded of page) {
      position = recorded.position;
      observe(recorded);
    }
  }

  if (options.follow ?? true) {
    // Resubscribed after a failure (with a back-off): a key revoked elsewhere must still be refused here.
    follower = followAll({
      store,
      after: position,
      name: 'API key registry',
      log,
      ...(options.retryMs ? { firstRetryMs: options.retryMs } : {}),
      onEvent: observe,
    });
  }

  const list = () => [...keys.values()].sort((a, b) => a.sid.localeCompare(b.sid));

  return {
    get: (sid) => keys.get(sid),
    list,
    active: () => list().filter((k) => k.revokedAt === null),

    async create({ role, name, by }) {
      const secret = newSecret();
      const sid = newKeySid();
      const event: ApiKeyCreated = {
        type: 'ApiKeyCreated',
        keySid: sid,
        role,
        ...(name ? { name } : {}),
        secretHash: await hashSecret(secret),
        at: clock().toISOString(),
        ...(by ? { by } : {}),
      };
      await append(sid, event, 'no-stream');
      return { key: keys.get(sid)!, secret };
    },

    async revoke(sid, { by } = {}) {
      for (let attempt = 1; ; attempt++) {
        const state = keys.get(sid);
        if (!state) throw new ApiKeyError(`no API key ${sid}`);
        if (state.revokedAt !== null)
          throw new ApiKeyError(`API key ${sid} was revoked at ${state.revokedAt}`);
        try {
          await append(
            sid,
            { type: 'ApiKeyRevoked', keySid: sid, at: clock().toISOString(), ...(by ? { by } : {}) },
            state.revision,
          );
          return keys.get(sid)!;
        } catch (error) {
          // Revoked by someone else in between: read what they stored and say so.
          if (!(error instanceof WrongExpectedVersionError) || attempt >= 3) throw error;
          await reload(sid);
        }
      }
    },

    async stop() {
      await follower?.stop();
    },
  };
}
