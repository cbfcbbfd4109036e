/** Reads: one stream, `$all` forwards, and the head of `$all`. */
import { BACKWARDS, END, type EventStoreDBClient, FORWARDS, type StreamingRead } from '@eventstore/db-client';
import type { ReadAllOptions, ReadStreamOptions, RecordedEvent } from '../port.ts';
import {
  fromEsdbRecordedEvent,
  isStreamNotFound,
  isSystemEvent,
  positionToNumber,
  toReadPosition,
} from './mapping.ts';

/** The part of the client that reads; tests pass a fake. */
export type EsdbReader = Pick<EventStoreDBClient, 'readStream' | 'readAll'>;

/**
 * Visits the events of a read until `visit` returns false. A read stopped early is cancelled, so the
 * server stops sending; reads are streamed with backpressure, so nothing past the stop is buffered.
 */
export async function scan<E>(read: StreamingRead<E>, visit: (event: E) => boolean): Promise<void> {
  for await (const event of read) {
    if (!visit(event)) {
      await read.cancel();
      return;
    }
  }
}

/** Events of one stream in revision order; `[]` when the stream does not exist. */
export async function readStream(
  client: Pick<EsdbReader, 'readStream'>,
  stream: string,
  options: ReadStreamOptions = {},
): Promise<RecordedEvent[]> {
  const { fromRevision = 0, maxCount } = options;
  if (maxCount !== undefined && maxCount <= 0) return [];
  const events: RecordedEvent[] = [];
  try {
    const read = client.readStream(stream, {
      direction: FORWARDS,
      fromRevision: BigInt(fromRevision),
      ...(maxCount !== undefined && { maxCount }),
    });
    await scan(read, ({ event }) => {
      if (event) events.push(fromEsdbRecordedEvent(event));
      return true;
    });
  } catch (error) {
    if (isStreamNotFound(error)) return [];
    throw error;
  }
  return events;
}

/**
 * Application events of `$all` strictly after `after`, at most `maxCount`. System events are skipped on
 * this side: the installed client (6.x) sends no filter with `$all` reads (only subscriptions take one).
 */
export async function readAll(client: EsdbReader, options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
  const { after = 0, maxCount = Number.POSITIVE_INFINITY } = options;
  const fromPosition = toReadPosition(after);
  if (maxCount <= 0) return [];
  const events: RecordedEvent[] = [];
  await scan(client.readAll({ direction: FORWARDS, fromPosition }), ({ event }) => {
    if (!event || isSystemEvent(event)) return true;
    const recorded = fromEsdbRecordedEvent(event);
    // A forward read includes the event at its start position; the port wants strictly after.
    if (recorded.position > after) events.push(recorded);
    return events.length < maxCount;
  });
  return events;
}

/** Position of the newest application event: `$all` read backwards, past system events; 0 if none. */
export async function headPosition(client: EsdbReader): Promise<number> {
  let head = 0;
  await scan(client.readAll({ direction: BACKWARDS, fromPosition: END }), ({ event }) => {
    if (!event || isSystemEvent(event)) return true;
    head = positionToNumber(event.position);
    return false;
  });
  return head;
}

/** Application events of `$all` in (`after`, `upTo`]: positions are byte offsets, so they are counted. */
export async function countEvents(client: EsdbReader, after: number, upTo: number): Promise<number> {
  let count = 0;
  await scan(client.readAll({ direction: FORWARDS, fromPosition: toReadPosition(after) }), ({ event }) => {
    if (!event || isSystemEvent(event)) return true;
    const position = positionToNumber(event.position);
    if (position > upTo) return false;
    if (position > after) count++;
    return true;
  });
  return count;
}
