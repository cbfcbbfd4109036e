/**
 * PRACKs and reliable provisional responses through the engine (RFC 3262): a reliable 18x from the
 * callee becomes a CallProgress with its RSeq (once: its retransmissions are not stored again); a PRACK
 * from the caller is answered 200 while its INVITE is pending and 481 once nothing is.
 */
import { describe, expect, it } from 'vitest';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER } from '../helpers/sipInputs.ts';
import { expectRefused, harness } from './dialogSetup.ts';

describe('100rel through the engine', () => {
  it("a reliable 183 is stored with its RSeq and PRACKed once (a repeat is no new PRACK); the PBX's PRACK meanwhile gets 200, after the answer 481", async () => {
    const h = harness();
    const invite = pbxInvite();
    await h.engine.handle(invite);
    const farInvite = h.lastRequest('INVITE');
    const reliable = {
      ...answer(farInvite, 183, 'Session Progress', SDP_CARRIER, 'gw'),
      headers: { require: ['100rel'], rseq: ['7'] },
    };
    expect((await h.engine.handle(reliable)).kind).toBe('stored');
    expect(h.lastRequest('PRACK').headers).toEqual({ RAck: `7 ${farInvite.cseq.seq} INVITE` });
    expect(['ignored', 'repeated']).toContain((await h.engine.handle(reliable)).kind);
    // At most the same PRACK again (same branch: a retransmission the adapter absorbs), never a new one.
    const pracks = h.sent.filter((c) => c.kind === 'request' && c.method === 'PRACK');
    expect(new Set(pracks.map((c) => (c.kind === 'request' ? c.branch : '')))).toHaveProperty('size', 1);
    expect((await h.types()).filter((type) => type === 'CallProgress')).toHaveLength(1);

    const progress = h.sent.find((c) => c.kind === 'response' && c.status === 183);
    if (progress?.kind !== 'response' || !progress.toTag) throw new Error('no 183 to the PBX');
    await expectRefused(h, pbxInDialog(invite, progress.toTag, 'PRACK', 2), 200, /pending/);

    await h.engine.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw'));
    expect(h.lastRequest('ACK').cseq).toEqual({ seq: farInvite.cseq.seq, method: 'ACK' });
    await expectRefused(h, pbxInDialog(invite, progress.toTag, 'PRACK', 3), 481, /no reliable/);
    const stored = (await h.store.readAll()).find((e) => e.type === 'CallProgress');
    expect(stored?.data).toMatchObject({ status: 183, rseq: 7 });
  });
});
