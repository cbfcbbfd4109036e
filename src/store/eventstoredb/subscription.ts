/**
 * A live `$all` subscription as the port's AllSubscription. EventStoreDB's own catch-up subscription does
 * the work (stored events after the checkpoint, then live ones, pushed by the server); this adapter
 * drops what the port does not want and makes `close()` end a waiting `for await` at once.
 */
import {
  type AllStreamResolvedEvent,
  type EventStoreDBClient,
  excludeSystemEvents,
} from '@eventstore/db-client';
import type { AllSubscription, RecordedEvent } from '../port.ts';
import { fromEsdbRecordedEvent, isSystemEvent, toReadPosition } from './mapping.ts';

/** What the adapter needs of the client's subscription (a Readable in object mode); tests pass a fake. */
export interface EsdbSubscriptionSource extends AsyncIterable<AllStreamResolvedEvent> {
  unsubscribe(): Promise<void>;
  destroy?(): unknown;
  on?(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Subscribes to `$all` after a checkpoint. System events are filtered on the server by event type
 * (`excludeSystemEvents()`: types starting with `$`); events of `$`-prefixed streams are dropped here.
 */
export function subscribeToAll(
  client: Pick<EventStoreDBClient, 'subscribeToAll'>,
  after: number,
  onClose?: () => void,
): AllSubscription {
  const source = client.subscribeToAll({
    fromPosition: toReadPosition(after),
    filter: excludeSystemEvents(),
  });
  return adaptSubscription(source, after, onClose);
}

/**
 * Delivers the source's application events whose position is greater than the last one delivered
 * (starting at `after`), so a subscription that starts at a position and replays it, or a repeat, is
 * never delivered twice. `close()` unsubscribes; the iteration ends even while waiting for an event.
 * An error of the source (e.g. the server dropped the subscription) ends the iteration with that error.
 */
export function adaptSubscription(
  source: EsdbSubscriptionSource,
  after: number,
  onClose?: () => void,
): AllSubscription {
  let checkpoint = after;
  let closed = false;
  // Errors reach the consumer through the iterator; this listener only keeps an error that arrives
  // before the first `next()` (or after close) from being an unhandled 'error' event.
  source.on?.('error', () => {});
  let stopWaiting!: () => void;
  const stopped = new Promise<undefined>((resolve) => {
    stopWaiting = () => resolve(undefined);
  });

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopWaiting();
    onClose?.();
    try {
      await source.unsubscribe();
    } catch {
      // Closing a subscription whose connection already failed has nothing left to cancel.
    }
    source.destroy?.();
  };

  async function* deliver(): AsyncGenerator<RecordedEvent> {
    const iterator = source[Symbol.asyncIterator]();
    try {
      while (!closed) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (closed || next === undefined || next.done) return;
        const { event } = next.value;
        if (!event || isSystemEvent(event)) continue;
        const recorded = fromEsdbRecordedEvent(event);
        if (recorded.position <= checkpoint) continue;
        checkpoint = recorded.position;
        yield recorded;
      }
    } finally {
      await close();
    }
  }

  const events = deliver();
  return {
    [Symbol.asyncIterator]: () => events,
    close,
  };
}
