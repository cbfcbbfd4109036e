/**
 * Allow and Supported (RFC 3261 §20.5, §20.37) on every INVITE the pivot sends and every 2xx it sends to
 * an INVITE, on the OPTIONS 200 and on 405: a PBX decides from Allow whether it may REFER to us. A header
 * the engine put in its command wins over the adapter's.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SipInput } from '../../src/shared/messages.ts';
import type { SipAdapter } from '../../src/sip/index.ts';
import {
  type Harness,
  header,
  inviteCommand,
  rawRequest,
  startAdapter,
  statusLine,
  type UdpPeer,
  udpPeer,
} from './support.ts';

const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY, INFO, PRACK, UPDATE';

/** Every value of a header in a message text. */
const values = (text: string, name: string) =>
  text
    .split('\r\n')
    .filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((line) => line.slice(name.length + 1).trim());

let harness: Harness;
let peer: UdpPeer;
/** Extra headers the engine stand-in puts on its 200 to the next INVITE. */
let okHeaders: Record<string, string> = {};

function engine(input: SipInput, adapter: SipAdapter) {
  if (input.kind !== 'request' || input.method !== 'INVITE') return;
  const answer = (status: number, reason: string, headers: Record<string, string> = {}) =>
    adapter.execute({
      kind: 'response',
      adapterId: adapter.adapterId,
      transactionKey: input.transactionKey,
      status,
      reason,
      toTag: 'pivot-tag',
      headers,
    });
  answer(180, 'Ringing');
  answer(200, 'OK', okHeaders);
}

beforeEach(async () => {
  okHeaders = {};
  harness = await startAdapter(engine, { t1Ms: 60_000 });
  peer = await udpPeer(harness.port);
});
afterEach(async () => {
  await peer.close();
  await harness.stop();
});

describe('INVITEs the pivot sends', () => {
  it('carry Allow and Supported, initial and re-INVITE alike; other requests do not', async () => {
    const initial = inviteCommand(peer.port, { branch: 'z9hG4bK-cap-1', callId: 'cap-1' });
    harness.adapter.execute(initial);
    const first = await peer.next();
    expect(values(first, 'Allow')).toEqual([ALLOW]);
    expect(values(first, 'Supported')).toEqual(['norefersub, replaces']);

    const inDialog = { ...initial, to: { ...initial.to, params: { tag: 'target-tag' } } };
    harness.adapter.execute({ ...inDialog, branch: 'z9hG4bK-cap-2', cseq: { seq: 2, method: 'INVITE' } });
    const reInvite = await peer.next();
    expect(reInvite).toContain('CSeq: 2 INVITE');
    expect(values(reInvite, 'Allow')).toEqual([ALLOW]);
    expect(values(reInvite, 'Supported')).toEqual(['norefersub, replaces']);

    const { body: _body, contentType: _type, ...bye } = inDialog;
    harness.adapter.execute({
      ...bye,
      method: 'BYE',
      branch: 'z9hG4bK-cap-3',
      cseq: { seq: 3, method: 'BYE' },
    });
    const byeText = await peer.next();
    expect(statusLine(byeText)).toMatch(/^BYE /);
    expect(values(byeText, 'Allow')).toEqual([]);
    expect(values(byeText, 'Supported')).toEqual([]);
  });

  it("keep the engine's own Supported (compact form too) and add only Allow", async () => {
    const command = inviteCommand(peer.port, { branch: 'z9hG4bK-cap-4', callId: 'cap-4' });
    harness.adapter.execute({ ...command, headers: { k: 'norefersub, timer' } });
    const text = await peer.next();
    expect(values(text, 'Supported')).toEqual(['norefersub, timer']);
    expect(values(text, 'Allow')).toEqual([ALLOW]);
  });
});

describe('responses the pivot sends', () => {
  it('2xx to an INVITE carries Allow and Supported; the 180 does not need them', async () => {
    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-cap-in-1' }));
    // Answered before the input handler returned: no 100 Trying precedes them.
    const responses = [await peer.next(), await peer.next()];
    expect(responses.map(statusLine)).toEqual(['SIP/2.0 180 Ringing', 'SIP/2.0 200 OK']);
    expect(values(responses[1]!, 'Allow')).toEqual([ALLOW]);
    expect(values(responses[1]!, 'Supported')).toEqual(['norefersub, 100rel, timer, replaces']);
    expect(values(responses[0]!, 'Supported')).toEqual([]);
  });

  it('2xx to an INVITE keeps an Allow the engine chose', async () => {
    okHeaders = { Allow: 'INVITE, ACK, BYE' };
    peer.send(rawRequest({ method: 'INVITE', port: peer.port, branch: 'z9hG4bK-cap-in-2' }));
    let ok = await peer.next();
    while (!statusLine(ok).startsWith('SIP/2.0 200')) ok = await peer.next();
    expect(values(ok, 'Allow')).toEqual(['INVITE, ACK, BYE']);
    expect(values(ok, 'Supported')).toEqual(['norefersub, 100rel, timer, replaces']);
  });

  it('the OPTIONS 200 and a 405 carry both', async () => {
    peer.send(rawRequest({ method: 'OPTIONS', port: peer.port, branch: 'z9hG4bK-cap-opt' }));
    const options = await peer.next();
    expect(statusLine(options)).toBe('SIP/2.0 200 OK');
    expect(values(options, 'Allow')).toEqual([ALLOW]);
    expect(values(options, 'Supported')).toEqual(['norefersub, 100rel, timer, replaces']);
    expect(header(options, 'Accept')).toBe('application/sdp');

    peer.send(rawRequest({ method: 'SUBSCRIBE', port: peer.port, branch: 'z9hG4bK-cap-405' }));
    const refused = await peer.next();
    expect(statusLine(refused)).toBe('SIP/2.0 405 Method Not Allowed');
    expect(values(refused, 'Allow')).toEqual([ALLOW]);
    expect(values(refused, 'Supported')).toEqual(['norefersub, 100rel, timer, replaces']);
  });
});
