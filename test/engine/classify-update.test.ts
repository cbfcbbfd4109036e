/**
 * UPDATE through the engine (RFC 3311): an offer while another offer is under way gets 491 and changes
 * nothing; the relayed UPDATE's answer is matched to it by leg and CSeq.
 */
import { describe, expect, it } from 'vitest';
import type { SipRequestInput } from '../../src/shared/messages.ts';
import { answer, pbxInDialog, peerInDialog, SDP_CARRIER, SDP_PBX } from '../helpers/sipInputs.ts';
import { answeredCall, expectRefused, harness } from './dialogSetup.ts';

describe('UPDATE offers', () => {
  it('a second offer while an UPDATE is out gets 491; the first is answered when the carrier answers', async () => {
    const h = harness();
    const { invite, pivotTag, farInvite } = await answeredCall(h);
    const first = { ...pbxInDialog(invite, pivotTag, 'UPDATE', 2), body: SDP_PBX };
    expect((await h.engine.handle(first)).kind).toBe('stored');
    const relayed = h.lastRequest('UPDATE');
    expect(relayed).toMatchObject({ callId: farInvite.callId, cseq: { seq: farInvite.cseq.seq + 1 } });

    const crossing = {
      ...(peerInDialog(farInvite, 'UPDATE', 5, 'gw') as SipRequestInput),
      body: SDP_CARRIER,
    };
    await expectRefused(h, crossing, 491, /under way/);
    const reinvite = { ...pbxInDialog(invite, pivotTag, 'INVITE', 3), body: SDP_PBX };
    await expectRefused(h, reinvite, 491, /under way/);

    await h.engine.handle(answer(relayed, 200, 'OK', SDP_CARRIER, 'gw'));
    expect(h.sent.at(-1)).toMatchObject({ transactionKey: first.transactionKey, status: 200 });
    expect((await h.types()).slice(-2)).toEqual(['UpdateReceived', 'UpdateAnswered']);
  });

  it('an offer while a re-INVITE is relayed gets 491', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    await h.engine.handle({ ...pbxInDialog(invite, pivotTag, 'INVITE', 2), body: SDP_PBX });
    await expectRefused(h, { ...pbxInDialog(invite, pivotTag, 'UPDATE', 3), body: SDP_PBX }, 491, /relaying/);
  });
});
