/** baresip's SIP trace (`-s` on its stdout), read back as messages. */

/** One message of baresip's SIP trace (`-s`). */
export interface SipTraceEntry {
  source: string;
  destination: string;
  /** Request or status line. */
  firstLine: string;
  /** The whole message, CRLF line ends kept. */
  text: string;
}

/**
 * baresip prints each message as `#`, then `UDP a:p -> b:p` (or TCP, TLS), then the message, whose lines (and only
 * those) end in CRLF: the message ends at the first line that does not.
 */
export function parseSipTrace(output: string): SipTraceEntry[] {
  const entries: SipTraceEntry[] = [];
  for (const match of output.matchAll(/^#\n(?:UDP|TCP|TLS) (\S+) -> (\S+)\n((?:[^\n]*\r\n)*)/gm)) {
    const text = match[3] ?? '';
    entries.push({
      source: match[1] ?? '',
      destination: match[2] ?? '',
      firstLine: text.split('\r\n')[0] ?? '',
      text,
    });
  }
  return entries;
}
