/**
 * RawMessage -> ValidMessage, or a rejection saying whether a response is possible. Pure.
 * The rules: a request we can answer (it has a usable top Via) gets `400 <reason naming the header>`
 * (505 for another SIP version); everything else is dropped by the caller. What a well-formed request
 * asks for that we cannot do (a URI scheme, an extension, one hop too many) is inspect.ts's question.
 */

import { parseNameAddr, splitHeaderValues } from '../../machines/sip-syntax.ts';
import type { NameAddr } from '../shared/messages.ts';
import type { RawHeader, RawMessage, ValidMessage, Via } from './types.ts';
import { parseVia, viaElements } from './via.ts';

export type Validation =
  | { ok: true; message: ValidMessage }
  /** `status` is set when the message is a request we can answer; topVia is then known. */
  | { ok: false; reason: string; status?: number; topVia?: Via };

const CSEQ = /^(\d{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)$/;
const CALL_ID = /^[^\s]+$/;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
const MAX_CSEQ = 2 ** 31 - 1;

export interface ValidationContext {
  /** The message came over a stream (TCP), where Content-Length is mandatory (RFC 3261 §18.3, §20.14). */
  stream?: boolean;
}

export function validateMessage(raw: RawMessage, context: ValidationContext = {}): Validation {
  const { start } = raw;
  const isResponse = start.kind === 'response' || (start.kind === 'invalid' && /^SIP\//i.test(start.line));
  const vias = viaElements(raw.headers);
  const topVia = vias[0] === undefined ? undefined : parseVia(vias[0]);
  if (!topVia)
    return { ok: false, reason: vias.length === 0 ? 'Missing Via header' : 'Malformed Via header' };

  // Every later problem is answerable for requests; responses are never answered.
  const reject = (reason: string, status = 400): Validation =>
    isResponse ? { ok: false, reason } : { ok: false, reason, status, topVia };

  if (start.kind === 'invalid')
    return reject(isResponse ? 'Malformed Status-Line' : 'Malformed Request-Line');
  if (start.version !== 'SIP/2.0') return reject('Version Not Supported', 505);
  if (raw.malformedLines.length > 0) return reject('Malformed header line');
  if (start.kind === 'request' && !URI.test(start.uri)) return reject('Malformed Request-URI');
  if (vias.slice(1).some((v) => !parseVia(v))) return reject('Malformed Via header');

  const fromResult = single(raw.headers, 'from', 'From', parseNameAddr);
  if (!fromResult.ok) return reject(fromResult.reason);
  const from = fromResult.value;
  if (start.kind === 'request' && !from.params.tag) return reject('Missing tag in From header');
  const toResult = single(raw.headers, 'to', 'To', parseNameAddr);
  if (!toResult.ok) return reject(toResult.reason);
  const to = toResult.value;
  const callIdResult = single(raw.headers, 'call-id', 'Call-ID', (v) => (CALL_ID.test(v) ? v : undefined));
  if (!callIdResult.ok) return reject(callIdResult.reason);
  const callId = callIdResult.value;
  const cseqResult = single(raw.headers, 'cseq', 'CSeq', parseCSeq);
  if (!cseqResult.ok) return reject(cseqResult.reason);
  const cseq = cseqResult.value;
  if (start.kind === 'request' && cseq.method !== start.method)
    return reject('CSeq method does not match request');

  const maxForwards = raw.headers.filter((h) => h.name === 'max-forwards');
  if (maxForwards.length > 1) return reject('Multiple Max-Forwards headers');
  const hops = maxForwards[0]?.value;
  if (hops !== undefined && (!/^\d{1,3}$/.test(hops) || Number(hops) > 255))
    return reject('Malformed Max-Forwards header');

  const body = applyContentLength(raw, context.stream === true);
  if (typeof body !== 'string') return reject(body.error);

  let contact: NameAddr | undefined;
  const contactHeader = raw.headers.find((h) => h.name === 'contact');
  if (contactHeader) {
    contact = parseNameAddr(splitHeaderValues(contactHeader.value)[0] ?? '');
    // A response with an odd Contact is still a response we must match to its transaction.
    if (!contact && start.kind === 'request') return reject('Malformed Contact header');
  }

  const common = { raw, topVia, callId, from, to, cseq, body, ...(contact ? { contact } : {}) };
  if (start.kind === 'request') {
    const request = { ...common, kind: 'request' as const, method: start.method, uri: start.uri };
    return { ok: true, message: hops === undefined ? request : { ...request, maxForwards: Number(hops) } };
  }
  return { ok: true, message: { ...common, kind: 'response', status: start.status, reason: start.reason } };
}

type Single<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The value of a header that must appear exactly once, parsed; or the 400 reason phrase naming it. */
function single<T>(
  headers: RawHeader[],
  name: string,
  display: string,
  parse: (value: string) => T | undefined,
): Single<T> {
  const found = headers.filter((h) => h.name === name);
  if (found.length === 0) return { ok: false, reason: `Missing ${display} header` };
  if (found.length > 1) return { ok: false, reason: `Multiple ${display} headers` };
  const value = parse(found[0]!.value);
  return value === undefined ? { ok: false, reason: `Malformed ${display} header` } : { ok: true, value };
}

function parseCSeq(value: string): { seq: number; method: string } | undefined {
  const match = CSEQ.exec(value);
  if (!match) return undefined;
  const seq = Number(match[1]);
  return seq > MAX_CSEQ ? undefined : { seq, method: match[2]! };
}

/**
 * RFC 3261 §18.3: a Content-Length larger than the bytes received is an error (a truncated datagram);
 * extra bytes beyond it are discarded. Without the header (allowed over UDP) the body is everything;
 * over a stream the header is mandatory: the framer took the message to end with its headers, and the
 * request gets its 400.
 */
function applyContentLength(raw: RawMessage, stream: boolean): string | { error: string } {
  const found = raw.headers.filter((h) => h.name === 'content-length');
  if (found.length > 1) return { error: 'Multiple Content-Length headers' };
  if (found.length === 0)
    return stream ? { error: 'Missing Content-Length header' } : raw.body.toString('utf8');
  if (!/^\d{1,9}$/.test(found[0]!.value)) return { error: 'Malformed Content-Length header' };
  const length = Number(found[0]!.value);
  if (length > raw.body.length) return { error: 'Content-Length larger than body' };
  return raw.body.subarray(0, length).toString('utf8');
}
