/**
 * Pure translations between the port's types and the EventStoreDB client's (no I/O in this file).
 *
 * Positions: the port wants one monotonic number per event in `$all`. EventStoreDB identifies a place in
 * its transaction log by a `{ commit, prepare }` pair of byte offsets. Every append through the gRPC API is
 * an implicit transaction whose events are each committed on their own record, so for those events
 * `commit === prepare` and each event of a multi-event append still gets its own, increasing offset. We use
 * the commit offset as the position, converted from bigint to number: exact up to 2^53 - 1 bytes of
 * transaction log (8 PiB); past that the conversion throws instead of silently rounding. Events written
 * in explicit (legacy TCP) transactions share their commit offset and are not supported.
 */
import {
  ANY,
  type AppendExpectedRevision,
  type CurrentRevision,
  ErrorType,
  type EventData as EsdbEventData,
  type RecordedEvent as EsdbRecordedEvent,
  type WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  type JSONType,
  jsonEvent,
  NO_STREAM,
  type Position,
  type ReadPosition,
  START,
  STREAM_EXISTS,
} from '@eventstore/db-client';
import {
  type EventData,
  type EventMetadata,
  type ExpectedRevision,
  type RecordedEvent,
  WrongExpectedVersionError,
} from '../port.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Our expected revision in the client's words: 'no-stream' -> NO_STREAM, n -> BigInt(n), and so on. */
export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no-stream':
      return NO_STREAM;
    case 'stream-exists':
      return STREAM_EXISTS;
    default:
      assertWholeNumber(expected, 'expected revision');
      return BigInt(expected);
  }
}

/** The client's current revision of a stream (`no_stream` when it does not exist) in the port's words. */
export function fromEsdbCurrentRevision(current: CurrentRevision): number | 'no-stream' {
  return current === NO_STREAM ? 'no-stream' : bigintToNumber(current, 'revision');
}

/** A stream revision (bigint) as a number; revisions past 2^53 - 1 throw. */
export function revisionToNumber(revision: bigint): number {
  return bigintToNumber(revision, 'revision');
}

/** The port's position of an event: its commit offset in the transaction log. */
export function positionToNumber(position: Position): number {
  return bigintToNumber(position.commit, 'position');
}

/**
 * Where a forward read or subscription starts so that it covers everything after `after`: `START` for 0,
 * otherwise the event's own `{ commit, prepare }` pair (equal for gRPC appends, see above). A forward
 * `$all` read includes the event at that position and a subscription excludes it, so callers still drop
 * events whose position is not greater than `after`.
 */
export function toReadPosition(after: number): ReadPosition {
  assertWholeNumber(after, 'position');
  if (after === 0) return START;
  const offset = BigInt(after);
  return { commit: offset, prepare: offset };
}

/** Does the client's error say the expected revision did not match? */
export function isEsdbWrongExpectedVersion(error: unknown): error is EsdbWrongExpectedVersionError {
  return (
    error instanceof Error &&
    (error as { type?: unknown }).type === ErrorType.WRONG_EXPECTED_VERSION &&
    'actualVersion' in error
  );
}

/** The client's wrong-expected-version error as ours, with the stream's actual revision. */
export function toWrongExpectedVersion(
  stream: string,
  expected: ExpectedRevision,
  error: EsdbWrongExpectedVersionError,
): WrongExpectedVersionError {
  return new WrongExpectedVersionError(stream, expected, fromEsdbCurrentRevision(error.actualVersion));
}

/** Is this a stream-not-found error (reading a stream that does not exist)? */
export function isStreamNotFound(error: unknown): boolean {
  return error instanceof Error && (error as { type?: unknown }).type === ErrorType.STREAM_NOT_FOUND;
}

/**
 * Our metadata as stored: everything as is, except `correlationId` and `causationId`, which are stored as
 * EventStoreDB's own `$correlationId` and `$causationId` so its tooling (e.g. the `$by_correlation_id`
 * projection) understands them.
 */
export function toEsdbMetadata(metadata: EventMetadata): Record<string, unknown> {
  const { correlationId, causationId, ...rest } = metadata;
  const stored: Record<string, unknown> = { ...rest };
  if (correlationId !== undefined) stored.$correlationId = correlationId;
  if (causationId !== undefined) stored.$causationId = causationId;
  return stored;
}

/** Stored metadata back in our words (`$correlationId` -> `correlationId`, ...); anything not a JSON object reads as `{}`. */
export function fromEsdbMetadata(stored: unknown): EventMetadata {
  if (
    typeof stored !== 'object' ||
    stored === null ||
    Array.isArray(stored) ||
    stored instanceof Uint8Array
  ) {
    return {};
  }
  const { $correlationId, $causationId, ...rest } = stored as Record<string, unknown>;
  const metadata: EventMetadata = { ...rest };
  if ($correlationId !== undefined) metadata.correlationId = $correlationId as string;
  if ($causationId !== undefined) metadata.causationId = $causationId as string;
  return metadata;
}

/** An event to append, as a JSON event (EventStoreDB requires the id to be a UUID). */
export function toEsdbEvent(event: EventData): EsdbEventData {
  return jsonEvent({
    id: event.id,
    type: event.type,
    // The client's JSONType leaves out null and scalars, which JSON itself allows.
    data: (event.data ?? null) as JSONType,
    metadata: toEsdbMetadata(event.metadata ?? {}),
  });
}

/** A stored event in the port's words. Needs the event's `$all` position (reported by EventStoreDB >= 22.6). */
export function fromEsdbRecordedEvent(event: EsdbRecordedEvent): RecordedEvent {
  if (!event.position) {
    throw new Error(
      `EventStoreDB did not report the $all position of ${event.streamId}@${event.revision} (needs server 22.6 or later)`,
    );
  }
  return {
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: fromEsdbMetadata(event.metadata),
    streamName: event.streamId,
    revision: revisionToNumber(event.revision),
    position: positionToNumber(event.position),
    recordedAt: event.created.toISOString(),
  };
}

/**
 * EventStoreDB's own events: `$`-prefixed types (stats, metadata, projection links `$>`, ...) and anything
 * in a `$`-prefixed stream. The port's `$all` holds only the application's events.
 */
export function isSystemEvent(event: { type: string; streamId: string }): boolean {
  return event.type.startsWith('$') || event.streamId.startsWith('$');
}

/** Event ids compare without regard to case: the server hands UUIDs back in lower case. */
export const sameId = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function bigintToNumber(value: bigint, what: string): number {
  if (value < 0n || value > MAX_SAFE) {
    throw new RangeError(`EventStoreDB ${what} ${value} is outside 0..2^53-1 and cannot be a number`);
  }
  return Number(value);
}

function assertWholeNumber(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${what} must be a whole number >= 0, got ${String(value)}`);
  }
}
