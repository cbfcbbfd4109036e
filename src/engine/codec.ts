/** How session events are written to and read from the event store. */
import { randomUUID } from 'node:crypto';
import type { SessionEvent } from '../../machines/events.ts';
import { catalogue, withEventVersion } from '../events/catalogue.ts';
import type { EventData, EventMetadata, RecordedEvent } from '../store/port.ts';

export function toEventData(event: SessionEvent, metadata: EventMetadata): EventData {
  const { type, ...data } = event;
  return { id: randomUUID(), type, data, metadata: withEventVersion(type, metadata) };
}

/** The stored event in today's shape (src/events/catalogue.ts upcasts older versions). */
export function fromRecorded(recorded: RecordedEvent): SessionEvent {
  return { ...(catalogue.upcast(recorded).data as object), type: recorded.type } as SessionEvent;
}
