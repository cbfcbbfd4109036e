/** How session events are written to and read from the event store. */
import { randomUUID } from 'node:crypto';
import type { SessionEvent } from '../../machines/events.ts';
import type { EventData, EventMetadata, RecordedEvent } from '../store/port.ts';

export function toEventData(event: SessionEvent, metadata: EventMetadata): EventData {
  const { type, ...data } = event;
  return { id: randomUUID(), type, data, metadata };
}

export function fromRecorded(recorded: RecordedEvent): SessionEvent {
  return { ...(recorded.data as object), type: recorded.type } as SessionEvent;
}
