import { createAppendNotifier, createCatchUpSubscription } from './catchUpSubscription.ts';
import {
  type AllSubscription,
  type AppendResult,
  type EventData,
  type EventMetadata,
  type EventStore,
  type RecordedEvent,
  revisionMatches,
  WrongExpectedVersionError,
} from './port.ts';

/**
 * An event store held in memory, for unit tests. Same semantics as the durable backends, including
 * idempotent re-append and live subscriptions. Data goes through JSON on the way in, as it would on
 * disk, so a test sees what a durable backend would give back (a Date becomes a string), and reads are
 * copies so a test cannot change history by mutating what it appended or read.
 */
export function createInMemoryEventStore(): EventStore {
  // `all[i]` has position i + 1, so a position is also an index.
  const all: RecordedEvent[] = [];
  const streams = new Map<string, StoredStream>();
  const notifier = createAppendNotifier();
  const subscriptions = new Set<AllSubscription>();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new Error('event store is closed');
  };

  return {
    async appendToStream(stream, events, { expectedRevision }) {
      assertOpen();
      if (events.length === 0) throw new TypeError(`stream ${stream}: an append needs at least one event`);
      const stored: StoredStream = streams.get(stream) ?? { events: [], byId: new Map() };

      const retried = findRetriedAppend(stored, events);
      if (retried) return retried;

      const actual = stored.events.length === 0 ? 'no-stream' : stored.events.length - 1;
      if (!revisionMatches(expectedRevision, actual)) {
        throw new WrongExpectedVersionError(stream, expectedRevision, actual);
      }
      assertNewIds(stream, stored, events);

      const recordedAt = new Date().toISOString();
      for (const event of events) {
        const recorded: RecordedEvent = {
          id: event.id,
          type: event.type,
          data: throughJson(event.data),
          metadata: throughJson(event.metadata) as EventMetadata,
          streamName: stream,
          revision: stored.events.length,
          position: all.length + 1,
          recordedAt,
        };
        stored.events.push(recorded);
        stored.byId.set(recorded.id, recorded);
        all.push(recorded);
      }
      streams.set(stream, stored);
      notifier.notify();
      return { nextExpectedRevision: stored.events.length - 1, position: all.length };
    },

    async readStream(stream, options = {}) {
      assertOpen();
      const from = options.fromRevision ?? 0;
      const stored = streams.get(stream)?.events ?? [];
      return structuredClone(stored.slice(from, end(from, options.maxCount)));
    },

    async readAll(options = {}) {
      assertOpen();
      const after = options.after ?? 0;
      return structuredClone(all.slice(after, end(after, options.maxCount)));
    },

    subscribeToAll(options = {}) {
      assertOpen();
      const subscription = createCatchUpSubscription({
        after: options.after ?? 0,
        readPage: async (after, maxCount) => structuredClone(all.slice(after, after + maxCount)),
        notifier,
        onClose: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription;
    },

    async headPosition() {
      assertOpen();
      return all.length;
    },

    async close() {
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
    },
  };
}

const throughJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null));

interface StoredStream {
  /** `events[r]` has revision r. */
  events: RecordedEvent[];
  byId: Map<string, RecordedEvent>;
}

const end = (start: number, maxCount: number | undefined) =>
  maxCount === undefined ? undefined : start + Math.max(0, maxCount);

/** A retry of a committed append: every id is already in the stream, so answer what the first try got. */
function findRetriedAppend(stored: StoredStream, events: EventData[]): AppendResult | undefined {
  let last: RecordedEvent | undefined;
  for (const event of events) {
    const found = stored.byId.get(event.id);
    if (!found) return undefined;
    if (!last || found.revision > last.revision) last = found;
  }
  return last && { nextExpectedRevision: last.revision, position: last.position };
}

/** Some but not all ids stored (or one id twice in a batch) is a caller bug, not a retry: refuse it. */
function assertNewIds(stream: string, stored: StoredStream, events: EventData[]): void {
  const batchIds = new Set<string>();
  for (const event of events) {
    if (stored.byId.has(event.id) || batchIds.has(event.id)) {
      throw new Error(`stream ${stream}: event id ${event.id} is already stored`);
    }
    batchIds.add(event.id);
  }
}
