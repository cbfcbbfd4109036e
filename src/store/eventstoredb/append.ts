/**
 * appendToStream on EventStoreDB, with the port's idempotency rule: if every event id of the batch is
 * already in the stream (a retry of an append whose reply was lost), nothing is written and the original
 * result is returned.
 *
 * What the server does by itself (its commit check, before it writes):
 * - Expected revision below the stream's revision: the ids are compared with the events right after the
 *   expected revision. All the same: success with the original revision, but without a position (or
 *   with -1), so the position is read back here. The first one different: a conflict.
 * - Expected revision equal to the stream's revision: the batch is written, whatever ids the stream
 *   already holds. A writer that reloaded the stream after a lost reply, saw its own first try stored
 *   and sent the same ids again at that revision would store every event twice.
 * - 'any' and 'stream-exists': a bounded cache of recent ids, best effort.
 *
 * So this adapter decides itself whenever the ids may already be stored, and leaves the common case (new
 * ids at an exact revision) at one round trip:
 * - 'any' and 'stream-exists': the stream is read backwards first, stopping once every id is found. The
 *   engine appends with exact revisions and never pays this read.
 * - An exact revision: the store remembers the ids it has sent (`SentIds`, bounded), whether the reply
 *   came or not. A batch with any of them is looked up the same way before it is sent, no further back
 *   than the revision its ids' first try could have reached. New ids are sent at once.
 * - A conflict at an exact revision: a committed first try can only sit right after the revision it
 *   expected (appends are contiguous), so exactly those revisions are read back and compared.
 * Some but not all ids already stored is a caller bug: refused, nothing written, whenever a read above
 * sees it, and for one id twice in a batch. What this store has not sent (ids of another client,
 * or sent longer ago than `SentIds` remembers) and sent again at the stream's revision is written again.
 */
import {
  BACKWARDS,
  END,
  type AppendResult as EsdbAppendResult,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import { createLru, type Lru } from '../../shared/lru.ts';
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

/**
 * Event ids (lower case) a store has sent in appends, each with its stream and the lowest revision that
 * append could have stored it at. A retry comes soon after its first try, so a bounded memory covers it.
 */
export type SentIds = Lru<{ stream: string; from: number }>;

export const createSentIds = (maxIds = 16_384): SentIds => createLru(maxIds);

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Appends `events`. Without `sent` (tests, one-off clients) an exact revision relies on the server alone,
 * so a re-append at the stream's revision is written again; the store always passes its own.
 */
export async function appendToStream(
  client: EsdbAppender,
  stream: string,
  events: EventData[],
  expected: ExpectedRevision,
  sent?: SentIds,
): Promise<AppendResult> {
  if (events.length === 0) throw new TypeError(`stream ${stream}: an append needs at least one event`);
  const expectedRevision = toEsdbExpectedRevision(expected);
  assertDistinctIds(stream, events);

  const lookBackTo =
    expected === 'any' || expected === 'stream-exists' ? 0 : sent && sentBefore(sent, stream, events);
  if (lookBackTo !== undefined) {
    const retried = await findStoredBatch(client, stream, events, lookBackTo);
    if (retried) return retried;
  }
  if (sent) remember(sent, stream, events, expected);

  let result: EsdbAppendResult;
  try {
    result = await client.appendToStream(stream, events.map(toEsdbEvent), { expectedRevision });
  } catch (error) {
    if (!isEsdbWrongExpectedVersion(error)) throw error;
    if (expected === 'no-stream' || typeof expected === 'number') {
      const retried = await findBatchAt(client, stream, events, firstRevisionAfter(expected));
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

/** The first revision an append at `expected` writes; 0 when it could be anywhere ('any', ...). */
function firstRevisionAfter(expected: ExpectedRevision): number {
  if (expected === 'no-stream' || expected === 'any' || expected === 'stream-exists') return 0;
  return expected + 1;
}

/**
 * How far back a read must look for the batch when this store has sent some of its ids to this stream
 * before: the lowest revision those sends could have reached (0 unless every id was sent); undefined
 * when none was sent, so the batch goes straight to the server.
 */
function sentBefore(sent: SentIds, stream: string, events: EventData[]): number | undefined {
  let lowest: number | undefined;
  let all = true;
  for (const event of events) {
    const entry = sent.get(event.id.toLowerCase());
    if (entry?.stream !== stream) {
      all = false;
      continue;
    }
    lowest = Math.min(lowest ?? entry.from, entry.from);
  }
  return lowest === undefined ? undefined : all ? lowest : 0;
}

function remember(sent: SentIds, stream: string, events: EventData[], expected: ExpectedRevision): void {
  const from = firstRevisionAfter(expected);
  for (const event of events) {
    const id = event.id.toLowerCase();
    const earlier = sent.get(id);
    sent.set(id, { stream, from: earlier?.stream === stream ? Math.min(earlier.from, from) : from });
  }
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

/**
 * Looks for the batch's ids in the stream, newest first, down to revision `lookBackTo`; the original
 * result if all are there.
 */
async function findStoredBatch(
  client: EsdbAppender,
  stream: string,
  events: EventData[],
  lookBackTo: number,
): Promise<AppendResult | undefined> {
  const wanted = new Set(events.map((event) => event.id.toLowerCase()));
  let newest: RecordedEvent | undefined;
  let found = 0;
  try {
    const read = client.readStream(stream, { direction: BACKWARDS, fromRevision: END });
    await scan(read, ({ event }) => {
      if (!event) return true;
      if (event.revision < lookBackTo) return false;
      if (!wanted.has(event.id.toLowerCase())) return true;
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
