/**
 * Checks on header text the pivot copies into requests of its own (the Refer-To URI becomes the target
 * INVITE's Request-URI, Referred-By is passed on as is). A control character would travel into that
 * request: a CR or LF splits it into other header lines, a NUL cuts it short at peers written in C. RFC
 * 3261 §25.1 allows none of them in a URI and only HTAB (as whitespace) in a header value; a `%` in a
 * URI must start an escape of two hex digits, and an escape must not smuggle a control character in
 * (the peer decodes it). Pure.
 */
import { parseNameAddr } from './sip-syntax.ts';

/** C0 controls and DEL (RFC 5234 CTL). */
function isControl(code: number): boolean {
  return code < 0x20 || code === 0x7f;
}

/** The first control character in `text` (HTAB allowed when `tab` is true), or undefined. */
function firstControl(text: string, tab: boolean): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isControl(code) && !(tab && code === 0x09)) return code;
  }
  return undefined;
}

const BAD_ESCAPE = /%(?![0-9a-f]{2})/i;
const ESCAPED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;

/** Why a header value may not be copied into a request, naming the header; undefined when it may. */
export function headerValueProblem(header: string, value: string): string | undefined {
  return firstControl(value, true) !== undefined ? `control character in ${header}` : undefined;
}

/** Why a URI may not be copied into a request, naming the header it came in; undefined when it may. */
export function uriTextProblem(header: string, uri: string): string | undefined {
  if (firstControl(uri, false) !== undefined) return `control character in ${header} URI`;
  if (BAD_ESCAPE.test(uri)) return `invalid %-escape in ${header} URI`;
  if (ESCAPED_CONTROL.test(uri)) return `escaped control character in ${header} URI`;
  return undefined;
}

/**
 * The text with every control character written as a %-escape (`\x01` -> `%01`), so a refused value can
 * still be stored and shown without the bytes themselves.
 */
export function escapeControls(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += isControl(code) ? `%${code.toString(16).padStart(2, '0').toUpperCase()}` : c;
  }
  return out;
}

/**
 * Why a name-addr value (Refer-To, Referred-By) may not be copied into a request: a control character
 * anywhere in it, or a bad or control %-escape in its URI. Undefined when it may (or when it does not
 * parse: its parser refuses it then).
 */
export function nameAddrTextProblem(header: string, value: string): string | undefined {
  const control = headerValueProblem(header, value);
  if (control) return control;
  const uri = parseNameAddr(value)?.uri;
  return uri === undefined ? undefined : uriTextProblem(header, uri);
}
