/** An event as the feeds (HTTP, server-sent events, NATS) publish it: in today's shape, with its position. */
import { API_KEY_STREAM_PREFIX } from '../apikeys/events.ts';
import { catalogue } from '../events/catalogue.ts';
import type { RecordedEvent } from '../store/port.ts';

export interface FeedEvent {
  Position: number;
  Stream: string;
  Revision: number;
  Id: string;
  Type: string;
  Version: number;
  RecordedAt: string;
  Data: unknown;
  Metadata: Record<string, unknown>;
}

export function feedEventOf(recorded: RecordedEvent): FeedEvent {
  const event = catalogue.upcast(recorded);
  return {
    Position: event.position,
    Stream: event.streamName,
    Revision: event.revision,
    Id: event.id,
    Type: event.type,
    Version: catalogue.currentVersionOf(event.type),
    RecordedAt: event.recordedAt,
    Data: event.data,
    Metadata: event.metadata,
  };
}

/** API key events stay out of every feed: they carry secret hashes. */
export const isFeedable = (event: RecordedEvent): boolean =>
  !event.streamName.startsWith(API_KEY_STREAM_PREFIX);
