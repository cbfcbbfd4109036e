/**
 * Who the caller is, as a carrier (or a PBX) must be told. PBXs send extensions (`sip:1001@pbx`),
 * national numbers, `anonymous`, and often the real number only in P-Asserted-Identity (RFC 3325);
 * carriers want a well-formed URI with an E.164 user, the asserted identity, and the privacy the caller
 * asked for (RFC 3323). The trunk's `callerIdRule` decides (src/config/schema.ts).
 */

import { normalizeE164 } from '../../machines/refer-target.ts';
import { extractUser, parseNameAddr, splitHeaderValues, uriHost } from '../../machines/sip-syntax.ts';
import type { TrunkConfig } from '../config/index.ts';
import { firstHeader, type NameAddr, type SipRequestInput } from '../shared/messages.ts';

export type Numbering = NonNullable<TrunkConfig['numbering']>;

/**
 * A number as a PBX writes it -> `+E164`, or undefined when it is not one (an extension, a name).
 * `+` and RFC 3966 visual separators are understood everywhere; national and international prefixes
 * only with the trunk's `numbering`.
 */
export function normalizeNumber(text: string, numbering?: Numbering): string | undefined {
  const plain = text.replace(/[-.() ]/g, '');
  if (plain.startsWith('+')) return normalizeE164(plain);
  if (!numbering || !/^\d+$/.test(plain)) return undefined;
  const { countryCode, nationalPrefix, internationalPrefix, nationalNumberLength } = numbering;
  if (internationalPrefix && plain.startsWith(internationalPrefix)) {
    return normalizeE164(`+${plain.slice(internationalPrefix.length)}`);
  }
  const national =
    nationalPrefix && plain.startsWith(nationalPrefix) ? plain.slice(nationalPrefix.length) : undefined;
  if (
    national !== undefined &&
    (nationalNumberLength === undefined || national.length === nationalNumberLength)
  ) {
    return normalizeE164(`+${countryCode}${national}`);
  }
  if (nationalNumberLength !== undefined && plain.length === nationalNumberLength) {
    return normalizeE164(`+${countryCode}${plain}`);
  }
  return undefined;
}

export interface CallerIdentity {
  /** The From of the outbound INVITE. */
  from: NameAddr;
  /** P-Asserted-Identity, Privacy, Diversion, History-Info to send with it. */
  headers: Record<string, string>;
  /** The caller as the call log shows it: +E164, the user as sent, or `anonymous`. */
  number: string;
}

/** The headers that describe the caller or the call's history, relayed as the peer sent them. */
const RELAYED = ['diversion', 'history-info'] as const;
const CANONICAL: Record<(typeof RELAYED)[number], string> = {
  diversion: 'Diversion',
  'history-info': 'History-Info',
};

const ANONYMOUS: NameAddr = {
  uri: 'sip:anonymous@anonymous.invalid',
  displayName: '"Anonymous"',
  params: {},
};

function isAnonymous(addr: NameAddr): boolean {
  const user = extractUser(addr.uri)?.toLowerCase();
  return user === 'anonymous' || uriHost(addr.uri) === 'anonymous.invalid';
}

/** RFC 3323 §4.2: `id` and `user` ask that the caller's identity be withheld from the called party. */
function wantsPrivacy(privacy: string | undefined): boolean {
  return privacy !== undefined && /(^|[;,\s])(id|user|header)($|[;,\s])/i.test(privacy);
}

/** A user part safe in a SIP URI (RFC 3261 §25.1 `user`): anything else is %-escaped. */
function escapeUser(user: string): string {
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/**
 * The caller of a termination call as the carrier must see it. The asserted identity (P-Asserted-
 * Identity, else P-Preferred-Identity, else From) gives the number; the From's display name is kept;
 * an anonymous From or a Privacy request keeps the number out of From but asserts it to the carrier.
 */
export function terminatingCaller(
  input: SipRequestInput,
  trunk: TrunkConfig,
  publicHost: string,
): CallerIdentity {
  const asserted =
    parseIdentity(firstHeader(input, 'p-asserted-identity')) ??
    parseIdentity(firstHeader(input, 'p-preferred-identity')) ??
    input.from;
  const user = extractUser(asserted.uri) ?? '';
  const main = trunk.mainNumber ?? trunk.numbers[0];
  const rule = trunk.callerIdRule ?? 'e164';
  const number =
    rule === 'main-number'
      ? (main ?? user)
      : rule === 'passthrough'
        ? user
        : (normalizeNumber(user, trunk.numbering) ?? main ?? user);
  const privacy = firstHeader(input, 'privacy');
  const hidden = isAnonymous(input.from) || wantsPrivacy(privacy);
  const headers: Record<string, string> = {};
  const known = number !== '' && number.toLowerCase() !== 'anonymous';
  if (known) headers['P-Asserted-Identity'] = `<sip:${escapeUser(number)}@${publicHost}>`;
  if (privacy) headers.Privacy = privacy;
  else if (hidden) headers.Privacy = 'id';
  Object.assign(headers, relayedHistory(input));
  if (hidden || !known) return { from: ANONYMOUS, headers, number: known ? number : 'anonymous' };
  const from: NameAddr = { uri: `sip:${escapeUser(number)}@${publicHost}`, params: {} };
  if (input.from.displayName) from.displayName = input.from.displayName;
  return { from, headers, number };
}

/**
 * The caller of an origination call as the PBX must see it: the carrier's From as sent (display name
 * included), with its identity and privacy headers, so the PBX can show or withhold the number.
 */
export function originatingCaller(input: SipRequestInput): CallerIdentity {
  const from: NameAddr = { uri: input.from.uri, params: {} };
  if (input.from.displayName) from.displayName = input.from.displayName;
  const headers: Record<string, string> = {};
  const asserted = firstHeader(input, 'p-asserted-identity');
  if (asserted && parseIdentity(asserted)) headers['P-Asserted-Identity'] = asserted;
  const privacy = firstHeader(input, 'privacy');
  if (privacy) headers.Privacy = privacy;
  Object.assign(headers, relayedHistory(input));
  const user = extractUser(input.from.uri);
  const number = user ? (normalizeE164(user) ?? user) : input.from.uri;
  return { from, headers, number: isAnonymous(input.from) ? 'anonymous' : number };
}

function parseIdentity(value: string | undefined): NameAddr | undefined {
  if (!value) return undefined;
  const first = splitHeaderValues(value)[0];
  const addr = first === undefined ? undefined : parseNameAddr(first);
  return addr && extractUser(addr.uri) ? addr : undefined;
}

/** Diversion (RFC 5806) and History-Info (RFC 7044) as received, every line kept in order. */
function relayedHistory(input: SipRequestInput): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of RELAYED) {
    const values = input.headers[name];
    if (values && values.length > 0) out[CANONICAL[name]] = values.join(', ');
  }
  return out;
}
