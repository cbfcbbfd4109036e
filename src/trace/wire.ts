/**
 * What the trace needs from a raw SIP message, read straight from its bytes: the first line, Call-ID
 * and CSeq. The session follows from the Call-ID alone (src/shared/sessionKeys.ts), so the
 * adapter's process can file a message without the engine or the store.
 */

export interface WireSummary {
  firstLine: string;
  callId: string;
  /** `1 INVITE`; empty when the message had none. */
  cseq: string;
  method?: string;
  status?: number;
}

/** Header lines are short; a body never holds the headers we look for, so reading stops at the blank line. */
const HEADER_LIMIT = 16_384;

export function summarize(data: Buffer): WireSummary | undefined {
  const head = data.subarray(0, HEADER_LIMIT).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const lines = (end < 0 ? head : head.slice(0, end)).split(/\r?\n/);
  const firstLine = lines[0]?.trim() ?? '';
  let callId = '';
  let cseq = '';
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === 'call-id' || name === 'i') callId = line.slice(colon + 1).trim();
    else if (name === 'cseq') cseq = line.slice(colon + 1).trim();
  }
  if (!callId || !firstLine) return undefined;
  const response = /^SIP\/2\.0\s+(\d{3})/.exec(firstLine);
  if (response) return { firstLine, callId, cseq, status: Number(response[1]) };
  const method = /^([A-Za-z]+)\s/.exec(firstLine)?.[1];
  return { firstLine, callId, cseq, ...(method ? { method: method.toUpperCase() } : {}) };
}
