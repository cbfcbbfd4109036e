import { afterEach, describe, expect, it } from 'vitest';
import type { SipInput } from '../../src/shared/messages.ts';
import type { SipAdapter } from '../../src/sip/index.ts';
import { describeSipp, runSipp } from '../helpers/sipp.ts';
import { type Harness, SDP, sentBranches, startAdapter } from './support.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

/** Resolves once the adapter has logged `message`. */
async function logged(message: string): Promise<void> {
  while (!harness?.logs.some((line) => line.msg === message)) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The engine stand-in: answers INVITE 180 + 200 (once `ready` resolves), BYE 200. */
function answering(ready: () => Promise<void> = async () => {}) {
  return (input: SipInput, adapter: SipAdapter) => {
    if (input.kind !== 'request') return;
    const answer = (status: number, reason: string, extra: object = {}) =>
      adapter.execute({
        kind: 'response',
        adapterId: adapter.adapterId,
        transactionKey: input.transactionKey,
        status,
        reason,
        ...extra,
      });
    if (input.method === 'INVITE') {
      void ready().then(() => {
        answer(180, 'Ringing', { toTag: 'pivot-tag-1' });
        answer(200, 'OK', {
          toTag: 'pivot-tag-1',
          contact: `<sip:pivot@127.0.0.1:${harness?.port}>`,
          body: SDP,
          contentType: 'application/sdp',
        });
      });
    }
    if (input.method === 'BYE') answer(200, 'OK');
  };
}

describe('an incoming call', () => {
  it('is delivered as a SipRequestInput, answered through execute(), and its ACK and BYE arrive', async () => {
    harness = await startAdapter(answering());
    const sipp = runSipp({ scenario: 'uac-invite.xml', remote: `127.0.0.1:${harness.port}` });
    const result = await sipp.done;
    expect(result.code, describeSipp(result)).toBe(0);

    const [inviteBranch, ackBranch, byeBranch] = [
      ...sentBranches(result.messages, 'INVITE'),
      ...sentBranches(result.messages, 'ACK'),
      ...sentBranches(result.messages, 'BYE'),
    ];
    const invite = harness.requests('INVITE');
    expect(invite).toHaveLength(1);
    const callId = invite[0]!.callId;
    expect(invite[0]).toMatchObject({
      kind: 'request',
      adapterId: 'sip-test',
      method: 'INVITE',
      uri: `sip:+15550100000@127.0.0.1:${harness.port}`,
      transactionKey: inviteBranch,
      from: { uri: `sip:+15550100001@127.0.0.1:${sipp.port}`, displayName: 'Alice' },
      to: { uri: `sip:+15550100000@127.0.0.1:${harness.port}`, params: {} },
      cseq: { seq: 1, method: 'INVITE' },
      contact: { uri: `sip:alice@127.0.0.1:${sipp.port};transport=UDP`, params: {} },
      recordRoute: ['<sip:proxy.example.test;lr>'],
      source: { transport: 'udp', host: '127.0.0.1', port: sipp.port },
    });
    expect(invite[0]!.from.params.tag).toMatch(/SIPpTag00/);
    expect(callId).toMatch(/@127\.0\.0\.1$/);
    // Compact forms arrive expanded, in order, values untouched.
    expect(Object.keys(invite[0]!.headers)).toEqual([
      'via',
      'max-forwards',
      'from',
      'to',
      'call-id',
      'cseq',
      'contact',
      'record-route',
      'content-type',
      'content-length',
    ]);
    expect(invite[0]!.headers['content-type']).toEqual(['application/sdp']);
    expect(invite[0]!.body).toContain('m=audio');
    expect(invite[0]!.body.startsWith('v=0')).toBe(true);
    expect(Number.isNaN(Date.parse(invite[0]!.receivedAt))).toBe(false);

    const [ack] = harness.requests('ACK');
    expect(ack).toMatchObject({
      transactionKey: `${ackBranch}:ACK`,
      callId,
      cseq: { seq: 1, method: 'ACK' },
      to: { params: { tag: 'pivot-tag-1' } },
    });
    const [bye] = harness.requests('BYE');
    expect(bye).toMatchObject({ transactionKey: byeBranch, callId, cseq: { seq: 2, method: 'BYE' } });
    expect(harness.inputs.map((i) => (i.kind === 'request' ? i.method : i.status))).toEqual([
      'INVITE',
      'ACK',
      'BYE',
    ]);
  });

  it('is delivered once when the INVITE is retransmitted; the copy gets the last response again', async () => {
    // Answered only once the copy was absorbed, so the copy meets the INVITE still pending.
    harness = await startAdapter(answering(() => logged('sip request retransmission absorbed')));
    const sipp = runSipp({
      scenario: 'uac-invite-retransmit.xml',
      remote: `127.0.0.1:${harness.port}`,
      extraArgs: ['-nr'],
    });
    const result = await sipp.done;
    expect(result.code, describeSipp(result)).toBe(0);
    expect(sentBranches(result.messages, 'INVITE')).toHaveLength(2);
    expect(result.messages.match(/^SIP\/2\.0 100 Trying/gm)).toHaveLength(2);
    expect(harness.requests('INVITE')).toHaveLength(1);
    expect(harness.requests('ACK')).toHaveLength(1);
    expect(harness.logs.some((l) => l.msg === 'sip request retransmission absorbed')).toBe(true);
  });
});
