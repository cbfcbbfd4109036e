/**
 * Publishing an input: to its session's partition, with the input's key within its session as
 * Nats-Msg-Id so JetStream stores a repeated input once (and never takes an input of another call whose
 * peer reused a branch for a repeat). Resolves when JetStream acknowledged it (it is on disk). A publish that
 * gets no acknowledgement (nats-server restarting, JetStream not ready, a reconnect) is retried with the
 * same id until `publishTimeoutMs`; then it rejects, and the adapter can answer 503 or let the peer
 * retransmit.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  type NatsConnection,
} from '@nats-io/transport-node';
import { backoffMs } from '../../shared/backoff.ts';
import type { SipInput } from '../../shared/messages.ts';
import { createSerialQueues } from '../../shared/serialQueues.ts';
import { busInputKey, sessionOf } from '../../shared/sessionKeys.ts';
import { encode } from './codec.ts';
import { REQUEST_RETRY, type ResolvedNatsBusOptions } from './options.ts';
import { partitionOf } from './partition.ts';
import { inputSubject } from './subjects.ts';

/** Errors a retry cannot fix: the connection is gone, the message is invalid, JetStream refused it. */
function isPermanent(error: unknown): boolean {
  return (
    error instanceof ClosedConnectionError ||
    error instanceof DrainingConnectionError ||
    error instanceof InvalidArgumentError ||
    (error instanceof JetStreamApiError && error.status < 500)
  );
}

export function createInputPublisher(
  nc: NatsConnection,
  js: JetStreamClient,
  options: ResolvedNatsBusOptions,
): (input: SipInput) => Promise<void> {
  const { subjectPrefix, partitions, publishTimeoutMs, publishAttemptTimeoutMs, log } = options;
  // Retried publishes must not overtake each other, or a 200 would be stored before the 180 that came
  // first on the wire: a session's inputs are published one after the other.
  const inOrder = createSerialQueues();
  const publish = async (input: SipInput): Promise<void> => {
    const subject = inputSubject(subjectPrefix, partitionOf(input, partitions));
    const data = encode(input);
    const msgID = busInputKey(input);
    const deadline = Date.now() + publishTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      if (nc.isClosed() || nc.isDraining()) throw new Error('nats bus: the connection is closed');
      const timeout = Math.max(100, Math.min(publishAttemptTimeoutMs, deadline - Date.now()));
      try {
        await js.publish(subject, data, { msgID, timeout });
        return;
      } catch (error) {
        if (isPermanent(error)) throw error;
        const wait = backoffMs(attempt, REQUEST_RETRY);
        if (Date.now() + wait >= deadline) {
          throw new Error(`nats bus: input ${msgID} not acknowledged within ${publishTimeoutMs} ms`, {
            cause: error,
          });
        }
        log('warn', 'nats bus: publish not acknowledged, retrying', { msgID, attempt, error: String(error) });
        await sleep(wait);
      }
    }
  };
  return (input) => inOrder.post(sessionOf(input), () => publish(input));
}
