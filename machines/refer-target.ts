/**
 * Pure rules for a REFER's target (RFC 3515, docs/architecture.md "Transfer flow" and "Trunk policy"):
 * which Refer-To values are acceptable, whether the target is a PSTN number or a SIP address, and
 * whether the trunk's transfer mode allows it. No I/O, so the transfer machine can call them in guards.
 */
import type { TransferMode } from './events.ts';
import { headerValueProblem, nameAddrTextProblem, uriTextProblem } from './header-text.ts';
import { hostAddress, inNetworks } from './ip-literal.ts';
import {
  extractUser,
  parseNameAddr,
  splitHeaderValues,
  uriHost,
  uriHostPort,
  uriParams,
  uriScheme,
  withoutUriParam,
} from './sip-syntax.ts';

export type TargetKind = 'sip' | 'pstn';

export interface ReferTarget {
  /** Where the target INVITE goes: the Refer-To URI with its URI parameters, never with headers. */
  uri: string;
  kind: TargetKind;
  /**
   * The normalised number (`+15550100`) when kind is 'pstn'; absent only for a SIP URI at the carrier
   * whose user part is not a +E.164 number (the transfer machine refuses it: it cannot be billed).
   */
  e164?: string;
  /** Set when the target is PSTN because its host is the carrier (an address in `carrierNetworks`). */
  carrierHost?: string;
}

/**
 * Where a SIP target must not go, from the trunk policy in force. A REFER stored before these were
 * recorded is judged without them, and without the checks that came with them (control characters,
 * strict IP literals, maddr), so a stored transfer replays as it was decided.
 */
export interface TargetGuards {
  /** The carrier's own address and its source blocks, as CIDRs: a target there reaches the PSTN. */
  carrierNetworks?: readonly string[];
  /** The pivot's own addresses (CIDRs) and SIP port: a target there is the pivot itself. */
  pivotNetworks?: readonly string[];
  pivotPort?: number;
  /**
   * Where a target's host name was located (RFC 3263): a name reaches what its addresses reach, so it
   * is judged by them. Absent for IP literals and REFERs stored before names were looked up.
   */
  targetAddresses?: readonly { host: string; port: number }[];
}

export type ReferToResult =
  | { ok: true; target: ReferTarget }
  | { ok: false; status: 400 | 403; reason: string };

/**
 * Validates the Refer-To header values of a REFER. `values` are the raw values as received, one per
 * header line (the adapter has already expanded the compact name `r`); a comma inside one line
 * separates several values (RFC 3261 §7.3.1), so `<sip:a@x>, <sip:b@y>` counts as two.
 * `trunkDomains` lets a `sip:+E164@<trunk domain>` target be recognised as PSTN.
 */
export function parseReferTo(
  values: string[],
  trunkDomains: string[] = [],
  guards?: TargetGuards,
): ReferToResult {
  const control = guards && values.map((value) => headerValueProblem('Refer-To', value)).find(Boolean);
  if (control) return reject(control);
  const all = values.flatMap(splitHeaderValues);
  // RFC 3515 §2.4.1: a REFER carries exactly one Refer-To.
  if (all.length !== 1) return reject('exactly one Refer-To');
  const addr = parseNameAddr(all[0]!);
  if (!addr) return reject('malformed Refer-To');
  const text = guards && uriTextProblem('Refer-To', addr.uri);
  if (text) return reject(text);
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
  if (guards && scheme !== 'tel') {
    const reached = whereItGoes(uri, guards);
    if (reached) return reached;
  }
  // A tel URI that is not a global number (`tel:5550100;phone-context=...`) has nowhere to go.
  if (scheme === 'tel') return reject('Refer-To tel URI must be a global number (+E.164)');
  return { ok: true, target: { uri, kind: 'sip' } };
}

function reject(reason: string): ReferToResult {
  return { ok: false, status: 400, reason };
}

/**
 * What a sip:/sips: target's host reaches, however the address is written: the target INVITE is sent
 * to that address, so the address decides, not its spelling. Undefined for an ordinary SIP target.
 */
function whereItGoes(uri: string, guards: TargetGuards): ReferToResult | undefined {
  // RFC 3261 §19.1.1: maddr sends the request to another address than the host, past these checks.
  if ('maddr' in uriParams(uri)) return reject('Refer-To maddr is not supported');
  const host = uriHost(uri)!;
  const address = hostAddress(host);
  if (address.kind === 'malformed') return reject(`Refer-To host ${host} is not a valid IP address`);
  if (address.kind === 'name') return whereNameGoes(uri, host, guards);
  const port = uriHostPort(uri)?.port ?? 5060;
  if (port === guards.pivotPort && inNetworks(address, guards.pivotNetworks ?? [])) {
    // The pivot would INVITE itself: the request loops once and dies in 482 (RFC 3261 §8.2.2.2).
    return {
      ok: false,
      status: 403,
      reason: `Refer-To ${host}:${port} is the pivot's own address (the transfer would loop)`,
    };
  }
  if (!inNetworks(address, guards.carrierNetworks ?? [])) return undefined;
  return carrierTarget(uri, host);
}

/**
 * A host name is judged by the addresses the engine located it at: any of them the pivot's own (at its
 * SIP port) refuses it, any of them the carrier's makes it a PSTN target. Unlocated: an ordinary target.
 */
function whereNameGoes(uri: string, host: string, guards: TargetGuards): ReferToResult | undefined {
  const located = (guards.targetAddresses ?? []).flatMap(({ host: at, port }) => {
    const address = hostAddress(at.includes(':') ? `[${at}]` : at);
    return address.kind === 'ip' ? [{ address, port, at }] : [];
  });
  const own = located.find(
    ({ address, port }) => port === guards.pivotPort && inNetworks(address, guards.pivotNetworks ?? []),
  );
  if (own) {
    return {
      ok: false,
      status: 403,
      reason: `Refer-To host ${host} is the pivot's own address ${own.at}:${own.port} (the transfer would loop)`,
    };
  }
  if (!located.some(({ address }) => inNetworks(address, guards.carrierNetworks ?? []))) return undefined;
  return carrierTarget(uri, host);
}

function carrierTarget(uri: string, host: string): ReferToResult {
  // The carrier gateway routes any number it gets to the PSTN, whatever the URI looks like: bill it so.
  const user = extractUser(uri);
  const e164 = user === undefined ? undefined : normalizeE164(user.split(';')[0]!);
  return { ok: true, target: { uri, kind: 'pstn', carrierHost: host, ...(e164 ? { e164 } : {}) } };
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

/** E.164 as written in a URI or the config: `+`, a country code not starting with 0, at most 15 digits. */
export const E164 = /^\+[1-9]\d{1,14}$/;

export function isE164(text: string): boolean {
  return E164.test(text);
}

/** `+1 (555) 010-0000` style text -> `+15550100000`, or undefined when it is not a global E.164 number. */
export function normalizeE164(text: string): string | undefined {
  const digits = text.replace(/[-.()]/g, '');
  // E.164: a country code that does not start with 0, at most 15 digits in all.
  return isE164(digits) ? digits : undefined;
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

/**
 * Why a Referred-By value may not be passed on in the target INVITE (RFC 3892 §3: the pivot copies it
 * as received), or undefined when it may.
 */
export function referredByProblem(value: string): string | undefined {
  return nameAddrTextProblem('Referred-By', value);
}
