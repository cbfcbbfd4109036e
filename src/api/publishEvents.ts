/**
 * Publishes every stored event on NATS, for the systems around the pivot: subject
 * `<prefix>.events.<type>` (`pivot.events.TransferCompleted`), body the feed event (src/events/feed.ts),
 * header `Pivot-Position` with its global position. The messages go into a JetStream stream of their
 * own (default `PIVOT_EVENTS`, limits retention), published with `Nats-Msg-Id` = position: when two
 * processes publish, or one publishes again after a crash, JetStream keeps one copy; a core NATS
 * subscriber de-duplicates on `Pivot-Position`. On start the publisher resumes after the position of
 * the stream's last message, so nothing is skipped and little is repeated.
 */
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { headers, type NatsConnection, nanos } from '@nats-io/transport-node';
import { connectNats } from '../bus/nats/connect.ts';
import { resolveOptions } from '../bus/nats/options.ts';
import { type Logger, silentLogger } from '../log.ts';
import type { Backoff } from '../shared/backoff.ts';
import { retryLoop } from '../shared/retryLoop.ts';
import type { AllSubscription, EventStore } from '../store/port.ts';
import { feedEventOf, isFeedable } from './feed.ts';

export const POSITION_HEADER = 'Pivot-Position';

/** Waits after a failed publish: NATS or the store is down, and is retried without hammering it. */
const PUBLISH_RETRY: Backoff = { first: 250, max: 10_000 };

export interface EventPublisherOptions {
  servers: string | string[];
  store: EventStore;
  /** First token of the subjects. Default `pivot`. */
  subjectPrefix?: string;
  /** The JetStream stream keeping the published events. Default `PIVOT_EVENTS`. */
  streamName?: string;
  /** How long the stream keeps an event. Default 7 days. */
  maxAgeMs?: number;
  /** Window in which a repeated position is dropped. Default 2 minutes. */
  duplicateWindowMs?: number;
  log?: Logger;
}

export interface EventPublisher {
  /** The position of the last event JetStream acknowledged. */
  position(): number;
  stop(): Promise<void>;
}

export const eventSubject = (prefix: string, type: string) => `${prefix}.events.${type}`;

async function ensureEventStream(
  jsm: JetStreamManager,
  name: string,
  prefix: string,
  maxAgeMs: number,
  windowMs: number,
) {
  const config = {
    name,
    description: 'sip-pivot events, by type; Nats-Msg-Id and Pivot-Position are the $all position',
    subjects: [`${prefix}.events.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(windowMs),
  };
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
  }
  try {
    return await jsm.streams.add(config);
  } catch (error) {
    // Another publisher created it in the meantime.
    return jsm.streams.info(name).catch(() => {
      throw error;
    });
  }
}

/** The position of the last event in the stream, 0 when it is empty. */
async function lastPublished(jsm: JetStreamManager, name: string): Promise<number> {
  const info = await jsm.streams.info(name);
  if (info.state.messages === 0) return 0;
  const message = await jsm.streams.getMessage(name, { seq: info.state.last_seq });
  const position = Number(message?.header.get(POSITION_HEADER));
  return Number.isInteger(position) && position > 0 ? position : 0;
}

export async function startEventPublisher(options: EventPublisherOptions): Promise<EventPublisher> {
  const log = options.log ?? silentLogger;
  const prefix = options.subjectPrefix ?? 'pivot';
  const streamName = options.streamName ?? 'PIVOT_EVENTS';
  const nc: NatsConnection = await connectNats(
    resolveOptions({ servers: options.servers, name: 'sip-pivot event publisher', log }),
  );
  let jsm: JetStreamManager;
  let after: number;
  try {
    jsm = await jetstreamManager(nc);
    await ensureEventStream(
      jsm,
      streamName,
      prefix,
      options.maxAgeMs ?? 7 * 24 * 3_600_000,
      options.duplicateWindowMs ?? 120_000,
    );
    after = await lastPublished(jsm, streamName);
  } catch (error) {
    await nc.close();
    throw error;
  }
  const js = jetstream(nc);
  let subscription: AllSubscription | undefined;
  const publishing = retryLoop({
    attempt: publishFrom,
    backoff: PUBLISH_RETRY,
    onFailure: (error, delayMs) =>
      log('warn', 'event publisher: publish failed, retrying', { error: String(error), after, delayMs }),
    interrupt: () => subscription?.close(),
  });

  async function publishFrom(): Promise<void> {
    const live = options.store.subscribeToAll({ after });
    subscription = live;
    try {
      for await (const event of live) {
        if (publishing.stopped) return;
        if (isFeedable(event)) {
          const h = headers();
          h.set(POSITION_HEADER, String(event.position));
          await js.publish(eventSubject(prefix, event.type), JSON.stringify(feedEventOf(event)), {
            msgID: String(event.position),
            headers: h,
          });
        }
        after = event.position;
      }
    } finally {
      await live.close();
    }
  }

  publishing.start();

  log('info', 'publishing events on NATS', { subjects: `${prefix}.events.>`, stream: streamName, after });
  return {
    position: () => after,
    async stop() {
      await publishing.stop();
      await nc.drain().catch(() => nc.close());
    },
  };
}
