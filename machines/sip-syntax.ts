/**
 * Pure SIP syntax helpers (RFC 3261 §19.1, §20.10, §25.1) for the machines and the adapter.
 * No I/O: every function takes header text or a URI string and returns plain data, or `undefined` when
 * the text is malformed, so bad input never throws (callers answer 400 instead).
 */
import type { NameAddr } from '../src/shared/messages.ts';

export type { NameAddr };

/**
 * Splits one header value into its comma-separated elements (RFC 3261 §7.3.1), ignoring commas inside
 * quoted strings and inside `<...>`: `"Doe, J" <sip:a@x>, <sip:b@y>` is two values. Empty elements are
 * dropped, so `a,,b` gives two.
 */
export function splitHeaderValues(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out.map((v) => v.trim()).filter((v) => v !== '');
}

/** A URI: a scheme, a colon and no characters that cannot appear unescaped in one. */
const URI = /^[a-z][a-z0-9+.-]*:[^\s<>"]+$/i;
/** A parameter name (RFC 3261 `token`). */
const TOKEN = /^[a-z0-9\-.!%*_+`'~]+$/i;

/**
 * Parses a From/To/Contact/Refer-To/Referred-By style value (RFC 3261 §20.10):
 * - name-addr: `"Bob \"B\"" <sip:bob@x;transport=tcp>;tag=1` -> the URI keeps its own `;params`,
 *   the params after `>` are header params;
 * - addr-spec: `sip:bob@x;tag=1` -> every `;param` after the URI is a header param, because a URI
 *   with parameters must be written inside `<>` to keep them.
 * Header param names are lower-cased; a quoted value is unquoted (formatNameAddr quotes it again);
 * a flag param maps to ''. Returns undefined for malformed input. The one name-addr grammar of the
 * project: the SIP adapter parses From, To and Contact with it too.
 */
export function parseNameAddr(value: string): NameAddr | undefined {
  const s = value.trim();
  if (s === '') return undefined;
  let displayName: string | undefined;
  let uri: string;
  let rest: string;
  let lt: number;
  if (s.startsWith('"')) {
    const quoted = readQuoted(s, 0);
    if (!quoted) return undefined;
    displayName = quoted.text;
    lt = skipSpace(s, quoted.end);
    // A quoted display name is only legal in front of `<uri>`.
    if (s[lt] !== '<') return undefined;
  } else {
    lt = s.indexOf('<');
    if (lt > 0) {
      const name = s.slice(0, lt).trim();
      if (name.includes('"') || name.includes('>')) return undefined;
      // LWS inside an unquoted display name folds to one space.
      if (name !== '') displayName = name.replace(/\s+/g, ' ');
    }
  }
  if (lt >= 0) {
    const gt = s.indexOf('>', lt);
    if (gt < 0) return undefined;
    uri = s.slice(lt + 1, gt).trim();
    rest = s.slice(gt + 1);
  } else {
    const semi = s.indexOf(';');
    uri = semi < 0 ? s : s.slice(0, semi).trim();
    rest = semi < 0 ? '' : s.slice(semi);
  }
  if (!URI.test(uri)) return undefined;
  const params = parseParams(rest);
  if (!params) return undefined;
  return displayName === undefined ? { uri, params } : { uri, displayName, params };
}

/** Writes a NameAddr back as a header value, always in name-addr form so URI params stay in the URI. */
export function formatNameAddr(addr: NameAddr): string {
  const name =
    addr.displayName === undefined || addr.displayName === ''
      ? ''
      : `"${addr.displayName.replace(/(["\\])/g, '\\$1')}" `;
  return `${name}<${addr.uri}>${formatParams(addr.params ?? {})}`;
}

/** `;name=value` per parameter; a value that is not a token (or an address) is quoted. */
export function formatParams(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([name, value]) => {
      if (value === '') return `;${name}`;
      return TOKEN.test(value) || /^[[\]0-9A-Fa-f:.]+$/.test(value)
        ? `;${name}=${value}`
        : `;${name}="${value.replace(/(["\\])/g, '\\$1')}"`;
    })
    .join('');
}

/** Reads a quoted-string starting at `start` (a `"`), unescaping `\x`; `end` is the index after it. */
function readQuoted(s: string, start: number): { text: string; end: number } | undefined {
  let text = '';
  for (let i = start + 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      if (i + 1 >= s.length) return undefined;
      text += s[++i];
    } else if (c === '"') return { text, end: i + 1 };
    else text += c;
  }
  return undefined;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && /\s/.test(s[i]!)) i++;
  return i;
}

/**
 * Parses `;a=1;b;c="x;y"` (possibly with LWS around `;` and `=`) into lower-cased names, quoted values
 * unquoted. `''` -> {}; anything else -> undefined.
 */
export function parseParams(text: string): Record<string, string> | undefined {
  const s = text.trim();
  const params: Record<string, string> = {};
  if (s === '') return params;
  if (!s.startsWith(';')) return undefined;
  for (const part of splitOutsideQuotes(s.slice(1), ';')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!TOKEN.test(name)) return undefined;
    if (eq >= 0 && (val === '' || (val.startsWith('"') && readQuoted(val, 0)?.end !== val.length))) {
      return undefined;
    }
    if (name === '__proto__') continue;
    params[name] = val.startsWith('"') ? readQuoted(val, 0)!.text : val;
  }
  return params;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** The scheme of a URI, lower-cased (`SIP:x` -> `sip`), or undefined when there is none. */
