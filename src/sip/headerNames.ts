/** Header names: compact forms on the way in, conventional capitalisation on the way out. */

/** RFC 3261 §7.3.3 and the extensions' compact forms (RFC 3515 r, RFC 3892 b, RFC 6665 o/u, ...). */
const COMPACT_FORMS: Record<string, string> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

/** Lower-cases a header name and expands its compact form. */
export function normalizeHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return Object.hasOwn(COMPACT_FORMS, lower) ? COMPACT_FORMS[lower]! : lower;
}

/** Names whose usual spelling is not plain Title-Case. */
const SPECIAL_SPELLINGS: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'p-asserted-identity': 'P-Asserted-Identity',
  'p-preferred-identity': 'P-Preferred-Identity',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
  // RFC 3262 and RFC 4028 spell these so, and some peers match header names case-sensitively.
  rack: 'RAck',
  rseq: 'RSeq',
  'min-se': 'Min-SE',
};

/** `refer-sub` -> `Refer-Sub`; header names are case-insensitive, this is only for readable traces. */
export function canonicalHeaderName(name: string): string {
  const normalized = normalizeHeaderName(name);
  if (Object.hasOwn(SPECIAL_SPELLINGS, normalized)) return SPECIAL_SPELLINGS[normalized]!;
  return normalized.replace(
    /(^|-)([a-z])/g,
    (_m, dash: string, letter: string) => dash + letter.toUpperCase(),
  );
}
