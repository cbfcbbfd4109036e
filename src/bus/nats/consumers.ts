/**
 * One durable pull consumer per partition, created or updated idempotently by every engine:
 *
 * - `max_ack_pending: 1`: JetStream hands out a partition's next input only once the previous one is
 *   acknowledged, whichever engine holds it, so a session's inputs are handled one at a time, in order,
 *   across all engine processes;
 * - `ack_wait`: an input an engine holds unacknowledged that long (it died) goes to another engine; a live
 *   engine keeps extending it (`+WPI`) while its handler runs;
 * - `max_deliver`: an input that failed that many times is dropped rather than stalling its partition.
 */
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamManager,
  ReplayPolicy,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { ResolvedNatsBusOptions } from './options.ts';
import { consumerName, inputSubject } from './subjects.ts';

export function consumerConfig(options: ResolvedNatsBusOptions, partition: number): Partial<ConsumerConfig> {
  return {
    durable_name: consumerName(options.subjectPrefix, partition),
    filter_subject: inputSubject(options.subjectPrefix, partition),
    deliver_policy: DeliverPolicy.All,
    ack_policy: AckPolicy.Explicit,
    replay_policy: ReplayPolicy.Instant,
    max_ack_pending: 1,
    ack_wait: nanos(options.ackWaitMs),
    max_deliver: options.maxDeliver,
  };
}

export async function ensureConsumer(
  jsm: JetStreamManager,
  options: ResolvedNatsBusOptions,
  partition: number,
): Promise<ConsumerInfo> {
  const wanted = consumerConfig(options, partition);
  const name = wanted.durable_name!;
  try {
    return await jsm.consumers.add(options.streamName, wanted);
  } catch (error) {
    // It exists with other settings (e.g. another ack wait): bring the mutable ones up to date.
    try {
      return await jsm.consumers.update(options.streamName, name, {
        ack_wait: wanted.ack_wait,
        max_deliver: wanted.max_deliver,
        max_ack_pending: wanted.max_ack_pending,
      });
    } catch {
      throw error;
    }
  }
}
