/**
 * appendToStream on EventStoreDB, with the port's idempotency rule: if every event id of the batch is
 * already in the stream (a retry of an append whose reply was lost), nothing is written and the original
 * result is returned.
 *
 * How the rule holds:
 * - Exact expected revision (a number or 'no-stream'): EventStoreDB itself treats the same event ids at
 *   the same expected revision as an idempotent write and answers success with the original revision,
 *   but without a position (or with -1), so the position is read back from the stream. Should the server
 *   answer a conflict instead, a committed first try can only sit right after the revision it expected
 *   (appends are contiguous), so exactly those revisions are read back and compared.
 * - 'any' and 'stream-exists': the server's duplicate check for these is best effort (a bounded cache of
 *   recent ids), so the stream is read backwards first, stopping once every id is found. This costs a
 *   read of the stream per such append; the engine appends with exact revisions and never pays it.
 * Some but not all ids already stored is a caller bug: refused, nothing written, when the read above
 * sees it ('any', 'stream-exists') and for one id twice in a batch. With an exact revision that matches,
 * EventStoreDB does not look for older copies of the ids, so such a batch would be written.
 */
import {
  BACKWARDS,
  END,
  type AppendResult as EsdbAppendResult,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import type { AppendResult, EventData, ExpectedRevision, RecordedEvent } from '../port.ts';
import {
  fromEsdbRecordedEvent,
  isEsdbWrongExpectedVersion,
  isStreamNotFound,
  positionToNumber,
  revisionToNumber,
  sameId,
  toEsdbEvent,
  toEsdbExpectedRevision,
  toWrongExpectedVersion,
} from './mapping.ts';
import { readStream, scan } from './read.ts';

/** The part of the client an append uses; tests pass a fake. */
export type EsdbAppender = Pick<EventStoreDBClient, 'appendToStream' | 'readStream'>;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export async function appendToStream(
  client: EsdbAppender,
  stream: string,
  events: EventData[],
  expected: ExpectedRevision,
): Promise<AppendResult> {
  if (events.length === 0) throw new TypeError(`stream ${stream}: an append needs at least one event`);
  const expectedRevision = toEsdbExpectedRevision(expected);
  assertDistinctIds(stream, events);

  if (expected === 'any' || expected === 'stream-exists') {
    const retried = await findStoredBatch(client, stream, events);
    if (retried) return retried;
  }

  let result: EsdbAppendResult;
  try {
    result = await client.appendToStream(stream, events.map(toEsdbEvent), { expectedRevision });
  } catch (error) {
    if (!isEsdbWrongExpectedVersion(error)) throw error;
    if (expected === 'no-stream' || typeof expected === 'number') {
      const from = expected === 'no-stream' ? 0 : expected + 1;
      const retried = await findBatchAt(client, stream, events, from);
      if (retried) return retried;
    }
    throw toWrongExpectedVersion(stream, expected, error);
  }
  if (!result.success) {
    // Only when the connection string sets throwOnAppendFailure=false, which hides the actual revision.
    throw new Error(`stream ${stream}: append refused; do not set throwOnAppendFailure=false`);
  }

  const nextExpectedRevision = revisionToNumber(result.nextExpectedRevision);
  const reported = result.position;
  // An idempotent write is answered without a position (or with -1, i.e. 2^64 - 1): read it back.
  const position =
    reported && reported.commit <= MAX_SAFE
      ? positionToNumber(reported)
      : await positionOfRevision(client, stream, nextExpectedRevision);
  return { nextExpectedRevision, position };
}

/** The result an append of `events` got if all of them sit at `from`, `from + 1`, ... in that order. */
async function findBatchAt(
  client: EsdbAppender,
  stream: string,
  events: EventData[],
  from: number,
): Promise<AppendResult | undefined> {
  const stored = await readStream(client, stream, { fromRevision: from, maxCount: events.length });
  if (stored.length !== events.length) return undefined;
  if (!stored.every((recorded, index) => sameId(recorded.id, events[index]!.id))) return undefined;
  return resultOf(stored.at(-1)!);
}

/** Looks for the batch's ids anywhere in the stream, newest first; the original result if all are there. */
async function findStoredBatch(
  client: EsdbAppender,
  stream: string,
  events: EventData[],
): Promise<AppendResult | undefined> {
  const wanted = new Set(events.map((event) => event.id.toLowerCase()));
  let newest: RecordedEvent | undefined;
  let found = 0;
  try {
    const read = client.readStream(stream, { direction: BACKWARDS, fromRevision: END });
    await scan(read, ({ event }) => {
      if (!event || !wanted.has(event.id.toLowerCase())) return true;
      found++;
      newest ??= fromEsdbRecordedEvent(event);
      return found < wanted.size;
    });
  } catch (error) {
    if (isStreamNotFound(error)) return undefined;
    throw error;
  }
  if (found === 0) return undefined;
  if (found < wanted.size) {
    throw new Error(`stream ${stream}: some event ids of the batch are already stored`);
  }
  return resultOf(newest!);
}

async function positionOfRevision(client: EsdbAppender, stream: string, revision: number): Promise<number> {
  const [recorded] = await readStream(client, stream, { fromRevision: revision, maxCount: 1 });
  if (!recorded)
    throw new Error(`stream ${stream}: revision ${revision} reported by the append is not readable`);
  return recorded.position;
}

/** One id twice in a batch is a caller bug (EventStoreDB would store both): refuse it before writing. */
function assertDistinctIds(stream: string, events: EventData[]): void {
  const ids = new Set<string>();
  for (const event of events) {
    const id = event.id.toLowerCase();
    if (ids.has(id))
      throw new Error(`stream ${stream}: event id ${event.id} is already stored in this batch`);
    ids.add(id);
  }
}

const resultOf = (recorded: RecordedEvent): AppendResult => ({
  nextExpectedRevision: recorded.revision,
  position: recorded.position,
});