export function uriScheme(uri: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(uri.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

/** The parts of a sip:/sips: URI as written (RFC 3261 §19.1.1); `params` and `headers` keep `;`/`?`. */
interface SipUriParts {
  scheme: 'sip' | 'sips';
  userinfo?: string;
  hostport: string;
  params: string;
  headers: string;
}

function splitSipUri(uri: string): SipUriParts | undefined {
  const scheme = uriScheme(uri);
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  const body = uri.trim().slice(scheme.length + 1);
  const q = body.indexOf('?');
  const beforeHeaders = q < 0 ? body : body.slice(0, q);
  const headers = q < 0 ? '' : body.slice(q);
  // The user part may contain `;` (telephone-subscriber params) but never an unescaped `@`.
  const at = beforeHeaders.indexOf('@');
  const userinfo = at < 0 ? undefined : beforeHeaders.slice(0, at);
  const afterUser = beforeHeaders.slice(at + 1);
  const semi = afterUser.indexOf(';');
  const hostport = semi < 0 ? afterUser : afterUser.slice(0, semi);
  const params = semi < 0 ? '' : afterUser.slice(semi);
  if (hostport === '' || userinfo === '') return undefined;
  return userinfo === undefined
    ? { scheme, hostport, params, headers }
    : { scheme, userinfo, hostport, params, headers };
}

/**
 * The user of a URI: for sip/sips the userinfo without `:password`, percent-decoded
 * (`sip:%2B1555@x` -> `+1555`); for tel the subscriber number as written, without params.
 * Undefined when the URI has no user or another scheme.
 */
export function extractUser(uri: string): string | undefined {
  const scheme = uriScheme(uri);
  if (scheme === 'tel') {
    const number = uri.trim().slice(4).split(';')[0];
    return number === '' ? undefined : number;
  }
  const parts = splitSipUri(uri);
  if (!parts?.userinfo) return undefined;
  const user = parts.userinfo.split(':')[0]!;
  if (user === '') return undefined;
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}

/** The host of a sip/sips URI, lower-cased, as written in URI syntax (an IPv6 reference keeps `[]`). */
export function uriHost(uri: string): string | undefined {
  const parts = splitSipUri(uri);
  if (!parts) return undefined;
  const hp = parseHostPort(parts.hostport);
  if (!hp) return undefined;
  return hp.bracketed ? `[${hp.host}]` : hp.host;
}

/**
 * Host and port of a sip/sips URI as a network address: IPv6 without brackets (ready for a socket),
 * port only when the URI has one. Undefined for other schemes or a malformed host/port.
 */
export function uriHostPort(uri: string): { host: string; port?: number } | undefined {
  const parts = splitSipUri(uri);
  const hp = parts && parseHostPort(parts.hostport);
  if (!hp) return undefined;
  return hp.port === undefined ? { host: hp.host } : { host: hp.host, port: hp.port };
}

function parseHostPort(text: string): { host: string; bracketed: boolean; port?: number } | undefined {
  let host: string;
  let portText: string | undefined;
  let bracketed = false;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    host = text.slice(1, close);
    bracketed = true;
    const after = text.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return undefined;
      portText = after.slice(1);
    }
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (host === '' || !/^[a-z0-9\-.:_]+$/i.test(host)) return undefined;
  if (portText === undefined) return { host: host.toLowerCase(), bracketed };
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host: host.toLowerCase(), bracketed, port };
}

/**
 * The URI parameters of a sip/sips/tel URI (`;transport=tcp;lr` -> {transport: 'tcp', lr: ''}),
 * names lower-cased, values as written. Empty for other schemes.
 */
export function uriParams(uri: string): Record<string, string> {
  const params: Record<string, string> = {};
  let text: string;
  if (uriScheme(uri) === 'tel') {
    const body = uri.trim().slice(4);
    const semi = body.indexOf(';');
    text = semi < 0 ? '' : body.slice(semi);
  } else {
    text = splitSipUri(uri)?.params ?? '';
  }
  for (const part of text.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    params[(eq < 0 ? part : part.slice(0, eq)).toLowerCase()] = eq < 0 ? '' : part.slice(eq + 1);
  }
  return params;
}

/** The URI with one URI parameter removed (name compared case-insensitively); other text unchanged. */
export function withoutUriParam(uri: string, name: string): string {
  const parts = splitSipUri(uri);
  if (!parts) return uri;
  const kept = parts.params
    .split(';')
    .filter((p) => p !== '' && (p.split('=')[0] ?? '').toLowerCase() !== name.toLowerCase())
    .map((p) => `;${p}`)
    .join('');
  const user = parts.userinfo === undefined ? '' : `${parts.userinfo}@`;
  const scheme = uri.trim().slice(0, parts.scheme.length);
  return `${scheme}:${user}${parts.hostport}${kept}${parts.headers}`;
}
