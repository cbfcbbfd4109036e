/** Parsing and formatting of name-addr / addr-spec values (From, To, Contact, Referred-By, ...). Pure. */
import type { NameAddr } from '../bus/messages.ts';

const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>]+$/;
const ANGLE_FORM = /^(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^<>]*)>(.*)$/s;
const ADDR_SPEC_FORM = /^([^;\s<>]+)(.*)$/s;

/** Parses `"Alice" <sip:a@h>;tag=1`, `<sip:a@h>`, or `sip:a@h;tag=1`. Undefined when malformed. */
export function parseNameAddr(value: string): NameAddr | undefined {
  const text = value.trim();
  let displayName: string | undefined;
  let uri: string;
  let rest: string;
  if (text.includes('<')) {
    const match = ANGLE_FORM.exec(text);
    if (!match) return undefined;
    if (match[1] !== undefined) displayName = match[1].replace(/\\(.)/g, '$1');
    else if (match[2]?.trim()) displayName = match[2].trim();
    uri = match[3]!.trim();
    rest = match[4]!;
  } else {
    // In an addr-spec, parameters after the URI belong to the header (RFC 3261 §20.10).
    const match = ADDR_SPEC_FORM.exec(text);
    if (!match) return undefined;
    uri = match[1]!;
    rest = match[2]!;
  }
  if (!URI.test(uri)) return undefined;
  const params = parseParams(rest);
  if (!params) return undefined;
  return displayName === undefined ? { uri, params } : { uri, displayName, params };
}

/**
 * Parses `;name=value;flag;q="quoted"` into lower-cased names; a flag maps to ''. Quotes are removed.
 * Undefined when the text is not a parameter list.
 */
export function parseParams(text: string): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const s = text;
  let i = 0;
  const skipSpace = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  skipSpace();
  while (i < s.length) {
    if (s[i] !== ';') return undefined;
    i++;
    skipSpace();
    const name = /^[A-Za-z0-9.!%*_+`'~-]+/.exec(s.slice(i))?.[0];
    if (!name) return undefined;
    i += name.length;
    skipSpace();
    let value = '';
    if (s[i] === '=') {
      i++;
      skipSpace();
      if (s[i] === '"') {
        const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(s.slice(i));
        if (!quoted) return undefined;
        value = quoted[1]!.replace(/\\(.)/g, '$1');
        i += quoted[0].length;
      } else {
        const bare = /^[^;\s",]+/.exec(s.slice(i))?.[0];
        if (!bare) return undefined;
        value = bare;
        i += bare.length;
      }
    }
    if (name !== '__proto__') params[name.toLowerCase()] = value;
    skipSpace();
  }
  return params;
}

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

/** Always the angle-bracket form, so URI parameters can never be mistaken for header parameters. */
export function formatNameAddr(nameAddr: NameAddr): string {
  const display =
    nameAddr.displayName !== undefined && nameAddr.displayName !== ''
      ? `"${nameAddr.displayName.replace(/(["\\])/g, '\\$1')}" `
      : '';
  return `${display}<${nameAddr.uri}>${formatParams(nameAddr.params ?? {})}`;
}

/** Splits a comma-separated header value, ignoring commas inside quotes and angle brackets. */
export function splitCommaList(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < value.length) {
        current += c + value[++i];
        continue;
      }
      if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current.trim());
  return parts.filter((p) => p !== '');
}
