/**
 * Answering a carrier's (or an origination PBX's) digest challenge (RFC 3261 §22.2, RFC 7616, RFC 8760):
 * from the 401 `WWW-Authenticate` or 407 `Proxy-Authenticate` values, the credentials for the request's
 * retry (`Authorization` / `Proxy-Authorization`). SHA-256 is preferred over MD5 when both are offered;
 * `qop=auth` is used when offered (with a fresh cnonce), and the RFC 2069 form when no qop is.
 */
import { randomBytes } from 'node:crypto';
import { type Credential, type DigestAlgorithm, digestResponse, parseDigest } from './digest.ts';

export interface Authorization {
  header: 'Authorization' | 'Proxy-Authorization';
  value: string;
}

const PREFERENCE: DigestAlgorithm[] = ['SHA-256', 'MD5'];

function quoted(text: string): string {
  return `"${text.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * The credentials answering the strongest challenge we can answer in `headers` (lower-cased names, as
 * the adapter delivers them) for `method` `uri`, or undefined when there is none we support.
 */
export function answerChallenge(
  status: number,
  headers: Record<string, string[]>,
  method: string,
  uri: string,
  credential: Credential,
  cnonce: string = randomBytes(12).toString('hex'),
): Authorization | undefined {
  const proxy = status === 407;
  const values = headers[proxy ? 'proxy-authenticate' : 'www-authenticate'] ?? [];
  const offers = values
    .map(parseDigest)
    .filter((params) => params?.realm !== undefined && params.nonce !== undefined)
    .map((params) => ({ params: params!, algorithm: (params!.algorithm ?? 'MD5').toUpperCase() }))
    .filter((offer): offer is { params: Record<string, string>; algorithm: DigestAlgorithm } =>
      PREFERENCE.includes(offer.algorithm as DigestAlgorithm),
    )
    .sort((a, b) => PREFERENCE.indexOf(a.algorithm) - PREFERENCE.indexOf(b.algorithm));
  const offer = offers[0];
  if (!offer) return undefined;
  const { realm, nonce, opaque } = offer.params as { realm: string; nonce: string; opaque?: string };
  const qops = (offer.params.qop ?? '').split(',').map((q) => q.trim().toLowerCase());
  const qop = qops.includes('auth') ? { nc: '00000001', cnonce } : undefined;
  const response = digestResponse({
    algorithm: offer.algorithm,
    username: credential.username,
    realm,
    password: credential.password,
    nonce,
    method,
    uri,
    ...(qop ? { qop } : {}),
  });
  const parts = [
    `username=${quoted(credential.username)}`,
    `realm=${quoted(realm)}`,
    `nonce=${quoted(nonce)}`,
    `uri=${quoted(uri)}`,
    `response=${quoted(response)}`,
    `algorithm=${offer.algorithm}`,
    ...(qop ? [`qop=auth`, `nc=${qop.nc}`, `cnonce=${quoted(qop.cnonce)}`] : []),
    ...(opaque !== undefined ? [`opaque=${quoted(opaque)}`] : []),
  ];
  return { header: proxy ? 'Proxy-Authorization' : 'Authorization', value: `Digest ${parts.join(', ')}` };
}
