import type { RecordedEvent } from '../port.ts';

/** A row of the events table as `pg` returns it (bigint arrives as a string). */
export interface EventRow {
  position: string;
  stream: string;
  revision: string;
  event_id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

export const eventColumns = 'position, stream, revision, event_id, type, data, metadata, recorded_at';

/** Positions and revisions stay far below 2^53, so a JS number holds them exactly. */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamName: row.stream,
    revision: Number(row.revision),
    position: Number(row.position),
    recordedAt: row.recorded_at.toISOString(),
  };
}
