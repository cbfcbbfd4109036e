/**
 * SIP digest authentication for trunks (RFC 3261 §22, RFC 7616 syntax, RFC 8760 SHA-256): the
 * challenge the pivot sends and the check of the credentials a PBX sends back.
 *
 * Nonces are stateless: `<issued-at seconds>.<HMAC of it and the realm>`. Any engine that shares the
 * secret can check a nonce another engine issued, and nothing is stored per challenge, so a flood of
 * unauthenticated INVITEs costs no memory. A nonce older than its lifetime is answered with a new
 * challenge marked `stale=true`, so the PBX retries without asking the user for a password. The nonce
 * count is not tracked (that would need per-nonce state); the short lifetime bounds replay instead.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

export interface Credential {
  username: string;
  password: string;
}

export interface DigestOptions {
  realm: string;
  secret: string;
  /** Seconds since the epoch, from the engine clock. */
  nowSeconds: number;
  lifetimeSeconds?: number;
}

const DEFAULT_LIFETIME_SECONDS = 300;

function hash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text)
    .digest('hex');
}

function nonceMac(secret: string, issuedAt: number, realm: string): string {
  return createHmac('sha256', secret).update(`${issuedAt}:${realm}`).digest('base64url').slice(0, 32);
}

export function issueNonce(options: DigestOptions): string {
  return `${options.nowSeconds}.${nonceMac(options.secret, options.nowSeconds, options.realm)}`;
}

/** `ok`, `stale` (ours, but too old: challenge again with stale=true) or `invalid` (not ours). */
export function checkNonce(nonce: string, options: DigestOptions): 'ok' | 'stale' | 'invalid' {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{32})$/.exec(nonce);
  if (!match) return 'invalid';
  const issuedAt = Number(match[1]);
  if (!safeEqual(match[2]!, nonceMac(options.secret, issuedAt, options.realm))) return 'invalid';
  const age = options.nowSeconds - issuedAt;
  if (age < 0) return 'invalid';
  return age > (options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS) ? 'stale' : 'ok';
}

/** One `Proxy-Authenticate` value per algorithm, strongest first (RFC 8760 §2.4). */
export function challenges(options: DigestOptions, algorithms: DigestAlgorithm[], stale: boolean): string[] {
  const nonce = issueNonce(options);
  return algorithms.map(
    (algorithm) =>
      `Digest realm="${options.realm}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"` +
      (stale ? ', stale=true' : ''),
  );
}

/**
 * The parameters of a `Digest ...` credentials value (RFC 7616 §3.4), names lower-cased, quotes
 * removed; undefined when the scheme is not Digest or the syntax is broken.
 */
export function parseDigest(value: string): Record<string, string> | undefined {
  const match = /^\s*digest\s+/i.exec(value);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const rest = value.slice(match[0].length);
  const param = /\s*([a-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,"]+)\s*(,|$)/iy;
  let at = 0;
  while (at < rest.length) {
    param.lastIndex = at;
    const m = param.exec(rest);
    if (!m) return undefined;
    params[m[1]!.toLowerCase()] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!;
    at = param.lastIndex;
  }
  return params;
}

export type DigestVerdict = { ok: true; username: string } | { ok: false; stale: boolean; why: string };

/**
 * Checks credentials sent for `method` against the credential list. The response is recomputed with
 * the password of the named user and compared in constant time; the realm must be the trunk's and the
 * nonce one of ours.
 */
export function verifyDigest(
  header: string,
  method: string,
  credentials: readonly Credential[],
  options: DigestOptions,
): DigestVerdict {
  const params = parseDigest(header);
  if (!params) return { ok: false, stale: false, why: 'credentials are not Digest' };
  const { username, realm, nonce, uri, response } = params;
  if (!username || !realm || !nonce || !uri || !response) {
    return { ok: false, stale: false, why: 'credentials lack username, realm, nonce, uri or response' };
  }
  if (realm !== options.realm) return { ok: false, stale: false, why: `realm ${realm} is not this trunk's` };
  const freshness = checkNonce(nonce, options);
  if (freshness === 'invalid') return { ok: false, stale: false, why: 'nonce was not issued by the pivot' };
  const algorithm = (params.algorithm ?? 'MD5').toUpperCase() as DigestAlgorithm;
  if (algorithm !== 'MD5' && algorithm !== 'SHA-256') {
    return { ok: false, stale: false, why: `algorithm ${algorithm} is not supported` };
  }
  const credential = credentials.find((c) => c.username === username);
  if (!credential) return { ok: false, stale: false, why: `unknown user ${username}` };
  const qop = params.qop?.toLowerCase();
  if (qop !== undefined && qop !== 'auth')
    return { ok: false, stale: false, why: `qop ${qop} is not supported` };
  if (qop === 'auth' && (!params.nc || !params.cnonce)) {
    return { ok: false, stale: false, why: 'qop=auth without nc or cnonce' };
  }
  const expected = digestResponse({
    algorithm,
    username,
    realm,
    password: credential.password,
    nonce,
    method,
    uri,
    ...(qop === 'auth' ? { qop: { nc: params.nc!, cnonce: params.cnonce! } } : {}),
  });
  if (!safeEqual(response.toLowerCase(), expected)) {
    return { ok: false, stale: false, why: `wrong password for ${username}` };
  }
  // Right password on an expired nonce: ask again with stale=true, no new password needed.
  if (freshness === 'stale') return { ok: false, stale: true, why: 'nonce expired' };
  return { ok: true, username };
}

/**
 * The `response` of RFC 7616 §3.4.1 (RFC 2617 without qop): what a PBX sends us and what we send a
 * carrier that challenges, computed the same way for both.
 */
export function digestResponse(input: {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  nonce: string;
  method: string;
  uri: string;
  qop?: { nc: string; cnonce: string };
}): string {
  const { algorithm } = input;
  const ha1 = hash(algorithm, `${input.username}:${input.realm}:${input.password}`);
  const ha2 = hash(algorithm, `${input.method}:${input.uri}`);
  return input.qop
    ? hash(algorithm, `${ha1}:${input.nonce}:${input.qop.nc}:${input.qop.cnonce}:auth:${ha2}`)
    : hash(algorithm, `${ha1}:${input.nonce}:${ha2}`);
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
