/**
 * A refusal of a request no machine owns (the engine marks it with the To tag `pv-stateless`) leaves
 * the adapter once, without a retransmission timer or a transaction (RFC 3261 §8.2.7): a flood of
 * INVITEs from a spoofed source is not reflected twelve times, and costs no memory. A retransmitted
 * INVITE gets the same bytes again, and its ACK goes no further.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { SipInput } from '../../src/shared/messages.ts';
import type { SipAdapter } from '../../src/sip/index.ts';
import { until } from '../helpers/until.ts';
import {
  type Harness,
  header,
  rawRequest,
  startAdapter,
  statusLine,
  type UdpPeer,
  udpPeer,
} from './support.ts';

const T1_MS = 20;

/** Answers every new INVITE with 403, marked stateless or not. */
function refuseInvites(toTag: string) {
  return (input: SipInput, adapter: SipAdapter) => {
    if (input.kind !== 'request' || input.method !== 'INVITE') return;
    adapter.execute({
      kind: 'response',
      adapterId: input.adapterId,
      transactionKey: input.transactionKey,
      status: 403,
      reason: 'Forbidden',
      toTag,
      headers: { Warning: '399 sip-pivot "source address is not in the ACL"' },
    });
  };
}

/** The next datagram that is not a 100 Trying. */
async function nextFinal(peer: UdpPeer): Promise<string> {
  for (;;) {
    const text = await peer.next();
    if (statusLine(text) !== 'SIP/2.0 100 Trying') return text;
  }
}

/** Sends an OPTIONS and returns every datagram received before its 200 (UDP on loopback keeps order). */
async function drain(peer: UdpPeer, branch: string): Promise<string[]> {
  peer.send(rawRequest({ method: 'OPTIONS', port: peer.port, branch }));
  const before: string[] = [];
  for (;;) {
    const text = await peer.next();
    if (header(text, 'Via')?.includes(branch)) return before;
    before.push(text);
  }
}

/** Waits long enough that a refusal kept in a transaction would have been retransmitted several times. */
const pastRetransmissions = () => new Promise((resolve) => setTimeout(resolve, 16 * T1_MS));

describe('a refusal the engine marks stateless', () => {
  let harness: Harness | undefined;
  let peer: UdpPeer | undefined;
  afterEach(async () => {
    await peer?.close();
    await harness?.stop();
    peer = harness = undefined;
  });

  it('is sent once, keeps no transaction and is not retransmitted', async () => {
    harness = await startAdapter(refuseInvites('pv-stateless'), { t1Ms: T1_MS });
    peer = await udpPeer(harness.port, '127.0.0.66');
    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-sl-1' }));
    const refusal = await nextFinal(peer);
    expect(statusLine(refusal)).toBe('SIP/2.0 403 Forbidden');
    expect(header(refusal, 'To')).toContain(';tag=pv-stateless');
    expect(harness.adapter.stats()).toMatchObject({ transactions: 0, pending: 0, statelessAnswers: 1 });

    await pastRetransmissions();
    expect(await drain(peer, 'z9hG4bK-sl-opt')).toEqual([]);
  });

  it('answers a retransmitted INVITE with the same bytes, and absorbs its ACK', async () => {
    harness = await startAdapter(refuseInvites('pv-stateless'), { t1Ms: T1_MS });
    peer = await udpPeer(harness.port, '127.0.0.66');
    const invite = rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-sl-2' });
    peer.send(invite);
    const refusal = await nextFinal(peer);
    peer.send(invite);
    expect(await peer.next()).toBe(refusal);

    peer.send(
      rawRequest({
        method: 'ACK',
        port: peer.port,
        branch: 'z9hG4bK-sl-2',
        cseq: '1 ACK',
        toTag: 'pv-stateless',
      }),
    );
    expect(await drain(peer, 'z9hG4bK-sl-opt2')).toEqual([]);
    expect(harness.requests().map((r) => r.method)).toEqual(['INVITE']);
    expect(harness.adapter.stats()).toMatchObject({ transactions: 0, statelessRepeats: 1 });
  });

  it('is still retransmitted until the ACK when not marked (the control: a dialog-forming refusal)', async () => {
    harness = await startAdapter(refuseInvites('pv-ordinary'), { t1Ms: T1_MS });
    peer = await udpPeer(harness.port, '127.0.0.66');
    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-sl-3' }));
    const refusal = await nextFinal(peer);
    expect(await peer.next()).toBe(refusal);
    expect(harness.adapter.stats()).toMatchObject({ transactions: 1, statelessAnswers: 0 });
  });

  it('is how the adapter answers by itself too: OPTIONS and 405 keep no transaction, a repeat gets the same bytes', async () => {
    harness = await startAdapter(undefined, { t1Ms: T1_MS });
    peer = await udpPeer(harness.port, '127.0.0.66');
    const options = rawRequest({ method: 'OPTIONS', port: peer.port, branch: 'z9hG4bK-own-1' });
    peer.send(options);
    const ok = await peer.next();
    expect(statusLine(ok)).toBe('SIP/2.0 200 OK');
    peer.send(options);
    expect(await peer.next()).toBe(ok);
    peer.send(rawRequest({ method: 'PUBLISH', port: peer.port, branch: 'z9hG4bK-own-2' }));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 405 Method Not Allowed');
    expect(harness.adapter.stats()).toMatchObject({
      transactions: 0,
      statelessAnswers: 2,
      statelessRepeats: 1,
      statelessKept: 2,
    });
    expect(harness.inputs).toEqual([]);
  });

  it('keeps a bounded memory of refusals however many INVITEs are refused', async () => {
    harness = await startAdapter(refuseInvites('pv-stateless'), { t1Ms: T1_MS, sourceLimit: false });
    peer = await udpPeer(harness.port, '127.0.0.66');
    // More than the memory keeps, in batches a socket buffer holds.
    const count = 5_000;
    const batch = 50;
    const adapter = harness.adapter;
    for (let sent = 0; sent < count; sent += batch) {
      for (let i = sent; i < sent + batch; i++)
        peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: `z9hG4bK-sl-flood-${i}` }));
      await until(() => adapter.stats().statelessAnswers === sent + batch);
    }
    const stats = harness.adapter.stats();
    expect(stats).toMatchObject({ transactions: 0, pending: 0, statelessAnswers: count });
    expect(stats.statelessKept).toBeLessThan(count);
  });
});
