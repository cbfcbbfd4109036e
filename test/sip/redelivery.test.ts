/**
 * What the adapter does with a retransmitted request that has no final answer yet: a non-INVITE is
 * delivered again (its first copy may have been lost on the way to an engine, and the peer keeps
 * retransmitting until it is answered); an INVITE is not (our 100 Trying stops its retransmissions).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SipInput } from '../../src/shared/messages.ts';
import type { SipAdapter } from '../../src/sip/index.ts';
import {
  type Harness,
  inviteCommand,
  rawRequest,
  rawResponse,
  startAdapter,
  statusLine,
  type UdpPeer,
  udpPeer,
} from './support.ts';

let harness: Harness | undefined;
let peer: UdpPeer | undefined;
afterEach(async () => {
  await peer?.close();
  await harness?.stop();
  peer = undefined;
  harness = undefined;
});

async function setUp(onInput: (input: SipInput, adapter: SipAdapter) => void = () => {}) {
  harness = await startAdapter(onInput, { t1Ms: 40 });
  peer = await udpPeer(harness.port);
  return { harness, peer };
}

const keys = (h: Harness, method: string) => h.requests(method).map((r) => r.transactionKey);

describe('a retransmitted request without a final answer', () => {
  it('is delivered again when it is a BYE, and absorbed once the engine answered it', async () => {
    let answerNext = false;
    const { harness, peer } = await setUp((input, adapter) => {
      // The first copy "gets lost on the way to the engine": no answer until the second one.
      if (input.kind !== 'request' || input.method !== 'BYE') return;
      if (!answerNext) {
        answerNext = true;
        return;
      }
      adapter.execute({
        kind: 'response',
        adapterId: adapter.adapterId,
        transactionKey: input.transactionKey,
        status: 200,
        reason: 'OK',
      });
    });
    const bye = rawRequest({ method: 'BYE', port: peer.port, branch: 'z9hG4bK-bye-1', toTag: 'pv-1' });
    peer.send(bye);
    await harness.waitFor((i) => i.kind === 'request' && i.method === 'BYE');
    peer.send(bye);
    expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
    peer.send(bye);
    // The third copy gets the 200 again from the transaction, and the engine hears nothing new.
    expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
    expect(keys(harness, 'BYE')).toEqual(['z9hG4bK-bye-1', 'z9hG4bK-bye-1']);
    expect(harness.logs.some((l) => l.msg === 'sip request retransmission delivered again')).toBe(true);
  });

  it('is absorbed when it is an INVITE (the 100 Trying is sent again)', async () => {
    const { harness, peer } = await setUp(() => {});
    const invite = rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-inv-9', callId: 'c9' });
    peer.send(invite);
    expect(statusLine(await peer.next())).toBe('SIP/2.0 100 Trying');
    await harness.waitFor((i) => i.kind === 'request' && i.method === 'INVITE');
    peer.send(invite);
    expect(statusLine(await peer.next())).toBe('SIP/2.0 100 Trying');
    expect(keys(harness, 'INVITE')).toEqual(['z9hG4bK-inv-9']);
  });
});

describe('a request command the engine repeats', () => {
  const invite = (port: number) =>
    inviteCommand(port, { branch: 'z9hG4bK-leg-1-INVITE', callId: 'c-repeat' });

  it('is not sent again once its transaction has a final response; the engine hears that response again', async () => {
    const { harness, peer } = await setUp();
    harness.adapter.execute(invite(peer.port));
    const sent = await peer.next();
    peer.send(rawResponse(sent, 486, 'Busy Here', 'callee'));
    await harness.waitFor((i) => i.kind === 'response' && i.status === 486);
    expect(statusLine(await peer.next())).toBe(`ACK sip:target@127.0.0.1:${peer.port} SIP/2.0`);
    // An engine that missed the 486 (it crashed before storing it) decides the INVITE again.
    harness.adapter.execute(invite(peer.port));
    expect(await peer.collect(300)).toEqual([]);
    expect(harness.responses().map((r) => r.status)).toEqual([486, 486]);
  });
});
