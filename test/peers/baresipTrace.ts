/** baresip's SIP trace (`-s` on its stdout), read back as messages. */

/** One message of baresip's SIP trace (`-s`). */
export interface SipTraceEntry {
  transport: 'UDP' | 'TCP' | 'TLS';
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
  for (const match of output.matchAll(/^#\n(UDP|TCP|TLS) (\S+) -> (\S+)\n((?:[^\n]*\r\n)*)/gm)) {
    const text = match[4] ?? '';
    entries.push({
      transport: match[1] as SipTraceEntry['transport'],
      source: match[2] ?? '',
      destination: match[3] ?? '',
      firstLine: text.split('\r\n')[0] ?? '',
      text,
    });
  }
  return entries;
}
