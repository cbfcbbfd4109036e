/**
 * RFC 3261 §18.1.1: a request that would go over UDP but is larger than 1300 bytes (the path MTU being
 * unknown) goes over TCP instead, so it is never fragmented or dropped on the way; if the TCP connection
 * cannot be established (refused or reset), it is sent over UDP after all. Pure.
 */
import type { SendRequestCommand } from '../shared/messages.ts';
import { UDP_REQUEST_LIMIT_BYTES } from './constants.ts';

/** The command to send over TCP instead, when the UDP request built from it is too large; else undefined. */
export function tcpInsteadOfUdp(
  command: SendRequestCommand,
  udpBytes: number,
): SendRequestCommand | undefined {
  if (command.destination.transport !== 'udp' || udpBytes <= UDP_REQUEST_LIMIT_BYTES) return undefined;
  return { ...command, destination: { ...command.destination, transport: 'tcp' } };
}

/** A connection that could not be established (the §18.1.1 "TCP reset"), as opposed to other failures. */
export function connectionRefused(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE';
}
