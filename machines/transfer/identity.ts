/**
 * Who the transferred call is from, told the way the PSTN reads it. The target INVITE's From names the
 * caller the trunk's `transferCallerId` chose; P-Asserted-Identity asserts it (RFC 3325) for a carrier
 * that presents and signs the asserted identity (STIR/SHAKEN attests PAI); Diversion (RFC 5806) names
 * the trunk number that transferred the call when the caller shown is someone else, which is what a
 * terminating carrier needs to present a transferred call and a signer to attest it as diverted.
 */
import { isE164 } from '../refer-target.ts';
import { extractUser } from '../sip-syntax.ts';

export function transferredCallHeaders(
  callerUri: string,
  transferor: string,
  publicHost: string,
): Record<string, string> {
  const caller = extractUser(callerUri);
  const headers: Record<string, string> = {};
  if (caller && isE164(caller)) headers['P-Asserted-Identity'] = `<${callerUri}>`;
  if (isE164(transferor) && transferor !== caller) {
    headers.Diversion = `<sip:${transferor}@${publicHost}>;reason=deflection;counter=1`;
  }
  return headers;
}
