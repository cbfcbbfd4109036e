/**
 * INFO inside a call's dialogs, through the engine: relayed to the other leg with its body, its answer
 * (or the adapter's own 408) given back; answered here while a transfer owns the legs.
 */
import { describe, expect, it } from 'vitest';
import type { SipResponseInput } from '../../src/shared/messages.ts';
import { answer, pbxInDialog } from '../helpers/sipInputs.ts';
import { answeredCall, expectRefused, harness } from './dialogSetup.ts';

function infoFrom(invite: Parameters<typeof pbxInDialog>[0], pivotTag: string, seq: number) {
  return {
    ...pbxInDialog(invite, pivotTag, 'INFO', seq, { 'content-type': ['application/dtmf-relay'] }),
    body: 'Signal=1\r\nDuration=100\r\n',
  };
}

describe('INFO relayed between the legs of a call', () => {
  it("goes to the carrier with the PBX's body and Content-Type; the carrier's 200 goes back", async () => {
    const h = harness();
    const { invite, pivotTag, farInvite } = await answeredCall(h);
    const pbxInfo = infoFrom(invite, pivotTag, 2);
    expect((await h.engine.handle(pbxInfo)).kind).toBe('stored');
    const relayed = h.lastRequest('INFO');
    expect(relayed).toMatchObject({
      callId: farInvite.callId,
      cseq: { seq: farInvite.cseq.seq + 1, method: 'INFO' },
      body: pbxInfo.body,
      contentType: 'application/dtmf-relay',
    });
    await h.engine.handle(answer(relayed, 200, 'OK'));
    expect(h.sent.at(-1)).toMatchObject({
      kind: 'response',
      transactionKey: pbxInfo.transactionKey,
      status: 200,
    });
    expect(await h.types()).toEqual([
      'CallReceived',
      'CallAnswered',
      'CallAcked',
      'InfoReceived',
      'InfoAnswered',
    ]);
  });

  it("the adapter's 408 for an unanswered INFO goes back as the final response", async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    const pbxInfo = infoFrom(invite, pivotTag, 2);
    await h.engine.handle(pbxInfo);
    const timeout: SipResponseInput = {
      ...answer(h.lastRequest('INFO'), 408, 'Request Timeout'),
      headers: { 'x-pivot-generated': ['timeout'] },
    };
    await h.engine.handle(timeout);
    expect(h.sent.at(-1)).toMatchObject({ transactionKey: pbxInfo.transactionKey, status: 408 });
    // A late answer after that is nobody's: nothing is stored for it.
    const before = await h.store.headPosition();
    expect((await h.engine.handle(answer(h.lastRequest('INFO'), 200, 'OK'))).kind).toBe('ignored');
    expect(await h.store.headPosition()).toBe(before);
  });

  it('while a transfer runs, an INFO is answered 200 here and not relayed', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    await h.engine.handle(
      pbxInDialog(invite, pivotTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] }),
    );
    expect(await h.types()).toContain('ReferAccepted');
    const infos = h.sent.filter((c) => c.kind === 'request' && c.method === 'INFO').length;
    await expectRefused(h, infoFrom(invite, pivotTag, 3), 200, /transferring/);
    expect(h.sent.filter((c) => c.kind === 'request' && c.method === 'INFO').length).toBe(infos);
  });
});
