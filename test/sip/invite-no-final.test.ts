/**
 * An INVITE client transaction that heard a provisional and never a final answer (a re-INVITE a proxy
 * answered 100 and its UAS never did) is given up after its lifetime with a 408 the engine hears, as a
 * proxy's Timer C would: no transfer waits on it forever. On stop, nothing is made up.
 */
import { describe, expect, it } from 'vitest';
import type { SendRequestCommand, SipResponseInput } from '../../src/shared/messages.ts';
import { createClientSide } from '../../src/sip/clientSide.ts';
import { PENDING_SERVER_TRANSACTION_MS } from '../../src/sip/constants.ts';
import { parseMessage } from '../../src/sip/parse.ts';
import type { ValidResponse } from '../../src/sip/types.ts';
import { validateMessage } from '../../src/sip/validate.ts';

const peer = { transport: 'udp' as const, host: '127.0.0.2', port: 5090 };

const reInvite: SendRequestCommand = {
  kind: 'request',
  branch: 'z9hG4bK-reinvite-1',
  method: 'INVITE',
  uri: 'sip:+15550200000@127.0.0.2:5090',
  destination: peer,
  callId: 'call-1@127.0.0.1',
  from: { uri: 'sip:+15550100000@127.0.0.1', params: { tag: 'ours' } },
  to: { uri: 'sip:+15550200000@127.0.0.2', params: { tag: 'theirs' } },
  cseq: { seq: 2, method: 'INVITE' },
};

function trying(): ValidResponse {
  const text = [
    'SIP/2.0 100 Trying',
    `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${reInvite.branch}`,
    'From: <sip:+15550100000@127.0.0.1>;tag=ours',
    'To: <sip:+15550200000@127.0.0.2>;tag=theirs',
    `Call-ID: ${reInvite.callId}`,
    'CSeq: 2 INVITE',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const parsed = parseMessage(Buffer.from(text));
  if (!parsed.ok) throw new Error(parsed.error);
  const valid = validateMessage(parsed.message);
  if (!valid.ok || valid.message.kind !== 'response') throw new Error('not a valid response');
  return valid.message;
}

function clientSide() {
  let now = 1_000_000;
  const delivered: SipResponseInput[] = [];
  const side = createClientSide({
    adapterId: 'a1',
    t1Ms: 500,
    send: () => {},
    deliver: (input) => delivered.push(input),
    log: () => {},
    now: () => now,
    local: () => ({ host: '127.0.0.1', port: 5060 }),
  });
  return { side, delivered, later: (ms: number) => (now += ms) };
}

describe('an INVITE that never gets a final answer', () => {
  it('is given up with a generated 408 once its transaction expires', () => {
    const { side, delivered, later } = clientSide();
    side.sendRequest(reInvite);
    side.handleResponse(trying(), peer);
    later(PENDING_SERVER_TRANSACTION_MS - 1);
    side.sweep();
    expect(delivered.filter((input) => input.status >= 200)).toEqual([]);
    later(2);
    side.sweep();
    const finals = delivered.filter((input) => input.status >= 200);
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({
      status: 408,
      transactionKey: reInvite.branch,
      cseq: { seq: 2, method: 'INVITE' },
      headers: { 'x-pivot-generated': ['no-final-response'] },
    });
  });

  it('is dropped without a made-up answer when the adapter stops', () => {
    const { side, delivered } = clientSide();
    side.sendRequest(reInvite);
    side.handleResponse(trying(), peer);
    side.stop();
    expect(delivered.filter((input) => input.status >= 200)).toEqual([]);
  });
});
