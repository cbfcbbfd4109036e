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
import { type EventStore, WrongExpectedVersionError } from '../store/port.ts';
import { createStreamFolds } from '../store/streamFolds.ts';
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
  let follower: AllFollower | undefined;
  const folds = createStreamFolds<ApiKeyState, ApiKeyEvent>({
    store,
    prefix: API_KEY_STREAM_PREFIX,
    isEvent: isApiKeyEvent,
    eventOf: apiKeyEventOf,
    evolve: evolveApiKey,
    log,
    what: 'API key',
  });
  const keys = folds.states;
  const { reload } = folds;

  async function append(sid: string, event: ApiKeyEvent, expectedRevision: number | 'no-stream') {
    const { type, ...data } = event;
    const result = await store.appendToStream(
      apiKeyStreamOf(sid),
      [{ id: randomUUID(), type, data, metadata: { correlationId: `keys;${randomUUID()}` } }],
      { expectedRevision },
    );
    folds.appended(sid, [event], result.nextExpectedRevision);
  }

  const position = await folds.loadAll();

  if (options.follow ?? true) {
    // Resubscribed after a failure (with a back-off): a key revoked elsewhere must still be refused here.
    follower = followAll({
      store,
      after: position,
      name: 'API key registry',
      log,
      ...(options.retryMs ? { firstRetryMs: options.retryMs } : {}),
      onEvent: folds.observe,
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
