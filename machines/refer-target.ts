/**
 * Pure rules for a REFER's target (RFC 3515, DESIGN.md "Transfer flow" and "Trunk policy"):
 * which Refer-To values are acceptable, whether the target is a PSTN number or a SIP address, and
 * whether the trunk's transfer mode allows it. No I/O, so the transfer machine can call them in guards.
 */
import {
  extractUser,
  parseNameAddr,
  splitHeaderValues,
  uriHost,
  uriParams,
  uriScheme,
  withoutUriParam,
} from './sip-syntax.ts';

export type TargetKind = 'sip' | 'pstn';
export type TransferMode = 'disable-all' | 'enable-all' | 'sip-only';

export interface ReferTarget {
  /** Where the target INVITE goes: the Refer-To URI with its URI parameters, never with headers. */
  uri: string;
  kind: TargetKind;
  /** The normalised number (`+15550100`) when kind is 'pstn'. */
  e164?: string;
}

export type ReferToResult = { ok: true; target: ReferTarget } | { ok: false; status: 400; reason: string };

/**
 * Validates the Refer-To header values of a REFER. `values` are the raw values as received, one per
 * header line (the adapter has already expanded the compact name `r`); a comma inside one line
 * separates several values (RFC 3261 §7.3.1), so `<sip:a@x>, <sip:b@y>` counts as two.
 * `trunkDomains` lets a `sip:+E164@<trunk domain>` target be recognised as PSTN.
 */
export function parseReferTo(values: string[], trunkDomains: string[] = []): ReferToResult {
  const all = values.flatMap(splitHeaderValues);
  // RFC 3515 §2.4.1: a REFER carries exactly one Refer-To.
  if (all.length !== 1) return reject('exactly one Refer-To');
  const addr = parseNameAddr(all[0]!);
  if (!addr) return reject('malformed Refer-To');
  const scheme = uriScheme(addr.uri);
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') {
    return reject(`Refer-To URI scheme ${scheme ?? '(none)'} is not supported`);
  }
  // Headers (`?Replaces=` for attended transfer, `?Call-ID=`, ...) would ask for something other than
  // a plain blind transfer; refuse rather than silently drop them.
  if (addr.uri.includes('?')) return reject('Refer-To URI headers are not supported');
  if (scheme !== 'tel' && uriHost(addr.uri) === undefined) return reject('malformed Refer-To');
  // `method=` asks the target to receive something else than INVITE (RFC 3515 §2.1); only INVITE is a
  // transfer. The parameter is not allowed in a Request-URI (RFC 3261 §19.1.1), so it is dropped.
  const method = uriParams(addr.uri).method;
  if (method !== undefined && method.toUpperCase() !== 'INVITE') {
    return reject(`Refer-To method ${method} is not supported`);
  }
  const uri = method === undefined ? addr.uri : withoutUriParam(addr.uri, 'method');
  const kind = classifyTarget(uri, trunkDomains);
  if (kind.kind === 'pstn') return { ok: true, target: { uri, kind: 'pstn', e164: kind.e164 } };
  // A tel URI that is not a global number (`tel:5550100;phone-context=...`) has nowhere to go.
  if (scheme === 'tel') return reject('Refer-To tel URI must be a global number (+E.164)');
  return { ok: true, target: { uri, kind: 'sip' } };
}

function reject(reason: string): ReferToResult {
  return { ok: false, status: 400, reason };
}

/**
 * A PSTN target is `tel:+E164` or `sip:+E164@<any trunk domain>` (domain compared case-insensitively,
 * any port and URI parameters such as `;user=phone` allowed; `sips:` too); anything else is SIP.
 * Visual separators (RFC 3966 `-` `.` `(` `)`) are removed from the number.
 */
export function classifyTarget(
  uri: string,
  trunkDomains: string[],
): { kind: 'pstn'; e164: string } | { kind: 'sip' } {
  const scheme = uriScheme(uri);
  const user = extractUser(uri);
  if (user === undefined) return { kind: 'sip' };
  if (scheme === 'sip' || scheme === 'sips') {
    const host = uriHost(uri);
    if (!trunkDomains.some((d) => d.toLowerCase() === host)) return { kind: 'sip' };
  } else if (scheme !== 'tel') {
    return { kind: 'sip' };
  }
  // A user part may carry telephone-subscriber params (`+1555;isub=1`); the number is before them.
  const e164 = normalizeE164(user.split(';')[0]!);
  return e164 === undefined ? { kind: 'sip' } : { kind: 'pstn', e164 };
}

/** `+1 (555) 010-0000` style text -> `+15550100000`, or undefined when it is not a global E.164 number. */
export function normalizeE164(text: string): string | undefined {
  const digits = text.replace(/[-.()]/g, '');
  // E.164: a country code that does not start with 0, at most 15 digits in all.
  return /^\+[1-9]\d{1,14}$/.test(digits) ? digits : undefined;
}

/** The trunk's `transferMode` policy: `sip-only` refuses PSTN targets (toll fraud, cost control). */
export function transferAllowed(mode: TransferMode, kind: TargetKind): boolean {
  switch (mode) {
    case 'enable-all':
      return true;
    case 'sip-only':
      return kind === 'sip';
    case 'disable-all':
      return false;
  }
}
