/**
 * Where a message's header section ends: one rule for datagrams (parse.ts) and streams (framer.ts), so a
 * message is cut the same way whichever transport carried it. Pure.
 */
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');

/**
 * The empty line after the headers, from `from` on: CRLFCRLF, or LFLF for peers that end lines with a
 * bare LF (lenient towards hand-written test tools); whichever comes first. `length` is the empty line's
 * own length, so the body starts at `index + length`.
 */
export function findHeaderEnd(data: Buffer, from = 0): { index: number; length: number } | undefined {
  const crlf = data.indexOf(CRLFCRLF, from);
  const lf = data.indexOf(LFLF, from);
  if (crlf === -1 && lf === -1) return undefined;
  if (lf === -1 || (crlf !== -1 && crlf < lf)) return { index: crlf, length: 4 };
  return { index: lf, length: 2 };
}

/** RFC 3261 §7.5: CRLFs (and bare LFs) before the start line are ignored; the start line's offset. */
export function skipLeadingLineBreaks(data: Buffer): number {
  let i = 0;
  while (i < data.length && (data[i] === 0x0d || data[i] === 0x0a)) i++;
  return i;
}
