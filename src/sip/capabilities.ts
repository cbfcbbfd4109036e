/**
 * `Allow` and `Supported` on the messages that advertise what we can do: our INVITEs (initial and
 * re-INVITEs), 2xx answers to INVITE and OPTIONS, and 405 (RFC 3261 §8.2.1, §11.2, §20.5, §20.37).
 * A PBX decides from Allow whether it may REFER the call to us. A header the engine set itself wins.
 */
import { ALLOW_HEADER, REQUEST_SUPPORTED_HEADER, SUPPORTED_HEADER } from '../shared/sipCapabilities.ts';
import { normalizeHeaderName } from './headerNames.ts';

type HeaderLine = readonly [string, string];

/** The capability header lines missing from `lines`, on a request we send or on a response. */
export function capabilityHeaders(
  lines: readonly HeaderLine[],
  on: 'request' | 'response' = 'response',
): HeaderLine[] {
  const present = new Set(lines.map(([name]) => normalizeHeaderName(name)));
  const missing: HeaderLine[] = [];
  if (!present.has('allow')) missing.push(['Allow', ALLOW_HEADER]);
  if (!present.has('supported'))
    missing.push(['Supported', on === 'request' ? REQUEST_SUPPORTED_HEADER : SUPPORTED_HEADER]);
  return missing;
}

/** Whether a response to `method` with `status` advertises our capabilities. */
export function responseAdvertises(method: string, status: number): boolean {
  if (status === 405) return true;
  return status >= 200 && status < 300 && (method === 'INVITE' || method === 'OPTIONS');
}
