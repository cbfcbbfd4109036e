/**
 * The event store port. Every backend (in-memory, SQLite, PostgreSQL, EventStoreDB) implements this
 * interface and passes the same contract suite (test/store/contract.ts).
 *
 * Revisions are per stream and start at 0. Positions are global across `$all`, start at 1 and only grow;
 * position 0 means "before the first event" and is the natural initial checkpoint.
 */

/** Metadata every event carries so a later reader can follow cause and effect. */
export interface EventMetadata {
  /** The id shared by everything that happened because of one outside input (e.g. one SIP request). */
  correlationId?: string;
  /** The id of the event or message that directly caused this event. */
  causationId?: string;
  /** The version of the machine that accepted the input, so replays can detect behaviour changes. */
  machineVersion?: string;
  [key: string]: unknown;
}

export interface EventData<Type extends string = string, Data = unknown> {
  /** A unique id (UUID). Re-appending an event with an id already in the stream is a no-op. */
  id: string;
  type: Type;
  data: Data;
  metadata: EventMetadata;
}

export interface RecordedEvent<Type extends string = string, Data = unknown> extends EventData<Type, Data> {
  streamName: string;
  revision: number;
  position: number;
  /** ISO-8601 time the store recorded the event. */
  recordedAt: string;
}

/**
 * - `no-stream`: the stream must not exist yet.
 * - `stream-exists`: the stream must have at least one event.
 * - `any`: no check.
 * - a number: the revision of the stream's last event must be exactly this.
 */
export type ExpectedRevision = 'any' | 'no-stream' | 'stream-exists' | number;

export interface AppendResult {
  /** Revision of the stream's last event after the append; pass it as the next expected revision. */
  nextExpectedRevision: number;
  /** Global position of the last event of this append. */
  position: number;
}

export interface ReadStreamOptions {
  /** First revision to return (inclusive). Default 0. */
  fromRevision?: number;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Return events whose position is strictly greater than this. Default 0 (from the start). */
  after?: number;
  maxCount?: number;
}

export interface SubscribeToAllOptions {
  /** Deliver events whose position is strictly greater than this checkpoint. Default 0. */
  after?: number;
}

/**
 * A catch-up subscription: first every stored event after the checkpoint, then live events as they are
 * appended, in position order, without gaps or repeats. Iterate it with `for await`; `close()` ends the
 * iteration.
 */
export interface AllSubscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

export interface EventStore {
  /**
   * Appends events to a stream atomically, checking the expected revision inside the same transaction.
   * Throws WrongExpectedVersionError on a mismatch. If every event id of the batch is already stored in
   * the stream (a retry of a successful append), nothing is written and the original result is returned.
   */
  appendToStream(
    stream: string,
    events: EventData[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult>;
  /** Events of one stream in revision order; an empty array when the stream does not exist. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Events of every stream in global position order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options?: SubscribeToAllOptions): AllSubscription;
  /** Position of the newest event, 0 when the store is empty. */
  headPosition(): Promise<number>;
  /**
   * Number of events whose position is in (`after`, `upTo`]. Backends whose positions are not
   * consecutive event numbers (PostgreSQL sequences skip values a rolled-back append took; EventStoreDB
   * positions are byte offsets in its log) implement it; elsewhere the difference of positions is the
   * count (see `eventsBetween`).
   */
  countEvents?(after: number, upTo: number): Promise<number>;
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  override readonly name = 'WrongExpectedVersionError';
  constructor(
    readonly streamName: string,
    readonly expected: ExpectedRevision,
    /** Revision of the stream's last event, or 'no-stream'. */
    readonly actual: number | 'no-stream',
  ) {
    super(`stream ${streamName}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}

/** Checks an expected revision against the stream's current revision; shared by every backend. */
export function revisionMatches(expected: ExpectedRevision, actual: number | 'no-stream'): boolean {
  if (expected === 'any') return true;
  if (expected === 'no-stream') return actual === 'no-stream';
  if (expected === 'stream-exists') return actual !== 'no-stream';
  return actual === expected;
}

/** Events stored in (`after`, `upTo`]: counted by the backend when its positions are not event numbers. */
export function eventsBetween(store: EventStore, after: number, upTo: number): Promise<number> {
  if (upTo <= after) return Promise.resolve(0);
  return store.countEvents ? store.countEvents(after, upTo) : Promise.resolve(upTo - after);
}
