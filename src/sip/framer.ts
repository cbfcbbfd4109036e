/**
 * TCP stream -> whole SIP messages, using Content-Length (RFC 3261 §18.3: mandatory over streams).
 * Never throws. When framing is lost (an unreadable Content-Length, oversized headers or body) it reports
 * it once and ignores the rest: the connection must be closed, nothing later in it can be trusted.
 */
export interface FramerOptions {
  maxMessageBytes: number;
  onMessage: (message: Buffer) => void;
  /** A CRLFCRLF keep-alive ping (RFC 5626 §4.4.1); the caller answers with a CRLF pong. */
  onPing: () => void;
  onFramingLost: (reason: string) => void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*$/im;

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
      // Single CRLFs between messages are pongs or padding; drop them, but keep a lone
      // trailing CRLF in case it is the first half of a ping split across packets.
      while (buffer.length > 2 && buffer[0] === 0x0d && buffer[1] === 0x0a && buffer[2] !== 0x0d) {
        buffer = buffer.subarray(2);
      }
      const end = buffer.indexOf(CRLFCRLF);
      if (end === -1) {
        if (buffer.length > options.maxMessageBytes) fail('header section too large');
        return;
      }
      const head = buffer.subarray(0, end).toString('latin1');
      const declared = CONTENT_LENGTH.exec(head)?.[1] ?? '0';
      if (!/^\d{1,9}$/.test(declared)) {
        // Hand the message on so validation answers 400, then give up on this connection.
        options.onMessage(Buffer.from(buffer));
        fail(`unreadable Content-Length "${declared}"`);
        return;
      }
      const total = end + 4 + Number(declared);
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
