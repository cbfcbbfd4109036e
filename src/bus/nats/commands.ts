/**
 * Commands, engines -> adapters, on core NATS: a command for one adapter on
 * `<prefix>.commands.<adapterId>`, one any adapter may send on `<prefix>.commands.any`, where the
 * adapters form a queue group so exactly one of them sends it. A lost command is recovered like a lost
 * datagram: by SIP retransmission (the engine re-sends the decided commands for a repeated input).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { SipCommand } from '../messages.ts';
import { decodeCommand, encode } from './codec.ts';
import type { ResolvedNatsBusOptions } from './options.ts';
import { ADAPTER_ANY, adapterQueue, assertToken, commandSubject } from './subjects.ts';

/** Where a command goes: a response to the adapter holding its transaction, a request as addressed. */
export function commandTarget(command: SipCommand, adapterId: string | undefined): string | undefined {
  return command.kind === 'response' ? command.adapterId : adapterId;
}

export function createCommandSender(
  nc: NatsConnection,
  { subjectPrefix, log }: ResolvedNatsBusOptions,
): (command: SipCommand, adapterId: string | undefined) => void {
  return (command, adapterId) => {
    try {
      nc.publish(commandSubject(subjectPrefix, commandTarget(command, adapterId)), encode(command));
    } catch (error) {
      log('error', 'nats bus: could not send a command', { kind: command.kind, error: String(error) });
    }
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
  const deliver = (error: Error | null, data: Uint8Array) => {
    if (error) {
      log('error', 'nats bus: command subscription failed', { adapterId, error: String(error) });
      return;
    }
    let command: SipCommand;
    try {
      command = decodeCommand(data);
    } catch (decodeError) {
      log('error', 'nats bus: dropping an undecodable command', { adapterId, error: String(decodeError) });
      return;
    }
    try {
      handler(command);
    } catch (handlerError) {
      log('error', 'nats bus: command handler threw', { adapterId, error: String(handlerError) });
    }
  };
  const subscriptions = [
    nc.subscribe(commandSubject(subjectPrefix, adapterId), {
      callback: (error, msg) => deliver(error, msg?.data),
    }),
    nc.subscribe(commandSubject(subjectPrefix, undefined), {
      queue: adapterQueue(subjectPrefix),
      callback: (error, msg) => deliver(error, msg?.data),
    }),
  ];
  // Resolve once the server has the interest, so a command sent right after is not missed.
  await nc.flush();
  return subscriptions;
}
