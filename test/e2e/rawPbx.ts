/**
 * A PBX on a raw UDP socket (127.0.0.1), for what SIPp cannot send: header values with control bytes
 * (its scenarios are XML, which cannot hold them). It calls +15550200000 through the pivot as
 * test/sipp/e2e-pbx.xml does, so the carrier's e2e-carrier.xml takes the call, and then sends whatever
 * in-dialog request the test writes, byte for byte.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface RawResponse {
  status: number;
  text: string;
  header(name: string): string | undefined;
}

const SDP =
  'v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\na=sendrecv\r\n';

export async function rawPbx(pivot: { host: string; port: number }) {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = (socket.address() as AddressInfo).port;
  const inbox: string[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    inbox.push(data.toString('latin1'));
    for (const wake of waiters.splice(0)) wake();
  });
  const callId = `raw-${port}-${Date.now()}@127.0.0.1`;
  const fromTag = `raw${port}`;
  let branchCount = 0;
  let pivotTo = '';
  let pivotContact = 'sip:+15550200000@acme.pstn.pivot.test';

  const send = (text: string) =>
    new Promise<void>((resolve, reject) =>
      socket.send(Buffer.from(text, 'latin1'), pivot.port, pivot.host, (e) => (e ? reject(e) : resolve())),
    );

  /** Waits for (and removes) the first message that passes `test`: no deadline, the test's own applies. */
  async function next(test: (text: string) => boolean): Promise<string> {
    for (;;) {
      const i = inbox.findIndex(test);
      if (i >= 0) return inbox.splice(i, 1)[0]!;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  }

  function parse(text: string): RawResponse {
    const head = text.split('\r\n\r\n')[0]!.split('\r\n');
    return {
      status: Number(/^SIP\/2\.0 (\d{3})/.exec(head[0]!)?.[1]),
      text,
      header: (name) =>
        head
          .find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
          ?.slice(name.length + 1)
          .trim(),
    };
  }

  /** The final response to our request with this CSeq. */
  const finalTo = async (seq: number, method: string) =>
    parse(
      await next((t) => {
        const m = /^SIP\/2\.0 (\d{3})/.exec(t);
        return (
          m !== null && Number(m[1]) >= 200 && new RegExp(`\\r\\nCSeq: *${seq} ${method}\\r\\n`, 'i').test(t)
        );
      }),
    );

  function request(method: string, seq: number, to: string, extra: string[], body = ''): string {
    return [
      `${method} ${pivotContact} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-raw-${++branchCount}-${port}`,
      'Max-Forwards: 70',
      `From: "Agent" <sip:+15550100000@127.0.0.1:${port}>;tag=${fromTag}`,
      `To: ${to}`,
      `Call-ID: ${callId}`,
      `CSeq: ${seq} ${method}`,
      `Contact: <sip:pbx@127.0.0.1:${port}>`,
      ...extra,
      `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
      '',
      body,
    ].join('\r\n');
  }

  return {
    /** INVITE, its 200 and the ACK: the call is up. */
    async call(): Promise<void> {
      await send(
        request(
          'INVITE',
          1,
          '<sip:+15550200000@acme.pstn.pivot.test>',
          ['Content-Type: application/sdp'],
          SDP,
        ),
      );
      const ok = await finalTo(1, 'INVITE');
      if (ok.status !== 200) throw new Error(`INVITE answered ${ok.status}`);
      pivotTo = ok.header('To') ?? '';
      // Requests inside the dialog go to the pivot's Contact (RFC 3261 §12.2.1.1).
      pivotContact = /<([^>]+)>/.exec(ok.header('Contact') ?? '')?.[1] ?? pivotContact;
      await send(request('ACK', 1, pivotTo, []));
    },
    /** An in-dialog request with these extra header lines (sent as written); its final response. */
    async inDialog(method: string, seq: number, headers: string[]): Promise<RawResponse> {
      await send(request(method, seq, pivotTo, headers));
      return finalTo(seq, method);
    },
    /** Every request the pivot sent us (start lines), apart from responses. */
    requestsReceived(): string[] {
      return inbox.filter((t) => !t.startsWith('SIP/2.0')).map((t) => t.split('\r\n')[0]!);
    },
    close(): void {
      socket.close();
    },
  };
}
