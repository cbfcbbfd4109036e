/**
 * The transfer target whose host name a REFER asks the engine to locate (RFC 3263) before it is judged:
 * a single, well-formed sip: Refer-To with a name for a host, that is not a PSTN number at a trunk
 * domain and carries no `maddr` (refused anyway). Everything else needs no DNS.
 */
import { hostAddress } from '../../machines/ip-literal.ts';
import { classifyTarget } from '../../machines/refer-target.ts';
import {
  parseNameAddr,
  splitHeaderValues,
  uriHost,
  uriParams,
  uriScheme,
} from '../../machines/sip-syntax.ts';
import type { SipInput } from '../shared/messages.ts';

export function referTargetName(input: SipInput, trunkDomains: string[]): string | undefined {
  if (input.kind !== 'request' || input.method !== 'REFER') return undefined;
  const values = (input.headers['refer-to'] ?? []).flatMap(splitHeaderValues);
  if (values.length !== 1) return undefined;
  const uri = parseNameAddr(values[0]!)?.uri;
  if (!uri || uri.includes('?') || uriScheme(uri) !== 'sip') return undefined;
  const host = uriHost(uri);
  if (host === undefined || hostAddress(host).kind !== 'name' || 'maddr' in uriParams(uri)) return undefined;
  if (classifyTarget(uri, trunkDomains).kind === 'pstn') return undefined;
  return uri;
}
