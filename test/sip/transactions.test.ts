/**
 * Transaction-layer timing, driven by a raw UDP peer with a small T1 so retransmissions show quickly:
 * what SIPp cannot be made to do on cue (stay silent, repeat a response, ACK late).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SendRequestCommand, SipInput, SipResponseInput } from '../../src/shared/messages.ts';
import type { SipAdapter } from '../../src/sip/index.ts';
import {
  type Harness,
  header,
  rawRequest,
  rawResponse,
  startAdapter,
  statusLine,
  type UdpPeer,
  udpPeer,
} from './support.ts';

const T1 = 40;
let harness: Harness | undefined;
let peer: UdpPeer | undefined;
afterEach(async () => {
  await peer?.close();
  await harness?.stop();
  peer = undefined;
  harness = undefined;
});

async function setUp(onInput?: (input: SipInput, adapter: SipAdapter) => void, t1Ms = T1) {
  harness = await startAdapter(onInput, { t1Ms });
  peer = await udpPeer(harness.port);
  return { harness, peer };
}

const answer = (
  adapter: SipAdapter,
  transactionKey: string,
  status: number,
  reason: string,
  toTag?: string,
) =>
  adapter.execute({
    kind: 'response',
    adapterId: adapter.adapterId,
    transactionKey,
    status,
    reason,
    ...(toTag ? { toTag } : {}),
  });

describe('server transactions', () => {
  it('retransmits a 2xx to INVITE until the ACK arrives, and delivers the ACK once', async () => {
    const { harness, peer } = await setUp((input, adapter) => {
      if (input.kind === 'request' && input.method === 'INVITE')
        answer(adapter, input.transactionKey, 200, 'OK', 'uas-1');
    });
    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-inv-1', callId: 'c1' }));
    // Answered before the handler returned: no 100 Trying precedes the final.
    const ok = await peer.next();
    expect(statusLine(ok)).toBe('SIP/2.0 200 OK');
    expect(header(ok, 'To')).toBe('<sip:pivot@127.0.0.1>;tag=uas-1');
    // Not ACKed yet: the same 200 again after T1, then 2*T1.
    expect(await peer.next()).toBe(ok);
    expect(await peer.next()).toBe(ok);
    const ack = rawRequest({
      method: 'ACK',
      port: peer.port,
      branch: 'z9hG4bK-ack-1',
      callId: 'c1',
      toTag: 'uas-1',
    });
    peer.send(ack);
    peer.send(ack);
    await harness.waitFor((i) => i.kind === 'request' && i.method === 'ACK');
    const after = await peer.collect(8 * T1);
    expect(after.length).toBeLessThanOrEqual(1); // at most one already in flight
    expect(await peer.collect(8 * T1)).toEqual([]);
    expect(harness.requests('ACK')).toHaveLength(1);
    expect(harness.requests('ACK')[0]!.transactionKey).toBe('z9hG4bK-ack-1:ACK');
  });

  it('retransmits a failure until its ACK, which the transaction absorbs', async () => {
    const { harness, peer } = await setUp((input, adapter) => {
      if (input.kind === 'request' && input.method === 'INVITE')
        answer(adapter, input.transactionKey, 486, 'Busy Here');
    });
    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-inv-2', callId: 'c2' }));
    const busy = await peer.next();
    expect(statusLine(busy)).toBe('SIP/2.0 486 Busy Here');
    expect(header(busy, 'To')).toMatch(/;tag=[0-9a-f]{16}$/);
    expect(await peer.next()).toBe(busy);
    const toTag = /;tag=([0-9a-f]+)/.exec(header(busy, 'To') ?? '')![1]!;
    peer.send(rawRequest({ method: 'ACK', port: peer.port, branch: 'z9hG4bK-inv-2', callId: 'c2', toTag }));
    await peer.collect(2 * T1);
    expect(await peer.collect(8 * T1)).toEqual([]);
    expect(harness.inputs.map((i) => (i.kind === 'request' ? i.method : i.status))).toEqual(['INVITE']);
  });

  it('delivers CANCEL with its own key; the engine answers the CANCEL and the INVITE', async () => {
    const { harness, peer } = await setUp((input, adapter) => {
      if (input.kind === 'request' && input.method === 'CANCEL') {
        answer(adapter, input.transactionKey, 200, 'OK');
        answer(adapter, 'z9hG4bK-inv-3', 487, 'Request Terminated');
      }
    });
    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-inv-3', callId: 'c3' }));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 100 Trying');
    peer.send(rawRequest({ method: 'CANCEL', port: peer.port, branch: 'z9hG4bK-inv-3', callId: 'c3' }));
    const first = await peer.next();
    const second = await peer.next();
    expect([statusLine(first), header(first, 'CSeq')]).toEqual(['SIP/2.0 200 OK', '1 CANCEL']);
    expect([statusLine(second), header(second, 'CSeq')]).toEqual([
      'SIP/2.0 487 Request Terminated',
      '1 INVITE',
    ]);
    expect(harness.requests('CANCEL')[0]!.transactionKey).toBe('z9hG4bK-inv-3:CANCEL');
    expect(harness.requests('INVITE')[0]!.transactionKey).toBe('z9hG4bK-inv-3');
  });

  it('answers a CANCEL itself when there is no INVITE to cancel (481) or it is already answered (200)', async () => {
    const { harness, peer } = await setUp((input, adapter) => {
      if (input.kind === 'request' && input.method === 'INVITE')
        answer(adapter, input.transactionKey, 486, 'Busy Here');
    });
    peer.send(rawRequest({ method: 'CANCEL', port: peer.port, branch: 'z9hG4bK-nothing', callId: 'c4' }));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 481 Call/Transaction Does Not Exist');

    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-inv-5', callId: 'c5' }));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 486 Busy Here');
    peer.send(rawRequest({ method: 'CANCEL', port: peer.port, branch: 'z9hG4bK-inv-5', callId: 'c5' }));
    // The 486 may be retransmitted meanwhile: wait for the CANCEL's answer among them.
    let reply = '';
    while (!reply.endsWith('1 CANCEL')) {
      const text = await peer.next();
      reply = `${statusLine(text)} / ${header(text, 'CSeq')}`;
    }
    expect(reply).toBe('SIP/2.0 200 OK / 1 CANCEL');
    expect(harness.requests('CANCEL')).toEqual([]);
  });

  it('sends nothing for a repeated response command (a retransmitted request gets it), drops a conflicting one', async () => {
    const { harness, peer } = await setUp();
    const request = rawRequest({ method: 'BYE', port: peer.port, branch: 'z9hG4bK-bye-1', toTag: 'x' });
    peer.send(request);
    const bye = await harness.waitFor((i) => i.kind === 'request' && i.method === 'BYE');
    if (bye.kind !== 'request') throw new Error('unreachable');
    answer(harness.adapter, bye.transactionKey, 200, 'OK');
    const first = await peer.next();
    answer(harness.adapter, bye.transactionKey, 200, 'OK');
    expect(await peer.collect(50)).toEqual([]);
    peer.send(request);
    expect(await peer.next()).toBe(first);
    answer(harness.adapter, bye.transactionKey, 500, 'Oops');
    expect(await peer.collect(50)).toEqual([]);
    expect(harness.logs.some((l) => l.msg === 'sip transaction already answered; response dropped')).toBe(
      true,
    );
  });

  it('drops (and logs) a response command for an unknown transaction without throwing', async () => {
    const { harness } = await setUp();
    expect(() => answer(harness.adapter, 'z9hG4bK-never-seen', 200, 'OK')).not.toThrow();
    expect(harness.logs.some((l) => l.msg.includes('unknown or expired transaction'))).toBe(true);
  });
});

describe('client transactions', () => {
  const notify = (port: number, branch: string, transport: 'udp' | 'tcp' = 'udp'): SendRequestCommand => ({
    kind: 'request',
    branch,
    method: 'NOTIFY',
    uri: `sip:pbx@127.0.0.1:${port}`,
    destination: { transport, host: '127.0.0.1', port },
    callId: 'c-notify',
    from: { uri: 'sip:pivot@127.0.0.1', params: { tag: 'p' } },
    to: { uri: 'sip:pbx@127.0.0.1', params: { tag: 'q' } },
    cseq: { seq: 3, method: 'NOTIFY' },
    headers: { Event: 'refer' },
    body: 'SIP/2.0 200 OK\r\n',
    contentType: 'message/sipfrag;version=2.0',
  });
  const inviteTo = (port: number, branch: string): SendRequestCommand => ({
    ...notify(port, branch),
    method: 'INVITE',
    callId: 'c-invite',
    to: { uri: 'sip:target@127.0.0.1', params: {} },
    cseq: { seq: 1, method: 'INVITE' },
    headers: {},
    body: 'v=0\r\n',
    contentType: 'application/sdp',
  });

  it('retransmits over UDP until answered, and delivers a repeated response once', async () => {
    const { harness, peer } = await setUp();
    harness.adapter.execute(notify(peer.port, 'z9hG4bK-n-1'));
    const first = await peer.next();
    expect(await peer.next()).toBe(first); // timer E
    expect(first.startsWith(`NOTIFY sip:pbx@127.0.0.1:${peer.port} SIP/2.0\r\n`)).toBe(true);
    expect(header(first, 'Via')).toBe(`SIP/2.0/UDP 127.0.0.1:${harness.port};branch=z9hG4bK-n-1;rport`);
    expect(header(first, 'Max-Forwards')).toBe('70');
    expect(header(first, 'Content-Length')).toBe('16');
    peer.send(rawResponse(first, 200, 'OK'));
    peer.send(rawResponse(first, 200, 'OK'));
    await harness.waitFor((i) => i.kind === 'response');
    expect(await peer.collect(6 * T1)).toEqual([]); // no retransmission after the final response
    expect(harness.responses()).toHaveLength(1);
    expect(harness.responses()[0]).toMatchObject({ transactionKey: 'z9hG4bK-n-1', status: 200 });
  });

  it('reports a synthetic 408 when nothing answers (timer F)', async () => {
    const { harness, peer } = await setUp(undefined, 10);
    harness.adapter.execute(notify(peer.port, 'z9hG4bK-n-2'));
    const timeout = await harness.waitFor<SipResponseInput>((i) => i.kind === 'response', 20_000);
    expect(timeout).toMatchObject({
      transactionKey: 'z9hG4bK-n-2',
      status: 408,
      cseq: { seq: 3, method: 'NOTIFY' },
      headers: { 'x-pivot-generated': ['timeout'] },
    });
    expect((await peer.collect(0)).length).toBeGreaterThanOrEqual(5);
  });

  it('reports a synthetic 503 when the TCP destination refuses the connection', async () => {
    const { harness } = await setUp();
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    harness.adapter.execute(notify(closedPort, 'z9hG4bK-n-3', 'tcp'));
    const failure = await harness.waitFor<SipResponseInput>((i) => i.kind === 'response');
    expect(failure).toMatchObject({ status: 503, headers: { 'x-pivot-generated': ['transport-error'] } });
  });

  it('re-sends the engine ACK when a 2xx to INVITE is retransmitted instead of delivering it again', async () => {
    const { harness, peer } = await setUp((input, adapter) => {
      if (input.kind === 'response' && input.status === 200) {
        adapter.execute({
          kind: 'request',
          branch: 'z9hG4bK-ack-2xx',
          method: 'ACK',
          uri: input.contact?.uri ?? 'sip:target@127.0.0.1',
          destination: input.source,
          callId: input.callId,
          from: input.from,
          to: input.to,
          cseq: { seq: input.cseq.seq, method: 'ACK' },
        });
      }
    });
    harness.adapter.execute(inviteTo(peer.port, 'z9hG4bK-i-1'));
    const invite = await peer.next();
    const ok = rawResponse(invite, 200, 'OK', 'callee');
    peer.send(ok);
    const ack = await peer.next();
    expect(ack.startsWith('ACK ')).toBe(true);
    expect(header(ack, 'Via')).toContain('branch=z9hG4bK-ack-2xx');
    peer.send(ok);
    expect(await peer.next()).toBe(ack);
    expect(harness.responses().filter((r) => r.status === 200)).toHaveLength(1);
  });

  it('holds a CANCEL back until the INVITE has a provisional response (RFC 3261 §9.1)', async () => {
    const { harness, peer } = await setUp();
    const command = inviteTo(peer.port, 'z9hG4bK-i-2');
    harness.adapter.execute(command);
    const invite = await peer.next();
    harness.adapter.execute({ ...command, method: 'CANCEL', cseq: { seq: 1, method: 'CANCEL' }, body: '' });
    const beforeRinging = await peer.collect(T1 / 2);
    expect(beforeRinging.filter((m) => m.startsWith('CANCEL'))).toEqual([]);
    peer.send(rawResponse(invite, 180, 'Ringing', 'callee'));
    let cancel = await peer.next();
    while (cancel.startsWith('INVITE')) cancel = await peer.next(); // retransmissions already in flight
    expect(cancel.startsWith('CANCEL ')).toBe(true);
    expect(header(cancel, 'Via')).toContain('branch=z9hG4bK-i-2');
    expect(header(cancel, 'CSeq')).toBe('1 CANCEL');
  });

  it('ACKs a non-2xx final itself with the INVITE branch, again when the failure is retransmitted', async () => {
    const { harness, peer } = await setUp();
    harness.adapter.execute(inviteTo(peer.port, 'z9hG4bK-i-3'));
    const invite = await peer.next();
    const busy = rawResponse(invite, 486, 'Busy Here', 'callee');
    peer.send(busy);
    let ack = await peer.next();
    while (ack.startsWith('INVITE')) ack = await peer.next();
    expect(ack.split('\r\n')[0]).toBe(`ACK sip:pbx@127.0.0.1:${peer.port} SIP/2.0`);
    expect(header(ack, 'Via')).toContain('branch=z9hG4bK-i-3');
    expect(header(ack, 'To')).toContain('tag=callee');
    expect(header(ack, 'CSeq')).toBe('1 ACK');
    peer.send(busy);
    expect(await peer.next()).toBe(ack);
    // A probe answered after it: the adapter has read the retransmitted 486 (same socket, in order) and
    // delivered only the probe's answer.
    harness.adapter.execute(inviteTo(peer.port, 'z9hG4bK-i-probe'));
    let probe = await peer.next();
    while (!probe.startsWith('INVITE')) probe = await peer.next();
    peer.send(rawResponse(probe, 180, 'Ringing', 'probe'));
    await harness.waitFor((i) => i.kind === 'response' && i.status === 180);
    expect(harness.responses().map((r) => r.status)).toEqual([486, 180]);
  });
});
