/**
 * TCP stream -> whole SIP messages, using Content-Length (RFC 3261 §18.3: mandatory over streams).
 * The header section ends where the parser says it does (headerEnd.ts: CRLFCRLF, or LFLF for bare-LF
 * peers, as over UDP), and Content-Length is read from the headers exactly as validation reads them
 * (parse.ts), so the framer and the validator can never disagree about where a message ends.
 * Never throws. When framing is lost (Content-Length repeated, unreadable, or on a line that does not
 * parse; oversized headers or body) it hands the header section on once, so validation can answer 400,
 * reports it and ignores the rest: the connection must be closed, nothing later in it can be trusted
 * (a second message hidden in a "body" would otherwise be smuggled past the 400).
 */
import { findHeaderEnd, skipLeadingLineBreaks } from './headerEnd.ts';
import { parseMessage } from './parse.ts';

export interface FramerOptions {
  maxMessageBytes: number;
  onMessage: (message: Buffer) => void;
  /** A CRLFCRLF keep-alive ping (RFC 5626 §4.4.1); the caller answers with a CRLF pong. */
  onPing: () => void;
  onFramingLost: (reason: string) => void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** A header line the parser could not read but whose name is Content-Length (or its compact form l). */
const CONTENT_LENGTH_LIKE = /^[ \t]*(?:content-length|l)(?![!#-'*+.0-9A-Z^-z|~-])/i;

type Declared = { ok: true; length: number } | { ok: false; reason: string };

/**
 * The body length a header section declares, read with the parser's rules. None declared counts as 0:
 * a stream has no other way to tell where the message ends, and validation answers such a request 400.
 */
function declaredLength(head: Buffer): Declared {
  const parsed = parseMessage(head);
  if (!parsed.ok) return { ok: false, reason: `unreadable header section (${parsed.error})` };
  const suspect = parsed.message.malformedLines.find((line) => CONTENT_LENGTH_LIKE.test(line));
  if (suspect !== undefined) return { ok: false, reason: `unreadable Content-Length line "${suspect}"` };
  const values = parsed.message.headers.filter((h) => h.name === 'content-length').map((h) => h.value);
  if (values.length > 1) return { ok: false, reason: `${values.length} Content-Length headers` };
  const value = values[0] ?? '0';
  if (!/^\d{1,9}$/.test(value)) return { ok: false, reason: `unreadable Content-Length "${value}"` };
  return { ok: true, length: Number(value) };
}

/** "\r", "\r\n", "\r\n\r": what may be the first half of a ping split across packets. */
function isPingPrefix(buffer: Buffer): boolean {
  return buffer.length < CRLFCRLF.length && CRLFCRLF.subarray(0, buffer.length).equals(buffer);
}

export function createStreamFramer(options: FramerOptions): (chunk: Buffer) => void {
  let buffer: Buffer = Buffer.alloc(0);
  let lost = false;

  const fail = (reason: string) => {
    lost = true;
    buffer = Buffer.alloc(0);
    options.onFramingLost(reason);
  };

  const drain = () => {
    for (;;) {
      if (buffer.subarray(0, 4).equals(CRLFCRLF)) {
        buffer = buffer.subarray(4);
        options.onPing();
        continue;
      }
      // RFC 3261 §7.5: line breaks before a start line (pongs, padding) are ignored on streams. Only
      // line breaks so far: keep them if they may be half a ping, otherwise drop them.
      const start = skipLeadingLineBreaks(buffer);
      if (start === buffer.length) {
        if (!isPingPrefix(buffer)) buffer = Buffer.alloc(0);
        return;
      }
      if (start > 0) buffer = buffer.subarray(start);

      const end = findHeaderEnd(buffer);
      if (!end) {
        if (buffer.length > options.maxMessageBytes) fail('header section too large');
        return;
      }
      const headLength = end.index + end.length;
      if (headLength > options.maxMessageBytes) {
        fail('header section too large');
        return;
      }
      const declared = declaredLength(buffer.subarray(0, headLength));
      if (!declared.ok) {
        // Hand the header section on (never the bytes after it) so validation answers 400, then give up.
        options.onMessage(Buffer.from(buffer.subarray(0, headLength)));
        fail(declared.reason);
        return;
      }
      const total = headLength + declared.length;
      if (total > options.maxMessageBytes) {
        fail(`message too large (${total} bytes)`);
        return;
      }
      if (buffer.length < total) return;
      const message = Buffer.from(buffer.subarray(0, total));
      buffer = buffer.subarray(total);
      options.onMessage(message);
    }
  };

  return (chunk) => {
    if (lost) return;
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    drain();
  };
}
