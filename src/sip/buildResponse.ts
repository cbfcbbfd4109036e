/**
 * A response to a received request. Pure. Via, From, To, Call-ID and CSeq are copied byte for byte from
 * the request (RFC 3261 §8.2.6.2), the top Via stamped with received/rport; the To tag is added when the
 * request had none.
 */

import { parseNameAddr, splitHeaderValues } from '../../machines/sip-syntax.ts';
import type { SendResponseCommand, SipEndpoint } from '../shared/messages.ts';
import { capabilityHeaders, responseAdvertises } from './capabilities.ts';
import { extraHeaderLines } from './extraHeaders.ts';
import type { OutgoingMessage, RawMessage, Via } from './types.ts';
import { formatVia, stampReceived } from './via.ts';

/** What the engine's SendResponseCommand says of a response, or what the adapter says itself. */
export type ResponseSpec = Omit<SendResponseCommand, 'kind' | 'adapterId' | 'transactionKey'>;

export function buildResponse(
  request: RawMessage,
  topVia: Via,
  source: SipEndpoint,
  spec: ResponseSpec,
): { message: OutgoingMessage; ignoredHeaders: string[] } {
  const headers: Array<readonly [string, string]> = [];
  const vias = request.headers.filter((h) => h.name === 'via');
  vias.forEach((via, index) => {
    if (index > 0) {
      headers.push(['Via', via.value]);
      return;
    }
    // Only the first element of the first Via header is ours to stamp; the rest stay as they came.
    const [, ...others] = splitHeaderValues(via.value);
    headers.push(['Via', [formatVia(stampReceived(topVia, source)), ...others].join(', ')]);
  });
  for (const name of ['from', 'to', 'call-id', 'cseq'] as const) {
    const header = request.headers.find((h) => h.name === name);
    if (!header) continue;
    const value = name === 'to' ? withToTag(header.value, spec) : header.value;
    headers.push([
      name === 'call-id' ? 'Call-ID' : name === 'cseq' ? 'CSeq' : name === 'to' ? 'To' : 'From',
      value,
    ]);
  }
  const extra = extraHeaderLines(spec.headers, spec.body ? ['content-type'] : []);
  // A dialog-creating response echoes the request's Record-Route (RFC 3261 §12.1.1) unless told otherwise.
  const copiesRecordRoute =
    request.start.kind === 'request' &&
    request.start.method !== 'CANCEL' &&
    spec.status > 100 &&
    spec.status < 300 &&
    !extra.lines.some(([name]) => name.toLowerCase() === 'record-route');
  if (copiesRecordRoute) {
    for (const h of request.headers.filter((h) => h.name === 'record-route'))
      headers.push(['Record-Route', h.value]);
  }
  if (spec.contact) headers.push(['Contact', spec.contact]);
  headers.push(...extra.lines);
  if (request.start.kind === 'request' && responseAdvertises(request.start.method, spec.status))
    headers.push(...capabilityHeaders(extra.lines));
  if (spec.body) headers.push(['Content-Type', spec.contentType ?? 'application/sdp']);
  return {
    message: { startLine: `SIP/2.0 ${spec.status} ${spec.reason}`, headers, body: spec.body ?? '' },
    ignoredHeaders: extra.ignored,
  };
}

/** Adds `;tag=` to a tagless To, except on 100 Trying (RFC 3261 §8.2.6.2). */
function withToTag(value: string, spec: ResponseSpec): string {
  if (spec.status === 100 || !spec.toTag) return value;
  const parsed = parseNameAddr(value);
  if (!parsed || parsed.params.tag) return value;
  return `${value};tag=${spec.toTag}`;
}
