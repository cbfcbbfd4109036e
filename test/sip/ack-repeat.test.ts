/**
 * The ACK of a 2xx is sent once per 2xx the peer sends (RFC 3261 §13.2.2.4): a repeated ACK command
 * (an engine that heard the 2xx more than once while the bus was slow, or had it redelivered) sends no
 * unasked-for copy. A copy could reach the peer after later requests of the dialog — an ACK of CSeq 1
 * after the re-INVITE of CSeq 2 — which a strict UA (SIPp) takes for the ACK it is waiting for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SendRequestCommand } from '../../src/shared/messages.ts';
import { type Harness, rawResponse, startAdapter, statusLine, type UdpPeer, udpPeer } from './support.ts';

let harness: Harness | undefined;
let peer: UdpPeer | undefined;
afterEach(async () => {
  await peer?.close();
  await harness?.stop();
  peer = undefined;
  harness = undefined;
});

const invite = (port: number): SendRequestCommand => ({
  kind: 'request',
  branch: 'z9hG4bK-leg-1-invite',
  method: 'INVITE',
  uri: `sip:carrier@127.0.0.1:${port}`,
  destination: { transport: 'udp', host: '127.0.0.1', port },
  callId: 'c-ack-repeat',
  from: { uri: 'sip:pivot@127.0.0.1', params: { tag: 'p' } },
  to: { uri: 'sip:carrier@127.0.0.1', params: {} },
  cseq: { seq: 1, method: 'INVITE' },
  headers: {},
  body: 'v=0\r\n',
  contentType: 'application/sdp',
});

const ack = (port: number): SendRequestCommand => ({
  ...invite(port),
  branch: 'z9hG4bK-leg-1-ack',
  method: 'ACK',
  to: { uri: 'sip:carrier@127.0.0.1', params: { tag: 'callee' } },
  cseq: { seq: 1, method: 'ACK' },
  body: '',
  contentType: undefined,
});

describe('an ACK command the engine repeats', () => {
  it('sends nothing once the ACK of that 2xx went out; a retransmitted 2xx still gets it again', async () => {
    harness = await startAdapter(undefined, { t1Ms: 500 });
    peer = await udpPeer(harness.port);
    harness.adapter.execute(invite(peer.port));
    const sent = await peer.next();
    const ok = rawResponse(sent, 200, 'OK', 'callee');
    peer.send(ok);
    await harness.waitFor((i) => i.kind === 'response' && i.status === 200);

    harness.adapter.execute(ack(peer.port));
    expect(statusLine(await peer.next())).toBe(`ACK sip:carrier@127.0.0.1:${peer.port} SIP/2.0`);
    // The same ACK decided again (the 2xx was delivered twice, or redelivered): nothing on the wire.
    harness.adapter.execute(ack(peer.port));
    harness.adapter.execute(ack(peer.port));
    expect(await peer.collect(300)).toEqual([]);
    expect(harness.logs.filter((l) => l.msg === 'sip repeated ACK command absorbed')).toHaveLength(2);

    // The peer did not get the ACK and retransmits its 2xx: the adapter answers it, the engine hears nothing.
    peer.send(ok);
    expect(statusLine(await peer.next())).toBe(`ACK sip:carrier@127.0.0.1:${peer.port} SIP/2.0`);
    expect(await peer.collect(200)).toEqual([]);
    expect(harness.responses().map((r) => r.status)).toEqual([200]);
  });
});
