/**
 * SendRequestCommand -> OutgoingMessage, and the ACK the transaction layer owes a non-2xx final
 * response. Pure: every identifier comes from the command, so a repeated command is a retransmission.
 */

import { formatNameAddr } from '../../machines/sip-syntax.ts';
import type { SendRequestCommand } from '../shared/messages.ts';
import { capabilityHeaders } from './capabilities.ts';
import { extraHeaderLines } from './extraHeaders.ts';
import type { OutgoingMessage } from './types.ts';

/** Where we can be reached: written into the Via of every request. */
export interface LocalAddress {
  host: string;
  port: number;
}

export function topViaFor(command: SendRequestCommand, local: LocalAddress): string {
  const transport = command.destination.transport;
  // rport (RFC 3581) lets a peer behind NAT, or one ignoring sent-by, answer the port we sent from.
  const rport = transport === 'udp' ? ';rport' : '';
  return `SIP/2.0/${transport.toUpperCase()} ${local.host}:${local.port};branch=${command.branch}${rport}`;
}

export function buildRequest(
  command: SendRequestCommand,
  local: LocalAddress,
): { message: OutgoingMessage; ignoredHeaders: string[] } {
  const extra = extraHeaderLines(command.headers, command.body ? ['content-type'] : []);
  const headers: Array<readonly [string, string]> = [
    ['Via', topViaFor(command, local)],
    ['Max-Forwards', String(maxForwardsOf(command))],
    ['From', formatNameAddr(command.from)],
    ['To', formatNameAddr(command.to)],
    ['Call-ID', command.callId],
    ['CSeq', `${command.cseq.seq} ${command.cseq.method}`],
  ];
  if (command.contact) headers.push(['Contact', command.contact]);
  for (const route of command.route ?? []) headers.push(['Route', route]);
  headers.push(...extra.lines);
  if (command.method === 'INVITE') headers.push(...capabilityHeaders(extra.lines, 'request'));
  if (command.body) headers.push(['Content-Type', command.contentType ?? 'application/sdp']);
  return {
    message: { startLine: `${command.method} ${command.uri} SIP/2.0`, headers, body: command.body ?? '' },
    ignoredHeaders: extra.ignored,
  };
}

/** The engine's Max-Forwards when it is one (0-255), else the RFC 3261 §8.1.1.6 default of 70. */
function maxForwardsOf(command: SendRequestCommand): number {
  const value = command.maxForwards;
  return value !== undefined && Number.isInteger(value) && value >= 0 && value <= 255 ? value : 70;
}

/**
 * RFC 3261 §17.1.1.3: the ACK for a non-2xx final response is part of the INVITE transaction: same
 * branch and Request-URI, the response's To (with its tag), CSeq method ACK, the INVITE's Route.
 */
export function buildAckForFailure(
  invite: SendRequestCommand,
  local: LocalAddress,
  responseTo: string,
): OutgoingMessage {
  const headers: Array<readonly [string, string]> = [
    ['Via', topViaFor(invite, local)],
    ['Max-Forwards', String(maxForwardsOf(invite))],
    ['From', formatNameAddr(invite.from)],
    ['To', responseTo],
    ['Call-ID', invite.callId],
    ['CSeq', `${invite.cseq.seq} ACK`],
  ];
  for (const route of invite.route ?? []) headers.push(['Route', route]);
  return { startLine: `ACK ${invite.uri} SIP/2.0`, headers };
}
