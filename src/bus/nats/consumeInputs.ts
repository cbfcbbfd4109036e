/**
 * Consuming inputs: every engine process pulls from every partition's consumer. JetStream hands a
 * partition's inputs out one at a time (`max_ack_pending: 1`), so each engine handles at most one input
 * of a partition at once, and no two engines handle the same partition at once.
 *
 * Per input: the handler resolving -> ack; rejecting -> nak with a growing delay (the same input comes
 * back, still first in its partition), or term once `maxDeliver` deliveries failed, or at once when the
 * error is permanent (a poison input: retrying would only stall its partition). While the handler
 * runs, the input is kept ours with in-progress acks; an engine that dies stops sending them and the
 * input goes to another engine after `ack_wait`.
 *
 * A pull asks for up to `PULL_BATCH` inputs and stays open until it has them (or expires): with
 * `max_ack_pending: 1` the server still hands them out one at a time, each once the previous one is
 * acknowledged, so a larger pull only saves the pull request the client would otherwise send for every
 * input, never lets two inputs of a partition run at once. The engines' open pulls are served in turn,
 * so a partition's work still spreads across them. The client re-issues pulls after a reconnect; a
 * consumer that disappears is recreated.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { backoffMs } from '../../shared/backoff.ts';
import type { SipInput } from '../../shared/messages.ts';
import { isPermanentFailure } from '../port.ts';
import { decodeInput } from './codec.ts';
import { ensureConsumer } from './consumers.ts';
import type { ResolvedNatsBusOptions } from './options.ts';
import { consumerName } from './subjects.ts';

export interface InputConsumer {
  /** Stops pulling, lets handlers in flight finish (bounded by `ack_wait`) and acks them. */
  stop(): Promise<void>;
}

/** Pull requests expire (and are renewed) this often; heartbeats every half of it. */
const PULL_EXPIRES_MS = 10_000;

/** Inputs one pull asks for; the client asks again when a quarter of them have come. */
export const PULL_BATCH = 16;

export function nakDelayMs(deliveryCount: number): number {
  return backoffMs(deliveryCount - 1, { first: 250, max: 5_000 });
}

export async function consumeInputs(
  nc: NatsConnection,
  jsm: JetStreamManager,
  js: JetStreamClient,
  options: ResolvedNatsBusOptions,
  handler: (input: SipInput) => Promise<void>,
): Promise<InputConsumer> {
  const { log, partitions, streamName, subjectPrefix, ackWaitMs, maxDeliver } = options;
  const partitionIds = Array.from({ length: partitions }, (_, partition) => partition);
  await Promise.all(partitionIds.map((partition) => ensureConsumer(jsm, options, partition)));

  let stopping = false;
  /** Set when `stop` stopped waiting: handlers still running no longer keep their inputs. */
  let abandoned = false;
  const iterators = new Set<ConsumerMessages>();
  const inFlight = new Set<Promise<void>>();

  async function handle(message: JsMsg): Promise<void> {
    let input: SipInput;
    try {
      input = decodeInput(message.data);
    } catch (error) {
      log('error', 'nats bus: dropping an undecodable input', { seq: message.seq, error: String(error) });
      message.term(); // no reason: nats-server < 2.10 ignores a "+TERM <reason>"
      return;
    }
    const keepAlive = setInterval(
      () => {
        if (abandoned || nc.isClosed()) clearInterval(keepAlive);
        else message.working();
      },
      Math.max(250, Math.floor(ackWaitMs / 3)),
    );
    try {
      await handler(input);
      if (!nc.isClosed()) message.ack();
    } catch (error) {
      const deliveries = message.info.deliveryCount;
      if (nc.isClosed()) return;
      if (isPermanentFailure(error)) {
        log('error', 'nats bus: input cannot be handled (poison), giving it up', {
          callId: input.callId,
          transactionKey: input.transactionKey,
          deliveries,
          error: String(error),
        });
        message.term();
      } else if (maxDeliver > 0 && deliveries >= maxDeliver) {
        log('error', 'nats bus: input failed on its last delivery, giving it up', {
          callId: input.callId,
          deliveries,
          error: String(error),
        });
        message.term();
      } else {
        log('warn', 'nats bus: input failed, to be redelivered', {
          callId: input.callId,
          deliveries,
          error: String(error),
        });
        message.nak(nakDelayMs(deliveries));
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  async function watch(messages: ConsumerMessages, partition: number): Promise<void> {
    for await (const status of messages.status()) {
      // The consumer went away under a pull (409), or a pull reached nothing (503).
      if (
        status.type === 'consumer_deleted' ||
        status.type === 'consumer_not_found' ||
        status.type === 'no_responders'
      ) {
        log('warn', 'nats bus: consumer missing, recreating it', { partition, status: status.type });
        try {
          await ensureConsumer(jsm, options, partition);
          // Start pulling from the new consumer now rather than after missed heartbeats.
          void messages.close().catch(() => {});
          return;
        } catch (error) {
          log('error', 'nats bus: could not recreate consumer', { partition, error: String(error) });
        }
      }
    }
  }

  async function run(partition: number): Promise<void> {
    const name = consumerName(subjectPrefix, partition);
    let failed = false;
    while (!stopping && !nc.isClosed()) {
      try {
        if (failed) await ensureConsumer(jsm, options, partition);
        const consumer = await js.consumers.get(streamName, name);
        const messages = await consumer.consume({ max_messages: PULL_BATCH, expires: PULL_EXPIRES_MS });
        iterators.add(messages);
        void watch(messages, partition).catch(() => {});
        try {
          for await (const message of messages) {
            if (stopping) {
              // Handed to us as we stop: give it straight back for another engine.
              message.nak();
              break;
            }
            const done = handle(message);
            inFlight.add(done);
            try {
              await done;
            } finally {
              inFlight.delete(done);
            }
            if (stopping) break;
          }
        } finally {
          iterators.delete(messages);
        }
      } catch (error) {
        if (stopping || nc.isClosed()) return;
        failed = true;
        log('warn', 'nats bus: consuming a partition failed, retrying', { partition, error: String(error) });
      }
      if (!stopping) await sleep(1_000);
    }
  }

  const loops = partitionIds.map((partition) => run(partition));

  return {
    async stop() {
      stopping = true;
      // Not awaited: an iterator closes once its loop asks for the next input, after the handler.
      for (const messages of iterators) void messages.close().catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        nc.closed(), // nothing to ack with any more
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ackWaitMs);
        }),
      ]);
      clearTimeout(timer);
      abandoned = true;
      void Promise.allSettled(loops);
    },
  };
}
