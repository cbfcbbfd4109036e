/** Via parsing and the RFC 3261 §18.2 / RFC 3581 rules for where a response goes. Pure. */

import { formatParams, parseParams, splitHeaderValues } from '../../machines/sip-syntax.ts';
import { isStream, type SipEndpoint, type Transport } from '../shared/messages.ts';
import type { RawHeader, Via } from './types.ts';

const VIA =
  /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?:\s*:\s*(\d{1,5}))?\s*(.*)$/s;

/** Parses one Via element; undefined when malformed or without a branch (we key transactions on it). */
export function parseVia(value: string): Via | undefined {
  const match = VIA.exec(value.trim());
  if (!match) return undefined;
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined;
  const params = parseParams(match[4]!);
  if (!params?.branch) return undefined;
  const via: Via = { transport: match[1]!.toUpperCase(), host: match[2]!, params, branch: params.branch };
  if (port !== undefined) via.port = port;
  return via;
}

/** Every Via element in order, across repeated headers and comma lists. */
export function viaElements(headers: RawHeader[]): string[] {
  return headers.filter((h) => h.name === 'via').flatMap((h) => splitHeaderValues(h.value));
}

export function formatVia(via: Via): string {
  return `SIP/2.0/${via.transport} ${via.host}${via.port ? `:${via.port}` : ''}${formatParams(via.params)}`;
}

/**
 * The top Via as it must appear in our responses: `received` when the packet came from elsewhere than
 * the sent-by host, and `rport` filled in when the client asked for it (RFC 3581).
 */
export function stampReceived(via: Via, source: SipEndpoint): Via {
  const params = { ...via.params };
  if ('rport' in params) params.rport = String(source.port);
  if (via.host !== source.host || 'rport' in params) params.received = source.host;
  return { ...via, params };
}

/**
 * Where a response to a request goes. Over TCP the connection it came on (the transport falls back to
 * a new connection to the sent-by port if that one is gone); over UDP the source address, and the
 * source port only when rport was requested, else the sent-by port (RFC 3261 §18.2.2, RFC 3581 §4).
 */
export function responseDestination(via: Via, source: SipEndpoint): SipEndpoint {
  if (isStream(source.transport)) return source;
  const port = 'rport' in via.params ? source.port : (via.port ?? 5060);
  return { transport: 'udp', host: source.host, port };
}

export function viaTransport(transport: Transport): string {
  return transport.toUpperCase();
}
