/**
 * What a well-formed request asks of us that we cannot give: an option tag we lack in Require (420,
 * RFC 3261 §8.2.2.3), a Request-URI scheme other than sip/sips/tel (416, §8.2.2.1), no hops left (483).
 * The adapter answers these itself; the engine never sees them. Max-Forwards travels in both directions.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SipInput, SipRequestInput } from '../../src/shared/messages.ts';
import type { SipAdapter } from '../../src/sip/index.ts';
import { describeSipp, runSipp } from '../helpers/sipp.ts';
import {
  type Harness,
  header,
  inviteCommand,
  rawRequest,
  sentBranches,
  startAdapter,
  statusLine,
  type UdpPeer,
  udpPeer,
} from './support.ts';

let harness: Harness;
let peer: UdpPeer;

/** The engine stand-in: every request but ACK gets 200. */
function answerAll(input: SipInput, adapter: SipAdapter) {
  if (input.kind !== 'request' || input.method === 'ACK') return;
  adapter.execute({
    kind: 'response',
    adapterId: adapter.adapterId,
    transactionKey: input.transactionKey,
    status: 200,
    reason: 'OK',
    toTag: 'engine-tag',
  });
}

beforeEach(async () => {
  harness = await startAdapter(answerAll);
  peer = await udpPeer(harness.port);
});
afterEach(async () => {
  await peer.close();
  await harness.stop();
});

const request = (method: string, branch: string, extra: string[], toTag?: string) =>
  rawRequest({ method, port: peer.port, branch, extra, ...(toTag ? { toTag } : {}) });
const withUri = (text: string, uri: string) => text.replace(/^(\S+) \S+ SIP\/2\.0/, `$1 ${uri} SIP/2.0`);
const withMaxForwards = (text: string, value: string) =>
  text.replace('Max-Forwards: 70', `Max-Forwards: ${value}`);

describe('Require', () => {
  it('gets 420 on an INVITE over SIPp, Unsupported naming exactly the unknown tags, ACK absorbed', async () => {
    const sipp = runSipp({ scenario: 'uac-invite-require.xml', remote: `127.0.0.1:${harness.port}` });
    const result = await sipp.done;
    expect(result.code, describeSipp(result)).toBe(0);
    // The ACK of a failure belongs to the INVITE's transaction: same branch.
    expect(sentBranches(result.messages, 'ACK')).toEqual(sentBranches(result.messages, 'INVITE'));
    expect(result.messages.match(/^SIP\/2\.0 420 Bad Extension/gm)).toHaveLength(1);
    expect(harness.inputs).toEqual([]);
  });

  it('lists each unknown tag once, as received, and never one we support (any case)', async () => {
    peer.send(request('OPTIONS', 'z9hG4bK-req-1', ['Require: foo, NoReferSub', 'Require: Bar, FOO']));
    const response = await peer.next();
    expect(statusLine(response)).toBe('SIP/2.0 420 Bad Extension');
    expect(header(response, 'Unsupported')).toBe('foo, Bar');
    expect(harness.inputs).toEqual([]);
  });

  it('lets a request requiring only norefersub through, and ignores Proxy-Require', async () => {
    peer.send(
      request('REFER', 'z9hG4bK-req-2', ['Require: norefersub', 'Proxy-Require: sec-agree'], 'dialog-tag'),
    );
    expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
    expect(harness.requests('REFER')).toHaveLength(1);
  });

  it('lets an INVITE requiring replaces (RFC 3891) through to the engine', async () => {
    peer.send(request('INVITE', 'z9hG4bK-req-4', ['Require: replaces', 'Replaces: a@b;to-tag=1;from-tag=2']));
    let response = await peer.next();
    while (statusLine(response).startsWith('SIP/2.0 100')) response = await peer.next();
    expect(statusLine(response)).toBe('SIP/2.0 200 OK');
    expect(harness.requests('INVITE')).toHaveLength(1);
  });

  it('is not checked on CANCEL: a CANCEL without its INVITE still gets 481', async () => {
    peer.send(request('CANCEL', 'z9hG4bK-req-3', ['Require: 100rel']));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 481 Call/Transaction Does Not Exist');
  });
});

describe('Request-URI scheme', () => {
  it('gets 416 for a mailto: INVITE, which never reaches the engine', async () => {
    peer.send(withUri(request('INVITE', 'z9hG4bK-uri-1', []), 'mailto:bob@example.com'));
    const response = await peer.next();
    expect(statusLine(response)).toBe('SIP/2.0 416 Unsupported URI Scheme');
    // An INVITE's final response carries a To tag, so the caller's ACK matches it.
    expect(header(response, 'To')).toMatch(/;tag=/);
    expect(harness.inputs).toEqual([]);
  });

  for (const uri of ['tel:+15550100000', 'sips:pivot@127.0.0.1', 'SIP:pivot@127.0.0.1']) {
    it(`accepts ${uri}`, async () => {
      peer.send(withUri(request('BYE', `z9hG4bK-uri-${uri.length}`, [], 'dialog-tag'), uri));
      expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
      expect(harness.requests('BYE')[0]?.uri).toBe(uri);
    });
  }
});

describe('Max-Forwards', () => {
  it('arrives with the request, and is absent when the request had none', async () => {
    peer.send(withMaxForwards(request('BYE', 'z9hG4bK-mf-1', [], 'dialog-tag'), '1'));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
    peer.send(
      rawRequest({
        method: 'BYE',
        port: peer.port,
        branch: 'z9hG4bK-mf-2',
        toTag: 't',
        omit: ['Max-Forwards'],
      }),
    );
    expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
    const [first, second] = harness.requests('BYE');
    expect(first?.maxForwards).toBe(1);
    expect(second).toBeDefined();
    expect(Object.hasOwn(second as SipRequestInput, 'maxForwards')).toBe(false);
  });

  it('at 0 gets 483 on an INVITE, which never reaches the engine', async () => {
    peer.send(withMaxForwards(request('INVITE', 'z9hG4bK-mf-3', []), '0'));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 483 Too Many Hops');
    expect(harness.inputs).toEqual([]);
  });

  it('at 0 on an OPTIONS is answered 200: the pivot answers OPTIONS itself, it never forwards them', async () => {
    peer.send(withMaxForwards(request('OPTIONS', 'z9hG4bK-mf-4', []), '0'));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 200 OK');
  });

  it('that is not a number gets 400', async () => {
    peer.send(withMaxForwards(request('BYE', 'z9hG4bK-mf-5', [], 'dialog-tag'), 'seventy'));
    expect(statusLine(await peer.next())).toBe('SIP/2.0 400 Malformed Max-Forwards header');
    expect(harness.inputs).toEqual([]);
  });

  it('is sent as the command says, 70 when it says nothing', async () => {
    const target = await udpPeer(harness.port);
    try {
      harness.adapter.execute({
        ...inviteCommand(target.port, { branch: 'z9hG4bK-mf-out-1', callId: 'mf-out-1' }),
        maxForwards: 9,
      });
      expect(header(await target.next(), 'Max-Forwards')).toBe('9');
      harness.adapter.execute(inviteCommand(target.port, { branch: 'z9hG4bK-mf-out-2', callId: 'mf-out-2' }));
      // Skip retransmissions of the first INVITE.
      let second = await target.next();
      while (!second.includes('branch=z9hG4bK-mf-out-2')) second = await target.next();
      expect(header(second, 'Max-Forwards')).toBe('70');
    } finally {
      await target.close();
    }
  });
});
