/**
 * The liveness probe tests send a running pivot over UDP: an out-of-dialog OPTIONS, which the SIP edge
 * answers by itself (200 with Allow and Supported), so an answer proves the pivot serves on that port.
 */
import dgram from 'node:dgram';

/** OPTIONS number `n` from 127.0.0.1:`localPort`: its own branch, Call-ID and CSeq, labelled `label`. */
export function optionsRequest(localPort: number, n: number, label = 'probe'): string {
  return [
    'OPTIONS sip:127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${localPort};branch=z9hG4bK-${label}-${n}`,
    'Max-Forwards: 70',
    'From: <sip:probe@127.0.0.1>;tag=probe',
    'To: <sip:127.0.0.1>',
    `Call-ID: ${label}-${n}@127.0.0.1`,
    `CSeq: ${n} OPTIONS`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

export interface ProbeOptions {
  /** Names the requests' branch and Call-ID, and numbers the first one (default 1). */
  label?: string;
  n?: number;
  /**
   * Sends a new OPTIONS (the next number) every `resendMs` until one is answered, for a pivot that may
   * still be starting. Without it exactly one request is sent, for tests that count what was answered.
   */
  resendMs?: number;
}

/** Sends OPTIONS to 127.0.0.1:`port` from a socket of its own; resolves with the first answer. */
export async function optionsAnswered(port: number, options: ProbeOptions = {}): Promise<string> {
  const label = options.label ?? 'probe';
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const local = socket.address().port;
  const answer = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
  let resend: NodeJS.Timeout | undefined;
  try {
    let n = options.n ?? 1;
    const send = () => socket.send(optionsRequest(local, n++, label), port, '127.0.0.1');
    send();
    if (options.resendMs !== undefined) resend = setInterval(send, options.resendMs);
    return await answer;
  } finally {
    clearInterval(resend);
    socket.close();
  }
}
