import type { EventData, EventMetadata, RecordedEvent } from '../port.ts';

/** One row of the `events` table; data and metadata are JSON text. */
export interface EventRow {
  position: number;
  stream: string;
  revision: number;
  event_id: string;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
}

export const eventColumns = 'position, stream, revision, event_id, type, data, metadata, recorded_at';

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata) as EventMetadata,
    streamName: row.stream,
    revision: row.revision,
    position: row.position,
    recordedAt: row.recorded_at,
  };
}

/** Column values for an insert, in the order of `statements.insert`. */
export function toInsertValues(
  stream: string,
  revision: number,
  event: EventData,
  recordedAt: string,
): [string, number, string, string, string, string, string] {
  return [
    stream,
    revision,
    event.id,
    event.type,
    // `undefined` has no JSON text; store it as null rather than fail the NOT NULL column.
    JSON.stringify(event.data ?? null),
    JSON.stringify(event.metadata ?? {}),
    recordedAt,
  ];
}
