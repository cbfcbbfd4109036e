/**
 * What a well-formed request asks of us that we cannot give, in the order of RFC 3261 §16.3 (URI
 * scheme, Max-Forwards, required extensions): the response the adapter sends instead of delivering
 * it, or undefined. Pure. Method inspection (405) is done before this, by the server side.
 */

import { splitHeaderValues } from '../../machines/sip-syntax.ts';
import { SUPPORTED_OPTION_TAGS } from '../shared/sipCapabilities.ts';
import type { ResponseSpec } from './buildResponse.ts';
import type { ValidRequest } from './types.ts';

const SCHEMES = new Set(['sip', 'sips', 'tel']);

export function inspectRequest(request: ValidRequest): ResponseSpec | undefined {
  const scheme = request.uri.slice(0, request.uri.indexOf(':')).toLowerCase();
  // §8.2.2.1; the Request-URI has a scheme by now (validation answered 400 otherwise).
  if (!SCHEMES.has(scheme)) return { status: 416, reason: 'Unsupported URI Scheme' };

  // ACK cannot be answered and CANCEL is hop-by-hop: both are ours to handle, never forwarded. So is
  // OPTIONS: the pivot answers every OPTIONS itself, and §16.3 step 3 lets the element a Max-Forwards 0
  // OPTIONS reaches answer it as a UAS; 0 only forbids forwarding, and peers probe their next hop so.
  const hopLimited = !['ACK', 'CANCEL', 'OPTIONS'].includes(request.method);
  if (hopLimited && request.maxForwards === 0) return { status: 483, reason: 'Too Many Hops' };

  // §8.2.2.3. Proxy-Require is for proxies (§20.29): a UAS ignores it.
  if (request.method === 'ACK' || request.method === 'CANCEL') return undefined;
  const unsupported = unsupportedOptionTags(request);
  if (unsupported.length > 0)
    return { status: 420, reason: 'Bad Extension', headers: { Unsupported: unsupported.join(', ') } };
  return undefined;
}

/** The Require option tags we do not support, as received, each once (tokens compare case-insensitively). */
function unsupportedOptionTags(request: ValidRequest): string[] {
  const supported = new Set<string>(SUPPORTED_OPTION_TAGS);
  const seen = new Set<string>();
  const unknown: string[] = [];
  for (const header of request.raw.headers) {
    if (header.name !== 'require') continue;
    for (const tag of splitHeaderValues(header.value)) {
      const key = tag.toLowerCase();
      if (tag === '' || supported.has(key) || seen.has(key)) continue;
      seen.add(key);
      unknown.push(tag);
    }
  }
  return unknown;
}
