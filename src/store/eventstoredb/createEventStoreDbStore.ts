import { EventStoreDBClient } from '@eventstore/db-client';
import type { AllSubscription, EventStore } from '../port.ts';
import { appendToStream, createSentIds } from './append.ts';
import { countEvents, headPosition, readAll, readStream } from './read.ts';
import { subscribeToAll } from './subscription.ts';

export interface EventStoreDbOptions {
  /** An EventStoreDB connection string, e.g. `esdb://localhost:2113?tls=false`. */
  url: string;
}

/**
 * The event store on EventStoreDB (gRPC client `@eventstore/db-client`, server 22.6 or later).
 *
 * - Revisions are EventStoreDB's stream revisions; expected revisions map one to one
 *   (mapping.ts), and a conflict becomes the port's WrongExpectedVersionError with the actual revision.
 * - Positions are commit offsets in the transaction log (mapping.ts): increasing but not contiguous,
 *   exact as numbers up to 2^53 - 1.
 * - `$all` holds only the application's events: system events (`$` types, `$` streams) are skipped.
 * - Idempotent re-append as the port requires: append.ts (the store remembers the ids it sent, so a
 *   retry is looked up before it is sent, and new ids cost one round trip).
 * - Event ids must be UUIDs; `correlationId`/`causationId` are stored as `$correlationId`/`$causationId`.
 *
 * One client (one gRPC channel) per store; the client connects on first use. `close()` ends the open
 * subscriptions and disposes of the client.
 */
export function createEventStoreDbStore(options: EventStoreDbOptions): EventStore {
  return eventStoreOn(EventStoreDBClient.connectionString(options.url));
}

/** The parts of the client the store uses; tests pass a fake. */
export type EsdbStoreClient = Pick<
  EventStoreDBClient,
  'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'
>;

/** The store over a client it owns from then on (`close()` disposes of it). */
export function eventStoreOn(client: EsdbStoreClient): EventStore {
  const subscriptions = new Set<AllSubscription>();
  const sent = createSentIds();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new Error('event store is closed');
  };

  return {
    async appendToStream(stream, events, { expectedRevision }) {
      assertOpen();
      return appendToStream(client, stream, events, expectedRevision, sent);
    },

    async readStream(stream, options) {
      assertOpen();
      return readStream(client, stream, options);
    },

    async readAll(options) {
      assertOpen();
      return readAll(client, options);
    },

    subscribeToAll(options = {}) {
      assertOpen();
      const subscription = subscribeToAll(client, options.after ?? 0, () =>
        subscriptions.delete(subscription),
      );
      subscriptions.add(subscription);
      return subscription;
    },

    async headPosition() {
      assertOpen();
      return headPosition(client);
    },

    async countEvents(after, upTo) {
      assertOpen();
      return countEvents(client, after, upTo);
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      await client.dispose();
    },
  };
}
