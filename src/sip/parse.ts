/**
 * Bytes -> RawMessage. Pure and total: it never throws, whatever the input. It only splits the message
 * into start line, header lines and body; deciding whether the message is acceptable is validate.ts's job,
 * so that a request with a broken header can still be answered with a 400 naming it.
 */
import { MAX_MESSAGE_BYTES } from './constants.ts';
import { findHeaderEnd, skipLeadingLineBreaks } from './headerEnd.ts';
import { normalizeHeaderName } from './headerNames.ts';
import type { RawHeader, RawMessage, StartLine } from './types.ts';

export type ParseResult = { ok: true; message: RawMessage } | { ok: false; error: string };

const REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+) (\S+) (SIP\/\d+\.\d+)$/;
const STATUS_LINE = /^(SIP\/\d+\.\d+) ([1-9]\d\d) ?(.*)$/;
const HEADER_LINE = /^([!#-'*+.0-9A-Z^-z|~-]+)[ \t]*:[ \t]*(.*)$/s;

export function parseMessage(data: Buffer): ParseResult {
  if (data.length > MAX_MESSAGE_BYTES)
    return { ok: false, error: `message too large (${data.length} bytes)` };
  const start = skipLeadingLineBreaks(data);
  const end = findHeaderEnd(data, start);
  if (!end) return { ok: false, error: 'no end of header section (truncated or not SIP)' };
  const head = data.subarray(start, end.index).toString('utf8');
  if (head.includes('\0')) return { ok: false, error: 'NUL byte in header section' };

  const lines = unfold(head.split(/\r?\n/));
  const first = lines.shift() ?? '';
  const headers: RawHeader[] = [];
  const malformedLines: string[] = [];
  for (const line of lines) {
    const match = HEADER_LINE.exec(line);
    if (!match) {
      malformedLines.push(line);
      continue;
    }
    const name = normalizeHeaderName(match[1]!);
    // A header called __proto__ would corrupt the plain objects built from these later on.
    if (name === '__proto__') {
      malformedLines.push(line);
      continue;
    }
    headers.push({ name, value: detached(match[2]!.trim()) });
  }
  return {
    ok: true,
    message: {
      start: parseStartLine(first),
      headers,
      body: data.subarray(end.index + end.length),
      malformedLines,
    },
  };
}

function parseStartLine(line: string): StartLine {
  const status = STATUS_LINE.exec(line);
  if (status)
    return { kind: 'response', version: status[1]!, status: Number(status[2]), reason: status[3]!.trim() };
  const request = REQUEST_LINE.exec(line);
  if (request)
    return { kind: 'request', method: request[1]!, uri: detached(request[2]!), version: request[3]! };
  return { kind: 'invalid', line };
}

/**
 * A copy of a value cut from the header section that shares no memory with it. V8 keeps a substring as
 * a slice of the string it was cut from, and values kept for the life of a call (its events, its session
 * in the engine's cache: Call-ID, tags, URIs, identity headers) would keep every message's whole header
 * section alive with them, some 400 bytes per message for an established call's INVITE and 2xx.
 */
function detached(value: string): string {
  return Buffer.from(value, 'utf8').toString('utf8');
}

/** Joins continuation lines (starting with space or tab) to the header they continue (§7.3.1). */
function unfold(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && out.length > 1) out[out.length - 1] += ` ${line.trim()}`;
    else out.push(line);
  }
  return out;
}
