/**
 * Commands, engines -> adapters, on core NATS: a command for one adapter on
 * `<prefix>.commands.<adapterId>`, one any adapter may send on `<prefix>.commands.any`, where the
 * adapters form a queue group so exactly one of them sends it.
 *
 * Delivery is at least once: a command is a request the adapter acknowledges once it has executed it,
 * and the engine re-sends it until acknowledged (or `commandTimeoutMs`). Core NATS drops a message
 * nobody is subscribed to, which is what happens around a nats-server restart when an engine's
 * buffered commands reach the server before the adapter has re-subscribed. SIP retransmission cannot
 * make up for such a loss: the adapter absorbs a peer's retransmitted request while its transaction is
 * open and JetStream drops a repeated input as a duplicate, so the engine would never decide again and
 * the call would hang. Executing a command twice is harmless by design: its identifiers (branch, CSeq,
 * tags) are fixed, so the repeat is a retransmission to the peer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { backoffMs } from '../../shared/backoff.ts';
import type { SipCommand } from '../../shared/messages.ts';
import { createSerialQueues } from '../../shared/serialQueues.ts';
import { decodeCommand, encode } from './codec.ts';
import { REQUEST_RETRY, type ResolvedNatsBusOptions } from './options.ts';
import { ADAPTER_ANY, adapterQueue, assertToken, commandSubject } from './subjects.ts';

/** Where a command goes: a response to the adapter holding its transaction, a request as addressed. */
export function commandTarget(command: SipCommand, adapterId: string | undefined): string | undefined {
  return command.kind === 'response' ? command.adapterId : adapterId;
}

export function createCommandSender(
  nc: NatsConnection,
  { subjectPrefix, log, commandTimeoutMs, commandAttemptTimeoutMs }: ResolvedNatsBusOptions,
): (command: SipCommand, adapterId: string | undefined) => void {
  async function deliver(subject: string, data: Uint8Array, command: SipCommand): Promise<void> {
    const deadline = Date.now() + commandTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      if (nc.isClosed() || nc.isDraining()) return;
      try {
        await nc.request(subject, data, { timeout: commandAttemptTimeoutMs });
        if (attempt > 1) log('info', 'nats bus: command delivered after a retry', { subject, attempt });
        return;
      } catch (error) {
        if (nc.isClosed() || nc.isDraining()) return;
        const wait = backoffMs(attempt, REQUEST_RETRY);
        if (Date.now() + wait >= deadline) {
          log('error', 'nats bus: no adapter took a command, giving it up', {
            subject,
            kind: command.kind,
            attempts: attempt,
            error: String(error),
          });
          return;
        }
        if (attempt === 1) {
          log('warn', 'nats bus: command not acknowledged, re-sending', { subject, error: String(error) });
        }
        await sleep(wait);
      }
    }
  }
  // A re-sent command must not overtake a later one, or a peer would get a NOTIFY with a lower CSeq after
  // a higher one (RFC 3261 §12.2.2), or a 180 after the 200: a dialog's requests (by Call-ID) and a
  // server transaction's responses are delivered one after the other.
  const inOrder = createSerialQueues();
  return (command, adapterId) => {
    let subject: string;
    try {
      subject = commandSubject(subjectPrefix, commandTarget(command, adapterId));
    } catch (error) {
      log('error', 'nats bus: could not send a command', { kind: command.kind, error: String(error) });
      return;
    }
    const key =
      command.kind === 'request' ? `dialog ${command.callId}` : `transaction ${command.transactionKey}`;
    const data = encode(command);
    void inOrder.post(key, () => deliver(subject, data, command));
  };
}

/** Subscribes one adapter to its own commands and, in the adapters' queue group, to `any`. */
export async function subscribeCommands(
  nc: NatsConnection,
  { subjectPrefix, log }: ResolvedNatsBusOptions,
  adapterId: string,
  handler: (command: SipCommand) => void,
): Promise<Subscription[]> {
  assertToken('adapterId', adapterId);
  if (adapterId === ADAPTER_ANY) throw new Error(`nats bus: "${ADAPTER_ANY}" is reserved, not an adapterId`);
  const deliver = (error: Error | null, msg: Msg | undefined) => {
    if (error || !msg) {
      log('error', 'nats bus: command subscription failed', { adapterId, error: String(error) });
      return;
    }
    let command: SipCommand;
    try {
      command = decodeCommand(msg.data);
    } catch (decodeError) {
      log('error', 'nats bus: dropping an undecodable command', { adapterId, error: String(decodeError) });
      msg.respond(); // re-sending it would not make it decodable
      return;
    }
    try {
      handler(command);
    } catch (handlerError) {
      log('error', 'nats bus: command handler threw', { adapterId, error: String(handlerError) });
    }
    // Executed (or failed for good): the engine stops re-sending it.
    if (msg.reply) msg.respond();
  };
  const subscriptions = [
    nc.subscribe(commandSubject(subjectPrefix, adapterId), { callback: deliver }),
    nc.subscribe(commandSubject(subjectPrefix, undefined), {
      queue: adapterQueue(subjectPrefix),
      callback: deliver,
    }),
  ];
  // Resolve once the server has the interest, so a command sent right after is not missed.
  await nc.flush();
  return subscriptions;
}
